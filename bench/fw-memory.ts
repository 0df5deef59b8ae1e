/**
 * Security groups in memory: Neutron's openvswitch firewall flows for two VM ports on br-int
 * (src/neutron/firewall-flows.ts, as the driver renders them) with a security group of 50
 * ingress TCP rules from a remote group of 50 members (conjunctions: 50 port flows + 50 address
 * flows per ct state instead of 2,500), all egress allowed. Memory ports, 64-byte frames, the
 * whole per-batch path on one core (rx copy, parse, tables 0→60→71→ct→72→73→81→82, ct commit,
 * output, tx), Snabb `basic1` style.
 *
 *   established: 1,024 TCP connections vm1 → vm2 set up by a real handshake through the
 *                firewall, then ACK segments of those connections cycled (ct lookup finds +est)
 *   new:         SYNs of never-seen connections (distinct source ports × 50 destination
 *                ports): each one a conntrack entry committed in vm2's ingress table
 *   baseline:    the same established frames through br-int with no firewall (NORMAL)
 *
 *   node dist/bench/fw-memory.js [--quick]
 *
 * Figures, not assertions; the last line is the headline. Goals (issue 13): established
 * >= 5 Mpps, new connections >= 500k/s.
 */
import { ACK, establishedAcks, handshake, pump, pumpEach, SYN, tcpSegment, twoPortRig, type Connections, type Rig } from './memory-rig';
import { agentBaseFlows, renderFirewallFlows, type FwPort, type SgRule } from '../src/neutron/firewall-flows';

const VM1 = { ofport: 3, mac: 'fa:16:3e:00:00:01', ip: '10.231.0.1' };
const VM2 = { ofport: 4, mac: 'fa:16:3e:00:00:02', ip: '10.231.0.2' };
const RULES = 50;
const FIRST_PORT = 1000;
/** 1,024 connections vm1 → vm2 spread over the 50 allowed ports. */
const CONNS: Connections = { count: 1024, dport: (i) => FIRST_PORT + 2 * (i % RULES) };

/** The flow set: base flows of both ports, 50 remote-group TCP rules, 50 members in the group. */
export function firewallFlows(rules = RULES): string[] {
  const sgRules: SgRule[] = [
    { direction: 'egress', ethertype: 'IPv4' },
    { direction: 'egress', ethertype: 'IPv6' },
  ];
  for (let i = 0; i < rules; i++) sgRules.push({ direction: 'ingress', ethertype: 'IPv4', protocol: 6, port_range_min: FIRST_PORT + 2 * i, port_range_max: FIRST_PORT + 2 * i, remote_group_id: 'sg-bench' });
  const port = (p: typeof VM1): FwPort => ({ ofport: p.ofport, mac: p.mac, fixedIps: [p.ip], vlan: 1, networkType: 'vxlan', securityGroups: ['sg-bench'] });
  // The group's members: the two VMs and 48 ports elsewhere.
  const members: [string, string][] = [[VM1.ip, VM1.mac], [VM2.ip, VM2.mac]];
  for (let i = 3; i <= 50; i++) members.push([`10.231.1.${i}`, `fa:16:3e:00:01:${i.toString(16).padStart(2, '0')}`]);
  return [
    ...agentBaseFlows(),
    ...renderFirewallFlows([port(VM1), port(VM2)], { cookie: 0x1234n, groups: [{ id: 'sg-bench', rules: sgRules }], members: { 'sg-bench': { IPv4: members, IPv6: [] } } }),
  ];
}

function rig(firewall: boolean): Rig {
  const r = twoPortRig('br-int', VM1, VM2, 1);
  if (firewall) {
    const flows = r.sw.flows('br-int');
    flows.delFlows();
    flows.addFlows(firewallFlows().join('\n'));
  }
  return r;
}

export interface FirewallBench {
  flows: number;
  baselineMpps: number;
  establishedMpps?: number;
  establishedNsPerPacket?: number;
  newPerSecond?: number;
  newDelivered?: number;
  skipped?: string;
}

export function runFirewallMemory(opts: { quick?: boolean } = {}): FirewallBench {
  const packets = opts.quick ? 1_000_000 : 5_000_000;
  // Below the bridge's conntrack bound (DEFAULT_CT_MAX, 262,144) with the 1,024 established:
  // 400,000 SYNs had ~139k refused as ct_table_full, which divided the rate by ~1.5.
  const newCount = opts.quick ? 100_000 : 250_000;
  const flows = firewallFlows().length;

  // Baseline: NORMAL only (teach the bridge where vm2 is first).
  const b = rig(false);
  pump(b, b.vm2, b.vm1, [tcpSegment(VM2, VM1, 80, 20000, ACK, 5001, 1001)], 1);
  const est = establishedAcks(VM1, VM2, CONNS);
  pump(b, b.vm1, b.vm2, est, 200_000);
  const base = pump(b, b.vm1, b.vm2, est, packets);
  const out: FirewallBench = { flows, baselineMpps: (base.delivered / base.ns) * 1e3 };

  let r: Rig;
  try {
    r = rig(true);
  } catch (e) {
    return { ...out, skipped: `the firewall's flows are refused: ${(e as Error).message.split('\n')[0]}` };
  }
  handshake(r, CONNS, 'firewall bench');
  pump(r, r.vm1, r.vm2, est, 200_000); // warm-up
  const e = pump(r, r.vm1, r.vm2, est, packets);
  if (e.delivered !== packets) throw new Error(`firewall bench: ${packets - e.delivered} of ${packets} established segments dropped`);
  out.establishedMpps = (e.delivered / e.ns) * 1e3;
  out.establishedNsPerPacket = e.ns / e.delivered;

  // New connections: distinct source ports × the 50 allowed destination ports, never seen before.
  const syns: Uint8Array[] = [];
  for (let i = 0; i < newCount; i++) syns.push(tcpSegment(VM1, VM2, 30000 + (i % 30000), FIRST_PORT + 2 * (Math.floor(i / 30000) % RULES), SYN, 7000, 0));
  const { delivered, ns } = pumpEach(r, r.vm1, r.vm2, syns);
  if (delivered !== newCount) throw new Error(`firewall bench: ${newCount - delivered} of ${newCount} new connections dropped`);
  out.newDelivered = delivered;
  out.newPerSecond = (delivered / ns) * 1e9;
  return out;
}

if (require.main === module) {
  const quick = process.argv.includes('--quick');
  const r = runFirewallMemory({ quick });
  console.log(`firewall flow set: ${r.flows} flows (50 remote-group TCP rules, 50 members)`);
  console.log(`no firewall (NORMAL), established TCP ACKs, 64 B: ${r.baselineMpps.toFixed(2)} Mpps`);
  if (r.skipped) {
    console.log(`firewall: skipped — ${r.skipped}`);
  } else {
    console.log(`firewall, new connections (SYN → ct commit): ${(r.newPerSecond! / 1e3).toFixed(0)}k/s (${r.newDelivered} delivered) — goal >= 500k/s`);
    console.log(`firewall, established TCP (1,024 connections), 64 B: ${r.establishedMpps!.toFixed(2)} Mpps, ${r.establishedNsPerPacket!.toFixed(1)} ns/packet — goal >= 5 Mpps`);
  }
}
