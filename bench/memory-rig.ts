/**
 * The rig of the in-memory stateful benches (ct-memory, fw-memory): one bridge with two memory
 * ports vm1 and vm2, the TCP segments between them, and the way frames are pumped through and
 * timed. Each bench brings its own flows; everything here is the same for both, so their figures
 * differ only by what the flows make the switch do.
 */
import { Switch } from '../src/datapath/switch';
import { MemoryPort } from '../src/io/memory-port';
import { buildFrame } from '../src/flow/testing';

export const SYN = 0x02;
export const ACK = 0x10;

/** One end of the rig: its port number on the bridge and its addresses. */
export interface Host {
  ofport: number;
  mac: string;
  ip: string;
}

export interface Rig {
  sw: Switch;
  h1: Host;
  h2: Host;
  vm1: MemoryPort;
  vm2: MemoryPort;
}

/** A bridge with memory ports vm1 (h1) and vm2 (h2), access ports of VLAN `tag` when given. */
export function twoPortRig(bridge: string, h1: Host, h2: Host, tag?: number): Rig {
  const sw = new Switch({ arena: { slots: 4096, slotSize: 2048 + 128 } });
  sw.addBridge(bridge);
  const vlan = tag === undefined ? {} : { tag };
  const vm1 = sw.addPort(bridge, 'vm1', { type: 'memory', ofport: h1.ofport, ...vlan }).io as MemoryPort;
  const vm2 = sw.addPort(bridge, 'vm2', { type: 'memory', ofport: h2.ofport, ...vlan }).io as MemoryPort;
  // Count what crosses, keep nothing: the benches send millions of frames.
  vm1.keep = 0;
  vm2.keep = 0;
  return { sw, h1, h2, vm1, vm2 };
}

/** A TCP segment from `a` to `b` with the given flags, seq and ack (payload-free, 64 B on the wire). */
export function tcpSegment(a: Host, b: Host, sport: number, dport: number, flags: number, seqNo: number, ackNo: number): Uint8Array {
  return buildFrame({ src: a.mac, dst: b.mac, ipSrc: a.ip, ipDst: b.ip, proto: 'tcp', sport, dport, payload: 0, tcpSeq: seqNo, tcpAck: ackNo, tcpFlags: flags });
}

/** Run `count` frames cycled from `templates` out of `from`; ns elapsed and frames delivered to `to`. */
export function pump(r: Rig, from: MemoryPort, to: MemoryPort, templates: Uint8Array[], count: number): { ns: number; delivered: number } {
  const before = to.counters.txPackets;
  from.setGenerator(templates, count);
  const t0 = process.hrtime.bigint();
  r.sw.runUntilIdle(1e9);
  const ns = Number(process.hrtime.bigint() - t0);
  return { ns, delivered: to.counters.txPackets - before };
}

/**
 * Every frame of `frames` once, in order (the generator cycles its templates, so it is handed
 * disjoint slices): for frames that must each be new, such as SYNs of never-seen connections.
 */
export function pumpEach(r: Rig, from: MemoryPort, to: MemoryPort, frames: Uint8Array[]): { ns: number; delivered: number } {
  let delivered = 0;
  let ns = 0;
  for (let i = 0; i < frames.length; i += 4096) {
    const part = frames.slice(i, i + 4096);
    const x = pump(r, from, to, part, part.length);
    delivered += x.delivered;
    ns += x.ns;
  }
  return { ns, delivered };
}

/** The benches' connections vm1 → vm2: connection i goes from port 20000 + i to port dport(i). */
export interface Connections {
  count: number;
  dport(i: number): number;
}

/** Set up each connection by a real three-way handshake, one frame at a time; `what` names the bench in errors. */
export function handshake(r: Rig, c: Connections, what: string): void {
  const step = (from: MemoryPort, to: MemoryPort, f: Uint8Array, which: string) => {
    if (pump(r, from, to, [f], 1).delivered !== 1) throw new Error(`${what}: the ${which} did not cross`);
  };
  for (let i = 0; i < c.count; i++) {
    const sport = 20000 + i;
    const dport = c.dport(i);
    step(r.vm1, r.vm2, tcpSegment(r.h1, r.h2, sport, dport, SYN, 1000, 0), `SYN of connection ${i}`);
    step(r.vm2, r.vm1, tcpSegment(r.h2, r.h1, dport, sport, SYN | ACK, 5000, 1001), `SYN-ACK of connection ${i}`);
    step(r.vm1, r.vm2, tcpSegment(r.h1, r.h2, sport, dport, ACK, 1001, 5001), `ACK of connection ${i}`);
  }
}

/** One ACK segment vm1 → vm2 of each connection, as after its handshake. */
export function establishedAcks(h1: Host, h2: Host, c: Connections): Uint8Array[] {
  const t: Uint8Array[] = [];
  for (let i = 0; i < c.count; i++) t.push(tcpSegment(h1, h2, 20000 + i, c.dport(i), ACK, 1001, 5001));
  return t;
}
