/** Human-readable output of the CLI verbs, modelled on ovs-vsctl show / ovs-ofctl dump-ports / fdb/show. */
import type { ShowBridge, DumpPort } from '../datapath/switch';

export function formatShow(bridges: ShowBridge[]): string {
  const out: string[] = [];
  for (const b of bridges) {
    out.push(`    Bridge ${b.name}`);
    for (const p of b.ports) {
      out.push(`        Port ${p.name}`);
      const bits = [`ofport: ${p.ofport}`, `type: ${p.type}`];
      if (p.tag !== undefined) bits.push(`tag: ${p.tag}`);
      if (p.trunks) bits.push(`trunks: [${p.trunks.join(', ')}]`);
      if (p.peer) bits.push(`peer: ${p.peer}`);
      bits.push(p.up ? 'up' : 'DOWN');
      out.push(`            ${bits.join(', ')}`);
    }
  }
  return out.join('\n');
}

export function formatDumpPorts(bridge: string, r: { ports: DumpPort[]; drops: Record<string, number> }): string {
  const out = [`${bridge}: ${r.ports.length} ports`];
  for (const p of r.ports) {
    const drops = Object.entries(p.drops);
    const dropTotal = drops.reduce((s, [, v]) => s + v, 0);
    out.push(`  port ${String(p.ofport).padStart(2)} "${p.name}"${p.up ? '' : ' (DOWN)'}: rx pkts=${p.rx_packets}, bytes=${p.rx_bytes}`);
    out.push(`           tx pkts=${p.tx_packets}, bytes=${p.tx_bytes}, drop=${dropTotal}${drops.length ? ' (' + drops.map(([k, v]) => `${k}=${v}`).join(', ') + ')' : ''}`);
  }
  const bd = Object.entries(r.drops);
  out.push(`  bridge drops: ${bd.length ? bd.map(([k, v]) => `${k}=${v}`).join(', ') : 'none'}`);
  return out.join('\n');
}

export function formatFdb(rows: { port: number; portName?: string; vlan: number; mac: string; age: number }[]): string {
  const out = [' port  VLAN  MAC                Age'];
  for (const r of rows) out.push(`${String(r.port).padStart(5)}  ${String(r.vlan).padStart(4)}  ${r.mac}  ${String(r.age).padStart(4)}`);
  return out.join('\n');
}
