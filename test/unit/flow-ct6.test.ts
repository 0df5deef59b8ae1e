/**
 * ct() on IPv6 byte fixtures: TCP (handshake, RST, FIN, window), ICMPv6 echo and errors (+rel,
 * quotes of garbage), neighbour discovery (+inv, as OVS), zones with overlapping addresses,
 * extension-header chains and fragments, the table bound shared with IPv4, dump-conntrack's
 * IPv6 lines and flush. Also: one packet through ct(table=T) then ct(commit) in the same zone
 * runs the state machine once. Expected values are OVS's ct_state bits and dpctl formats.
 */
import t from 'tap';
import { ctPipeline } from '../helpers/ct-pipeline';
import { PacketArena } from '../../src/packet/arena';
import { parseSlot } from '../../src/packet/parse';
import { Conntrack, PK_IPV6, CREATE_CONFLICT } from '../../src/packet/conntrack';
import { checksum, pseudoSumV4, pseudoSumV6 } from '../../src/wire/checksum';
import { parseAddr6Words } from '../../src/wire/ipv6';

const NEW = 0x01;
const EST = 0x02;
const REL = 0x04;
const RPL = 0x08;
const INV = 0x10;
const TRK = 0x20;

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;

const A = 'fd00:201::1';
const B = 'fd00:201::2';
const R = 'fd00:201::fe'; // a router on the path

const addr = (s: string): number[] => parseAddr6Words(s).flatMap((w) => [w >>> 24, (w >>> 16) & 0xff, (w >>> 8) & 0xff, w & 0xff]);
const u32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

/**
 * IPv6 packet in Ethernet: `ext` is the extension-header bytes (their first Next Header is
 * `firstNh`, the last one's is `proto`), `l4` the upper-layer header and payload, whose checksum
 * at `csumAt` (-1: none) is filled.
 */
function ip6Frame(src: string, dst: string, proto: number, l4: number[], csumAt: number, ext: number[] = [], firstNh = proto): Uint8Array {
  const plen = ext.length + l4.length;
  const b = [2, 0, 0, 0, 0, 0xb, 2, 0, 0, 0, 0, 0xa, 0x86, 0xdd, 0x60, 0, 0, 0, plen >> 8, plen & 0xff, firstNh, 64, ...addr(src), ...addr(dst), ...ext, ...l4];
  const u = new Uint8Array(Math.max(60, b.length));
  u.set(b);
  if (csumAt >= 0) {
    const p = 14 + 40 + ext.length;
    const c = checksum(u, p, l4.length, pseudoSumV6(u, 14, proto, l4.length)) || (proto === 17 ? 0xffff : 0);
    u[p + csumAt] = c >> 8;
    u[p + csumAt + 1] = c & 0xff;
  }
  return u;
}

interface Seg {
  sport?: number;
  dport?: number;
  flags: number;
  seq?: number;
  ack?: number;
  win?: number;
  data?: number;
}
function tcpHdr(s: Seg): number[] {
  const h = [
    (s.sport ?? 40000) >> 8, (s.sport ?? 40000) & 0xff, (s.dport ?? 22) >> 8, (s.dport ?? 22) & 0xff,
    ...u32(s.seq ?? 0), ...u32(s.ack ?? 0), 5 << 4, s.flags, (s.win ?? 65535) >> 8, (s.win ?? 65535) & 0xff, 0, 0, 0, 0,
  ];
  for (let i = 0; i < (s.data ?? 0); i++) h.push(i & 0xff);
  return h;
}
const tcp6 = (src: string, dst: string, s: Seg, ext: number[] = [], firstNh = 6): Uint8Array => ip6Frame(src, dst, 6, tcpHdr(s), 16, ext, firstNh);
const udpHdr = (sport: number, dport: number): number[] => [sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 12, 0, 0, 1, 2, 3, 4];
const udp6 = (src: string, dst: string, sport: number, dport: number, ext: number[] = [], firstNh = 17): Uint8Array => ip6Frame(src, dst, 17, udpHdr(sport, dport), 6, ext, firstNh);
const icmp6 = (src: string, dst: string, type: number, code: number, body: number[]): Uint8Array => ip6Frame(src, dst, 58, [type, code, 0, 0, ...body], 2);
const echo6 = (src: string, dst: string, type: number, id: number): Uint8Array => icmp6(src, dst, type, 0, [id >> 8, id & 0xff, 0, 1, 0xaa, 0xbb]);
/** An ICMPv6 error quoting `quoted`'s IPv6 packet (up to 88 bytes of it). */
function icmp6Error(src: string, dst: string, type: number, code: number, quoted: Uint8Array): Uint8Array {
  const plen = (quoted[18] << 8) | quoted[19];
  return icmp6(src, dst, type, code, [0, 0, 0, 0, ...quoted.slice(14, Math.min(14 + 40 + plen, 14 + 88))]);
}

/** IPv4/UDP in Ethernet with both checksums. */
function udp4(sport: number, dport: number, src: number[], dst: number[]): Uint8Array {
  const u = Uint8Array.from([2, 0, 0, 0, 0, 0xb, 2, 0, 0, 0, 0, 0xa, 8, 0, 0x45, 0, 0, 32, 0, 0, 0x40, 0, 64, 17, 0, 0, ...src, ...dst, sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 12, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const c = checksum(u, 14, 20);
  u[24] = c >> 8;
  u[25] = c & 0xff;
  const uc = checksum(u, 34, 12, pseudoSumV4(u, 14, 17, 12)) || 0xffff;
  u[40] = uc >> 8;
  u[41] = uc & 0xff;
  return u;
}

const setup = ctPipeline;

/** The minimal stateful IPv6 firewall: from port 1 TCP 22, UDP and echo open; replies pass. */
const FIREWALL = `
table=0,priority=10,ipv6,actions=ct(table=1,zone=1)
table=0,priority=0,actions=NORMAL
table=1,priority=10,ct_state=+trk+new,tcp6,tp_dst=22,in_port=1,actions=ct(commit,zone=1),output:2
table=1,priority=10,ct_state=+trk+new,udp6,in_port=1,actions=ct(commit,zone=1),output:2
table=1,priority=10,ct_state=+trk+new,icmp6,in_port=1,actions=ct(commit,zone=1),output:2
table=1,priority=10,ct_state=+trk+est-inv,in_port=1,actions=output:2
table=1,priority=10,ct_state=+trk+est-inv,in_port=2,actions=output:1
table=1,priority=10,ct_state=+trk+rel-inv,in_port=2,actions=output:1
table=1,priority=0,actions=drop
`;

t.test('IPv6 TCP: handshake new -> est, replies +rpl, FIN close, dump-conntrack as OVS prints it', async (t) => {
  const { send, p } = setup(FIREWALL);
  t.same(send(1, tcp6(A, B, { flags: SYN, seq: 1000 })), [['output', 2, TRK | NEW]], 'SYN: +trk+new, committed');
  t.same(send(2, tcp6(B, A, { sport: 22, dport: 40000, flags: SYN | ACK, seq: 5000, ack: 1001 })), [['output', 1, TRK | EST | RPL]], 'SYN+ACK: +est+rpl');
  t.same(send(1, tcp6(A, B, { flags: ACK, seq: 1001, ack: 5001 })), [['output', 2, TRK | EST]], 'ACK: +est');
  t.match(p.conntrack.dump()[0], /state=ESTABLISHED/);
  t.same(send(1, tcp6(A, B, { flags: PSH | ACK, seq: 1001, ack: 5001, data: 100 })), [['output', 2, TRK | EST]], 'data');
  t.same(send(2, tcp6(B, A, { sport: 22, dport: 40000, flags: PSH | ACK, seq: 5001, ack: 1101, data: 50 })), [['output', 1, TRK | EST | RPL]], 'reply data');
  t.same(send(1, tcp6(A, B, { flags: FIN | ACK, seq: 1101, ack: 5051 })), [['output', 2, TRK | EST]], 'FIN');
  t.same(send(2, tcp6(B, A, { sport: 22, dport: 40000, flags: FIN | ACK, seq: 5051, ack: 1102 })), [['output', 1, TRK | EST | RPL]], 'FIN back');
  t.same(p.conntrack.dump(), ['tcp,orig=(src=fd00:201::1,dst=fd00:201::2,sport=40000,dport=22),reply=(src=fd00:201::2,dst=fd00:201::1,sport=22,dport=40000),zone=1,protoinfo=(state=TIME_WAIT)']);
  t.same(send(1, tcp6(A, B, { sport: 40001, dport: 80, flags: SYN, seq: 1 })), [['drop', 'action_drop', TRK | NEW]], 'SYN to port 80: +new, nothing commits it');
  t.same(send(2, tcp6(B, A, { sport: 80, dport: 40001, flags: SYN | ACK, seq: 9, ack: 2 })), [['drop', 'action_drop', TRK | INV]], 'an unsolicited SYN+ACK: +inv');
  t.equal(p.conntrack.invalid.get('tcp_new'), 1);
  t.equal(p.conntrack.table.count, 1);
});

t.test('IPv6 TCP: RST closes; a new SYN on the closed tuple is +new again', async (t) => {
  const { send, p } = setup(FIREWALL);
  send(1, tcp6(A, B, { flags: SYN, seq: 100 }));
  t.same(send(2, tcp6(B, A, { sport: 22, dport: 40000, flags: RST | ACK, seq: 0, ack: 101 })), [['output', 1, TRK | EST | RPL]], 'RST in reply: +est+rpl');
  t.match(p.conntrack.dump()[0], /state=CLOSE\)$/);
  t.same(send(1, tcp6(A, B, { flags: SYN, seq: 7000 })), [['output', 2, TRK | NEW]], 'SYN again: +new');
  t.match(p.conntrack.dump()[0], /state=SYN_SENT/);
  t.equal(p.conntrack.table.count, 1);
});

t.test('IPv6 TCP: a segment outside the window is +inv and changes nothing', async (t) => {
  const { send, p } = setup(FIREWALL);
  send(1, tcp6(A, B, { flags: SYN, seq: 1000 }));
  send(2, tcp6(B, A, { sport: 22, dport: 40000, flags: SYN | ACK, seq: 5000, ack: 1001, win: 1000 }));
  send(1, tcp6(A, B, { flags: ACK, seq: 1001, ack: 5001, win: 1000 }));
  t.same(send(1, tcp6(A, B, { flags: PSH | ACK, seq: 1001 + 200000, ack: 5001, data: 10 })), [['drop', 'action_drop', TRK | INV]], 'data 200 kB past the window: +inv');
  t.same(send(2, tcp6(B, A, { sport: 22, dport: 40000, flags: ACK, seq: 5001, ack: 1001 + 500000 })), [['drop', 'action_drop', TRK | INV]], 'an ACK of data never sent: +inv');
  t.equal(p.conntrack.invalid.get('tcp_window'), 2);
  t.same(send(1, tcp6(A, B, { flags: PSH | ACK, seq: 1001, ack: 5001, data: 10 })), [['output', 2, TRK | EST]], 'the in-window segment still passes');
});

t.test('ICMPv6 echo: request new, reply est+rpl; unsolicited replies and ND are +inv (as OVS)', async (t) => {
  const { send, p } = setup(FIREWALL);
  t.same(send(1, echo6(A, B, 128, 0x1234)), [['output', 2, TRK | NEW]], 'echo request: +new, committed');
  t.same(send(2, echo6(B, A, 129, 0x1234)), [['output', 1, TRK | EST | RPL]], 'echo reply: +est+rpl');
  t.same(send(1, echo6(A, B, 128, 0x1234)), [['output', 2, TRK | EST]], 'the next request: +est');
  t.same(p.conntrack.dump(), ['icmpv6,orig=(src=fd00:201::1,dst=fd00:201::2,id=4660,type=128,code=0),reply=(src=fd00:201::2,dst=fd00:201::1,id=4660,type=129,code=0),zone=1']);
  t.same(send(2, echo6(B, A, 129, 0x9999)), [['drop', 'action_drop', TRK | INV]], 'an unsolicited echo reply: +inv');
  t.same(send(2, icmp6(B, A, 128, 1, [0, 1, 0, 1])), [['drop', 'action_drop', TRK | INV]], 'an echo request with code 1: +inv');
  // Neighbour solicitation for A, with a source link-layer address option.
  const ns = icmp6(B, 'ff02::1:ff00:1', 135, 0, [0, 0, 0, 0, ...addr(A), 1, 1, 2, 0, 0, 0, 0, 0xb]);
  t.same(send(2, ns), [['drop', 'action_drop', TRK | INV]], 'a neighbour solicitation through ct(): +inv');
  t.equal(p.conntrack.invalid.get('icmp_new'), 3, 'the unsolicited reply, the coded echo and the NS counted');
  t.equal(p.conntrack.table.count, 1);
});

t.test('ICMPv6 errors: quoting a tracked connection is +rel, untracked or garbage is +inv, counted', async (t) => {
  const { send, p } = setup(FIREWALL);
  const udp = udp6(A, B, 5353, 53);
  t.same(send(1, udp), [['output', 2, TRK | NEW]], 'UDP committed');
  t.same(send(2, icmp6Error(B, A, 1, 4, udp)), [['output', 1, TRK | REL | RPL]], 'port unreachable from B: +rel+rpl');
  t.same(send(2, icmp6Error(R, A, 3, 0, udp)), [['output', 1, TRK | REL | RPL]], 'hop limit exceeded from a router: +rel');
  t.same(send(2, icmp6Error(R, A, 2, 0, udp)), [['output', 1, TRK | REL | RPL]], 'packet too big: +rel');
  const tcp = tcp6(A, B, { flags: SYN, seq: 1 });
  send(1, tcp);
  t.same(send(2, icmp6Error(B, A, 1, 1, tcp)), [['output', 1, TRK | REL | RPL]], 'an error about the TCP connection: +rel');
  send(1, echo6(A, B, 128, 7));
  t.same(send(2, icmp6Error(R, A, 3, 0, echo6(A, B, 128, 7))), [['output', 1, TRK | REL | RPL]], 'an error about the echo: +rel');
  t.same(send(2, icmp6Error(B, A, 1, 4, udp6(A, B, 5354, 53))), [['drop', 'action_drop', TRK | INV]], 'quoting an untracked datagram: +inv');
  t.equal(p.conntrack.invalid.get('icmp_unrelated'), 1);
  t.same(send(2, icmp6Error(B, 'fd00:201::9', 1, 4, udp)), [['drop', 'action_drop', TRK | INV]], 'an error sent to someone else than the quoted source: +inv');
  t.equal(p.conntrack.invalid.get('icmp_quote'), 1);
  let seed = 11;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  const a = addr(A);
  for (let i = 0; i < 300; i++) {
    const body = Array.from({ length: 4 + (i % 90) }, rnd);
    if (i % 2 === 0 && body.length >= 44) {
      body[4] = 0x60; // looks like an IPv6 header, from A: its next header and L4 are garbage
      for (let j = 0; j < 16; j++) body[4 + 8 + j] = a[j];
    }
    const r = send(2, icmp6(B, A, 1 + (i % 4), i & 0xff, body));
    if (r.length !== 1 || r[0][0] !== 'drop') t.fail(`garbage quote ${i} passed`);
  }
  t.equal(p.conntrack.invalid.get('icmp_quote') + p.conntrack.invalid.get('icmp_unrelated'), 302, 'every garbage quote counted');
});

t.test('zones: overlapping IPv6 addresses in two zones share no state', async (t) => {
  const { send, p } = setup(`
table=0,priority=10,ipv6,in_port=1,actions=ct(table=1,zone=1)
table=0,priority=10,ipv6,in_port=2,actions=ct(table=1,zone=1)
table=0,priority=10,ipv6,in_port=3,actions=ct(table=1,zone=2)
table=0,priority=10,ipv6,in_port=4,actions=ct(table=1,zone=2)
table=1,ct_state=+trk+new,udp6,in_port=1,actions=ct(commit,zone=1),output:2
table=1,ct_state=+trk+est,in_port=2,actions=output:1
table=1,ct_state=+trk+est,in_port=4,actions=output:3
table=1,priority=0,actions=drop
`);
  t.same(send(1, udp6(A, B, 1000, 2000)), [['output', 2, TRK | NEW]], 'zone 1: committed');
  t.same(send(2, udp6(B, A, 2000, 1000)), [['output', 1, TRK | EST | RPL]], 'its reply in zone 1: +est+rpl');
  t.same(send(4, udp6(B, A, 2000, 1000)), [['drop', 'action_drop', TRK | NEW]], 'the same reply tuple in zone 2: +new, dropped');
  t.same(p.conntrack.dump().map((l) => /zone=(\d+)/.exec(l)?.[1]), ['1']);
  t.equal(p.conntrack.flush(2), 0, 'nothing to flush in zone 2');
  t.equal(p.conntrack.flush(1), 1, 'flush-conntrack zone=1 removes the IPv6 connection');
  t.same(send(2, udp6(B, A, 2000, 1000)), [['drop', 'action_drop', TRK | NEW]], 'after the flush its reply is new');
});

t.test('extension headers: tracked through hop-by-hop/destination options; fragments; chains never crash', async (t) => {
  const { send, p } = setup(FIREWALL);
  // Hop-by-hop (8 bytes, PadN) -> destination options (16 bytes) -> UDP.
  const hbh = [60, 0, 1, 4, 0, 0, 0, 0];
  const dopt = [17, 1, 1, 12, ...new Array<number>(12).fill(0)];
  t.same(send(1, udp6(A, B, 7000, 53, [...hbh, ...dopt], 0)), [['output', 2, TRK | NEW]], 'UDP behind two option headers: +new, committed');
  t.same(send(2, udp6(B, A, 53, 7000)), [['output', 1, TRK | EST | RPL]], 'its reply without them is the same connection');
  t.same(send(1, udp6(A, B, 7000, 53, [...hbh, ...dopt], 0)), [['output', 2, TRK | EST]], 'and again with them: +est');
  // A first fragment (offset 0, M=1) carries the UDP header: tracked, as an IPv4 first fragment.
  t.same(send(1, udp6(A, B, 7001, 53, [17, 0, 0, 1, 0, 0, 0, 9], 44)), [['output', 2, TRK | NEW]], 'first fragment: tracked');
  // A later fragment (offset 8) has no ports: +inv, counted.
  t.same(send(1, ip6Frame(A, B, 44, [17, 0, 0, 8 << 3, 0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8], -1, [], 44)), [['drop', 'action_drop', TRK | INV]], 'later fragment: +inv');
  t.equal(p.conntrack.invalid.get('fragment'), 1);
  // Random extension-header chains: whatever parses reaches ct() without a crash.
  let seed = 5;
  const rnd = (n: number): number => (((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) % n);
  const EXT = [0, 43, 44, 51, 60];
  let tracked = 0;
  for (let i = 0; i < 400; i++) {
    const n = rnd(10);
    const ext: number[] = [];
    const first = n === 0 ? 17 : EXT[rnd(5)];
    let nh = first;
    for (let j = 0; j < n; j++) {
      const next = j === n - 1 ? [6, 17, 58, 59][rnd(4)] : EXT[rnd(5)];
      const len = nh === 44 ? 0 : rnd(3);
      const h = [next, len, ...Array.from({ length: (nh === 51 ? (len + 2) * 4 : (len + 1) * 8) - 2 }, () => rnd(256))];
      if (nh === 44 && rnd(2) === 0) h[2] = h[3] = 0; // sometimes an atomic fragment
      ext.push(...h);
      nh = next;
    }
    const l4 = nh === 6 ? tcpHdr({ flags: SYN, sport: 1000 + i }) : nh === 58 ? [128, 0, 0, 0, 0, i & 0xff, 0, 1] : udpHdr(1000 + i, 53);
    const f = ip6Frame(A, B, nh, l4, -1, ext, first);
    const arena = new PacketArena({ slots: 4, slotSize: 2048 });
    const s = arena.allocFrom(f);
    if (parseSlot(arena, s, 1) >= 0) continue; // the parse pass drops it (chain too long, cut short)
    const r = send(1, f);
    if (r.length !== 1) t.fail(`chain ${i}: ${JSON.stringify(r)}`);
    else if (r[0][2] === (TRK | NEW)) tracked++;
  }
  t.ok(tracked > 50, `${tracked} chained packets tracked, none crashed`);
});

t.test('IPv4 and IPv6 share the table bound: one limit, a counted drop when full', async (t) => {
  const { send, p } = setup(`
table=0,priority=10,ip,actions=ct(table=1,zone=1)
table=0,priority=10,ipv6,actions=ct(table=1,zone=1)
table=1,ct_state=+trk+new,ip,actions=ct(commit,zone=1),output:2
table=1,ct_state=+trk+new,ipv6,actions=ct(commit,zone=1),output:2
table=1,ct_state=+trk+est,actions=output:2
`, 2);
  const v4 = udp4(4000, 53, [10, 201, 0, 1], [10, 201, 0, 2]);
  t.same(send(1, v4), [['output', 2, TRK | NEW]], 'an IPv4 connection');
  t.same(send(1, udp6(A, B, 1, 53)), [['output', 2, TRK | NEW]], 'an IPv6 connection');
  t.same(send(1, udp6(A, B, 2, 53)), [['drop', 'ct_table_full', TRK | NEW]], 'a third one: the table is full');
  t.equal(p.conntrack.full, 1);
  t.equal(p.conntrack.table.refused.tableFull, 1);
  t.same(send(1, udp6(A, B, 1, 53)), [['output', 2, TRK | NEW]], 'the IPv6 connection still passes');
  t.same(send(1, v4), [['output', 2, TRK | NEW]], 'the IPv4 one too');
  t.equal(p.conntrack.dump().length, 2);
  t.equal(p.conntrack.flush(), 2, 'flush removes both families');
});

t.test('Conntrack: IPv6 entries match on all 128 bits, never an IPv4 entry, and grow with the table', async (t) => {
  const ct = new Conntrack({ maxSessions: 4096, maxPerSource: 4096 });
  const w = new Uint32Array(8);
  const put = (o: number, s: string): void => w.set(parseAddr6Words(s), o);
  put(0, A);
  put(4, B);
  const pk = 17 | PK_IPV6;
  const r = ct.create6(pk, w, 0, 4, (1 << 16) | 53, pk, Conntrack.initialState(17, 0), 0);
  t.equal(r, 0);
  t.equal(ct.lookup6(pk, w, 0, 4, (1 << 16) | 53), 0, 'original direction');
  t.equal(ct.lookup6(pk, w, 4, 0, (53 << 16) | 1), 1, 'reply direction');
  t.equal(ct.create6(pk, w, 0, 4, (1 << 16) | 53, pk, 7, 0), CREATE_CONFLICT, 'the same tuple again: conflict');
  for (let i = 0; i < 8; i++) {
    const x = Uint32Array.from(w);
    x[i] ^= 1 << (i * 4);
    t.equal(ct.lookup6(pk, x, 0, 4, (1 << 16) | 53), -1, `one bit of address word ${i} differs: no match`);
  }
  t.equal(ct.lookup(17, ct.eSrc[0], ct.eDst[0], (1 << 16) | 53), -1, 'an IPv4 lookup with the digests finds nothing');
  for (let i = 1; i < 3000; i++) {
    w[6] = i;
    if (ct.create6(pk, w, 0, 4, (1 << 16) | 53, pk, 7, 0) < 0) t.fail(`create ${i}`);
  }
  t.ok(ct.capacity >= 3000, 'the table grew');
  w[6] = 0;
  t.equal(ct.lookup6(pk, w, 0, 4, (1 << 16) | 53), 0, 'the first connection is still found after the growth');
  w[6] = 2999;
  t.ok(ct.lookup6(pk, w, 0, 4, (1 << 16) | 53) >= 0, 'and the last');
});

t.test('ct(table=T) then ct(commit) in the same zone: the state machine runs once per packet', async (t) => {
  // Neutron's pattern: track in table 0, commit in table 1; then (same network, same zone) the
  // ingress side tracks the packet again in table 2.
  const flows = (ip: string): string => `
table=0,priority=10,${ip},actions=ct(table=1,zone=1)
table=1,priority=10,ct_state=+trk+new,${ip},in_port=1,actions=ct(commit,zone=1),resubmit(,2)
table=1,priority=10,ct_state=+trk+est,actions=resubmit(,2)
table=2,priority=10,${ip},actions=ct(table=3,zone=1)
table=3,priority=10,ct_state=+trk+new-est,in_port=1,actions=output:2
table=3,priority=10,ct_state=+trk+est,in_port=1,actions=output:2
table=3,priority=10,ct_state=+trk+est+rpl,in_port=2,actions=output:1
`;
  for (const [name, ip, syn, synack, ack, data] of [
    ['IPv6', 'ipv6', tcp6(A, B, { flags: SYN, seq: 1000 }), tcp6(B, A, { sport: 22, dport: 40000, flags: SYN | ACK, seq: 5000, ack: 1001 }), tcp6(A, B, { flags: ACK, seq: 1001, ack: 5001 }), tcp6(A, B, { flags: PSH | ACK, seq: 1001, ack: 5001, data: 100 })],
  ] as const) {
    const { send, p } = setup(flows(ip));
    t.same(send(1, syn), [['output', 2, TRK | NEW]], `${name} SYN: still +new at the ingress ct() after the commit`);
    t.same(send(2, synack), [['output', 1, TRK | EST | RPL]], `${name} SYN+ACK`);
    t.same(send(1, ack), [['output', 2, TRK | EST]], `${name} ACK`);
    for (let i = 0; i < 5; i++) t.same(send(1, data), [['output', 2, TRK | EST]], `${name} data ${i} (a retransmission: inside the window)`);
    const ct = p.conntrack.table;
    const [rec] = ct.liveRecords();
    t.equal(ct.ePackets[rec * 2], 7, `${name}: 7 packets counted in the original direction (once each, not per ct())`);
    t.equal(ct.ePackets[rec * 2 + 1], 1, `${name}: 1 in the reply direction`);
    t.match(p.conntrack.dump()[0], /state=ESTABLISHED/);
  }
  // IPv4, the same: UDP this time.
  const { send, p } = setup(flows('ip'));
  const v4 = udp4;
  const fwd = v4(1000, 53, [10, 201, 0, 1], [10, 201, 0, 2]);
  t.same(send(1, fwd), [['output', 2, TRK | NEW]]);
  t.same(send(1, fwd), [['output', 2, TRK | NEW]], 'no reply yet: +new');
  t.same(send(2, v4(53, 1000, [10, 201, 0, 2], [10, 201, 0, 1])), [['output', 1, TRK | EST | RPL]]);
  const ct = p.conntrack.table;
  t.equal(ct.ePackets[0], 2, 'IPv4: 2 packets in the original direction');
  t.equal(ct.ePackets[1], 1, 'IPv4: 1 reply');
});

t.test('ct(nat) on IPv6: tracked, never translated (the frame leaves byte for byte)', async (t) => {
  const { send, p, ops } = setup(`
table=0,priority=10,ipv6,actions=ct(table=1,zone=1,nat)
table=1,ct_state=+trk+new,ipv6,in_port=1,actions=ct(commit,zone=1,nat),output:2
table=1,ct_state=+trk+est,in_port=2,actions=output:1
`);
  const f = udp6(A, B, 1000, 2000);
  t.same(send(1, f), [['output', 2, TRK | NEW]], 'committed, no +snat/+dnat');
  t.equal(ops.sent[0].hex, Buffer.from(f).toString('hex'), 'unchanged');
  t.same(send(2, udp6(B, A, 2000, 1000)), [['output', 1, TRK | EST | RPL]], 'the reply: +est+rpl');
  t.equal(p.conntrack.natExhausted, 0);
});

t.test('refusals: ct_ipv6_src/dst and ct(alg=) name what is not supported', async (t) => {
  const { p } = setup('');
  t.throws(() => p.addFlows('ct_state=+trk,ct_ipv6_src=fd00::1,ipv6,actions=drop'), /ct_ipv6_src: not supported/);
  t.throws(() => p.addFlows('ct_state=+trk,ct_ipv6_dst=fd00::1,ipv6,actions=drop'), /ct_ipv6_dst: not supported/);
  t.throws(() => p.addFlows('actions=move:NXM_NX_CT_IPV6_SRC[0..31]->NXM_NX_REG0[]'), /NXM_NX_CT_IPV6_SRC: not supported/);
  t.throws(() => p.addFlows('tcp6,actions=ct(commit,alg=ftp)'), /alg= \(FTP\/TFTP helpers\) is not supported/);
  t.throws(() => p.addFlows('ipv6,actions=ct(commit,nat(src=10.0.0.1))'), /nat\(\) address range is IPv4 and needs ip in the match/);
  t.equal(p.ruleCount, 0, 'nothing installed');
});
