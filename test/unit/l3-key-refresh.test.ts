/**
 * The flow key of every frame the router sends matches its bytes: the words a fresh parse of
 * the emitted frame gives are the words the router left in the slot (the router refreshes the
 * key itself instead of re-parsing, and writes the words it changed from its decision record).
 * Covers plain routing, SNAT (new and established, TCP, UDP, ICMP echo), the reply direction,
 * a floating IP, an ICMP error translated through a session, a later fragment through a
 * floating IP, and a frame held for ARP then sent.
 */
import t from 'tap';
import { PacketArena } from '../../src/packet/arena';
import { Batch } from '../../src/packet/batch';
import { parseSlot } from '../../src/packet/parse';
import { Router } from '../../src/l3/router';
import { KEY_SHIFT, PACKET_WORDS, KEY_WORD_NAMES, K_IN_PORT } from '../../src/packet/flow-key';
import { arpFrame, ipFrame, udpDgram, tcpSeg, echo, icmpMsg, decode } from './l3-helpers';

const LAN_MAC = '02:00:00:00:01:01';
const LAN2_MAC = '02:00:00:00:02:01';
const EXT_MAC = '02:00:00:00:ff:01';
const A_MAC = '52:54:00:00:00:05';
const B_MAC = '52:54:00:00:01:07';
const C_MAC = '52:54:00:00:00:06';
const U_MAC = '52:54:00:00:ff:fe';
const GW = '203.0.113.2';
const FIP = '203.0.113.50';
const R = '198.51.100.10';

interface Sent {
  frame: Buffer;
  /** Words [0, PACKET_WORDS) the router left in the slot, and what a fresh parse gives. */
  mismatches: string[];
}

function setup() {
  const clock = { now: 1_000_000 };
  const arena = new PacketArena({ slots: 256, slotSize: 2048 });
  const scratch = new PacketArena({ slots: 4, slotSize: 2048 });
  const r = new Router('r1', arena, { clock: () => clock.now, arpTimeoutMs: 1e9 });
  const out: Sent[] = [];
  r.onEmit = (slot) => {
    const frame = arena.frame(slot);
    const k = slot << KEY_SHIFT;
    const s2 = scratch.allocFrom(frame);
    parseSlot(scratch, s2, arena.key[k + K_IN_PORT]);
    const k2 = s2 << KEY_SHIFT;
    const mismatches: string[] = [];
    for (let i = 0; i < PACKET_WORDS; i++) {
      if (arena.key[k + i] !== scratch.key[k2 + i]) mismatches.push(`${KEY_WORD_NAMES[i]}: ${arena.key[k + i]} != ${scratch.key[k2 + i]}`);
    }
    scratch.release(s2);
    out.push({ frame, mismatches });
    arena.release(slot);
  };
  const lan = r.addInterface({ name: 'lan', mac: LAN_MAC, cidr: '10.0.0.1/24' });
  const lan2 = r.addInterface({ name: 'lan2', mac: LAN2_MAC, cidr: '10.0.1.1/24' });
  const ext = r.addInterface({ name: 'ext', mac: EXT_MAC, cidr: `${GW}/24`, gateway: true });
  r.addRoute('0.0.0.0/0', '203.0.113.1');
  r.addFloatingIp(FIP, '10.0.1.7');
  const batch = new Batch(8);
  const send = (iface: number, f: Buffer): Sent[] => {
    out.length = 0;
    const s = arena.allocFrom(f);
    if (parseSlot(arena, s, 3) !== -1) throw new Error('test frame does not parse');
    batch.push(s);
    r.input(batch, iface);
    return out.splice(0);
  };
  send(lan, arpFrame(1, A_MAC, '10.0.0.5', '00:00:00:00:00:00', '10.0.0.1'));
  send(lan, arpFrame(1, C_MAC, '10.0.0.6', '00:00:00:00:00:00', '10.0.0.1'));
  send(ext, arpFrame(1, U_MAC, '203.0.113.1', '00:00:00:00:00:00', GW));
  return { r, lan, lan2, ext, send };
}

t.test('every frame the router sends carries the key of its bytes', async (t) => {
  const h = setup();
  const check = (what: string, sent: Sent[], n = 1) => {
    t.equal(sent.length, n, `${what}: sent`);
    for (const s of sent) t.same(s.mismatches, [], `${what}: key words equal a fresh parse`);
    return sent;
  };

  // Held for ARP (10.0.1.7 unknown), then sent when the reply comes: the full refresh.
  check('held for ARP', h.send(h.lan, ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: '10.0.1.7', proto: 17, l4: udpDgram('10.0.0.5', '10.0.1.7', 5000, 53) })), 1); // the ARP request
  check('released by the ARP reply', h.send(h.lan2, arpFrame(2, B_MAC, '10.0.1.7', LAN2_MAC, '10.0.1.1')));
  check('routed UDP', h.send(h.lan, ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: '10.0.1.7', proto: 17, l4: udpDgram('10.0.0.5', '10.0.1.7', 5001, 53) })));
  check('routed TCP', h.send(h.lan, ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: '10.0.1.7', proto: 6, l4: tcpSeg('10.0.0.5', '10.0.1.7', 5002, 80, 0x02) })));

  // SNAT to the gateway address: the second UDP flow from another source port may change port.
  const syn = check('SNAT TCP, new session', h.send(h.lan, ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: R, proto: 6, l4: tcpSeg('10.0.0.5', R, 40000, 80, 0x02) })));
  t.equal(decode(syn[0].frame).src, GW, 'translated');
  check('SNAT TCP, established', h.send(h.lan, ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: R, proto: 6, l4: tcpSeg('10.0.0.5', R, 40000, 80, 0x10) })));
  check('SNAT TCP, reply direction', h.send(h.ext, ipFrame(EXT_MAC, U_MAC, { src: R, dst: GW, proto: 6, l4: tcpSeg(R, GW, 80, 40000, 0x12) })));
  const udp = check('SNAT UDP, new session', h.send(h.lan, ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: R, proto: 17, l4: udpDgram('10.0.0.5', R, 33434, 33435) })));
  // A second host with the same source port to the same peer gets another gateway port.
  const moved = check('SNAT UDP, port changed', h.send(h.lan, ipFrame(LAN_MAC, C_MAC, { src: '10.0.0.6', dst: R, proto: 17, l4: udpDgram('10.0.0.6', R, 33434, 33435) })));
  const gport = decode(moved[0].frame).l4.readUInt16BE(0);
  t.not(gport, 33434, 'port translated');
  check('SNAT UDP, port changed back', h.send(h.ext, ipFrame(EXT_MAC, U_MAC, { src: R, dst: GW, proto: 17, l4: udpDgram(R, GW, 33435, gport) })));
  const ping = check('SNAT ICMP echo', h.send(h.lan, ipFrame(LAN_MAC, A_MAC, { src: '10.0.0.5', dst: R, proto: 1, l4: echo(8, 77, 1) })));
  const id = decode(ping[0].frame).l4.readUInt16BE(4);
  check('SNAT ICMP echo reply back', h.send(h.ext, ipFrame(EXT_MAC, U_MAC, { src: R, dst: GW, proto: 1, l4: echo(0, id, 1) })));

  // An ICMP error quoting the SNAT'd UDP datagram comes back through its session.
  const te = icmpMsg(11, 0, 0, Buffer.from(decode(udp[0].frame).ip.subarray(0, 28)));
  check('ICMP error translated', h.send(h.ext, ipFrame(EXT_MAC, U_MAC, { src: '198.51.100.1', dst: GW, proto: 1, l4: te })));

  // Floating IP: DNAT in, and a later fragment (no ports) translated 1:1.
  const dn = check('DNAT to a floating IP', h.send(h.ext, ipFrame(EXT_MAC, U_MAC, { src: R, dst: FIP, proto: 17, l4: udpDgram(R, FIP, 6000, 7000) })));
  t.equal(decode(dn[0].frame).dst, '10.0.1.7', 'translated');
  check('later fragment to a floating IP', h.send(h.ext, ipFrame(EXT_MAC, U_MAC, { src: R, dst: FIP, proto: 17, l4: Buffer.alloc(16, 1), fragOff: 100 })));
});
