/**
 * Port security as Neutron's openvswitch firewall writes it, field by field, on byte fixtures:
 * a VM port may send ARP only for its own IP and MAC (`arp_spa`/`arp_sha`), IPv6 neighbour
 * advertisements only for its own addresses and MAC (`nd_target`/`nd_tll`), solicitations only
 * from its MAC (`nd_sll`), IPv4/IPv6 only from its addresses, and never a DHCP server reply.
 * Frames go through the parse pass and the flow tables; what left (and where) is checked.
 */
import t from 'tap';
import { PacketArena } from '../../src/packet/arena';
import { Batch } from '../../src/packet/batch';
import { parseSlot } from '../../src/packet/parse';
import { FlowPipeline } from '../../src/flow/pipeline';
import { RecordingOps } from '../../src/flow/testing';
import { arpFrame, ipFrame, udpDgram } from './l3-helpers';
import { eth6, extHdr, ip6Packet, llaOpt, ndFrame, udp6 } from '../helpers/ipv6-frames';

const VM_PORT = 3;
const UPLINK = 9;
const MAC = 'fa:16:3e:11:22:33';
const OTHER_MAC = 'fa:16:3e:99:99:99';
const IP4 = '10.231.0.5';
const IP6 = '2001:db8::5';
const LL6 = 'fe80::f816:3eff:fe11:2233';

/** The egress half of Neutron's port security for one port (table 71 = BASE_EGRESS). */
const FLOWS = [
  `table=0,priority=100,in_port=${VM_PORT},actions=load:${VM_PORT}->NXM_NX_REG5[],resubmit(,71)`,
  `table=71,priority=95,arp,reg5=${VM_PORT},in_port=${VM_PORT},dl_src=${MAC},arp_spa=${IP4},arp_sha=${MAC},actions=output:${UPLINK}`,
  ...[IP6, LL6].map((a) => `table=71,priority=95,icmp6,reg5=${VM_PORT},in_port=${VM_PORT},icmp_type=136,nd_target=${a},nd_tll=${MAC},actions=output:${UPLINK}`),
  `table=71,priority=95,icmp6,reg5=${VM_PORT},in_port=${VM_PORT},dl_src=${MAC},icmp_type=135,nd_sll=${MAC},actions=output:${UPLINK}`,
  // Any other NA/NS from the port: dropped (the source-address flows below would pass it).
  `table=71,priority=90,icmp6,reg5=${VM_PORT},in_port=${VM_PORT},icmp_type=136,actions=drop`,
  `table=71,priority=90,icmp6,reg5=${VM_PORT},in_port=${VM_PORT},icmp_type=135,actions=drop`,
  `table=71,priority=70,udp,reg5=${VM_PORT},in_port=${VM_PORT},tp_src=67,tp_dst=68,actions=drop`,
  `table=71,priority=70,udp6,reg5=${VM_PORT},in_port=${VM_PORT},tp_src=547,tp_dst=546,actions=drop`,
  `table=71,priority=65,ip,reg5=${VM_PORT},in_port=${VM_PORT},dl_src=${MAC},nw_src=${IP4},actions=output:${UPLINK}`,
  ...[IP6, LL6].map((a) => `table=71,priority=65,ipv6,reg5=${VM_PORT},in_port=${VM_PORT},dl_src=${MAC},ipv6_src=${a},actions=output:${UPLINK}`),
  `table=71,priority=10,reg5=${VM_PORT},in_port=${VM_PORT},actions=drop`,
].join('\n');

function verdict(frame: Uint8Array): number | string {
  const arena = new PacketArena({ slots: 8, slotSize: 2048 });
  const p = new FlowPipeline({ arena, clock: () => 0, resolvePort: () => -1, portName: () => undefined });
  p.addFlows(FLOWS);
  const s = arena.allocFrom(frame);
  const r = parseSlot(arena, s, VM_PORT);
  if (r >= 0) return 'parse drop';
  const ops = new RecordingOps(arena);
  const b = new Batch(2);
  b.push(s);
  p.process(b, ops);
  const x = ops.sent[0];
  return x.kind === 'output' ? x.port! : x.kind;
}

/** Overwrite the ARP sender hardware address (bytes 22..27) without touching the Ethernet source. */
function withSha(f: Buffer, mac: string): Buffer {
  const c = Buffer.from(f);
  Buffer.from(mac.split(':').map((x) => parseInt(x, 16))).copy(c, 22);
  return c;
}

t.test('ARP anti-spoofing: arp_spa and arp_sha', async (t) => {
  const ok = arpFrame(1, MAC, IP4, '00:00:00:00:00:00', '10.231.0.1');
  t.equal(verdict(ok), UPLINK, 'own IP and MAC: sent');
  t.equal(verdict(arpFrame(2, MAC, IP4, '52:54:00:00:00:01', '10.231.0.1', '52:54:00:00:00:01')), UPLINK, 'a reply with its own IP and MAC: sent');
  t.equal(verdict(arpFrame(1, MAC, '10.231.0.6', '00:00:00:00:00:00', '10.231.0.1')), 'drop', 'claims another IP: dropped');
  t.equal(verdict(withSha(ok, OTHER_MAC)), 'drop', 'sender hardware address not its MAC: dropped');
  t.equal(verdict(arpFrame(1, OTHER_MAC, IP4, '00:00:00:00:00:00', '10.231.0.1')), 'drop', 'another source MAC: dropped');
});

t.test('ND anti-spoofing: nd_target, nd_tll, nd_sll', async (t) => {
  const na = (target: string, tll: string | null) =>
    ndFrame({ type: 136, smac: MAC, dmac: '33:33:00:00:00:01', src: LL6, dst: 'ff02::1', target, opts: tll === null ? [] : [llaOpt(2, tll)], flags: 0x20000000 });
  t.equal(verdict(na(IP6, MAC)), UPLINK, 'NA for its global address with its MAC: sent');
  t.equal(verdict(na(LL6, MAC)), UPLINK, 'NA for its link-local address: sent');
  t.equal(verdict(na('2001:db8::6', MAC)), 'drop', "NA for someone else's address: dropped");
  t.equal(verdict(na(IP6, OTHER_MAC)), 'drop', 'NA advertising another MAC: dropped');
  t.equal(verdict(na(IP6, null)), 'drop', 'NA without a target link-layer option does not match nd_tll: dropped');
  const ns = (sll: string) => ndFrame({ type: 135, smac: MAC, dmac: '33:33:ff:00:00:06', src: LL6, dst: 'ff02::1:ff00:6', target: '2001:db8::6', opts: [llaOpt(1, sll)] });
  t.equal(verdict(ns(MAC)), UPLINK, 'NS from its MAC: sent');
  t.equal(verdict(ns(OTHER_MAC)), 'drop', 'NS claiming another MAC: dropped');
  // Malformed ND never reaches the tables: counted by the parse pass.
  const bad = Buffer.from(na(IP6, MAC));
  bad[bad.length - 7] = 0; // TLL option length 0
  t.equal(verdict(bad), 'parse drop');
});

t.test('source address anti-spoofing and DHCP server replies', async (t) => {
  const u4 = (src: string, sport = 5000, dport = 53) => ipFrame('52:54:00:00:00:01', MAC, { src, dst: '10.231.0.1', proto: 17, l4: udpDgram(src, '10.231.0.1', sport, dport) });
  t.equal(verdict(u4(IP4)), UPLINK, 'IPv4 from its address: sent');
  t.equal(verdict(u4('10.231.0.7')), 'drop', 'IPv4 from another address: dropped');
  t.equal(verdict(u4(IP4, 67, 68)), 'drop', 'a DHCP server reply from the VM: dropped');
  const u6 = (src: string, ext: [number, Buffer][] = [], sport = 5000, dport = 53) =>
    eth6(ip6Packet({ src, dst: '2001:db8::1', proto: 17, l4: udp6(src, '2001:db8::1', sport, dport), ext }), MAC);
  t.equal(verdict(u6(IP6)), UPLINK, 'IPv6 from its address: sent');
  t.equal(verdict(u6(LL6)), UPLINK, 'IPv6 from its link-local address: sent');
  t.equal(verdict(u6('2001:db8::7')), 'drop', 'IPv6 from another address: dropped');
  t.equal(verdict(u6(IP6, [], 547, 546)), 'drop', 'a DHCPv6 server reply from the VM: dropped');
  t.equal(verdict(u6(IP6, [[0, extHdr(1)], [60, extHdr(1)]], 547, 546)), 'drop', 'the DHCPv6 reply behind extension headers is still seen and dropped');
});
