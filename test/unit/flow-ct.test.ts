/**
 * ct() in the flow tables on byte fixtures: the state a packet gets (+new, +est, +rpl, +rel,
 * +inv), zones, ct_mark/ct_label, the bounded table, and bad input (every TCP flag
 * combination, ICMP errors quoting garbage). Expected values are OVS's ct_state bits.
 */
import t from 'tap';
import { ctPipeline } from '../helpers/ct-pipeline';
import { tcpInvalidFlags, CtStage } from '../../src/flow/ct-stage';
import { checksum, pseudoSumV4 } from '../../src/wire/checksum';
import { FlowSyntaxError } from '../../src/flow/ofctl-parse';

const NEW = 0x01;
const EST = 0x02;
const REL = 0x04;
const RPL = 0x08;
const INV = 0x10;
const TRK = 0x20;

const A = '10.201.0.1';
const B = '10.201.0.2';
const MAC_A = '02:00:00:00:00:0a';
const MAC_B = '02:00:00:00:00:0b';

const ip4 = (s: string): number[] => s.split('.').map(Number);
const mac = (s: string): number[] => s.split(':').map((x) => parseInt(x, 16));

/** IPv4 packet in Ethernet with correct checksums; `l4` is the L4 header + payload. */
function ipFrame(src: string, dst: string, proto: number, l4: number[], fix: (u: Uint8Array, l3: number, l4: number) => void = () => {}): Uint8Array {
  const fromA = src === A;
  const b = [...mac(fromA ? MAC_B : MAC_A), ...mac(fromA ? MAC_A : MAC_B), 0x08, 0x00];
  const tot = 20 + l4.length;
  b.push(0x45, 0, tot >> 8, tot & 0xff, 0, 1, 0x40, 0, 64, proto, 0, 0, ...ip4(src), ...ip4(dst), ...l4);
  const u = new Uint8Array(Math.max(60, b.length));
  u.set(b);
  const c = checksum(u, 14, 20);
  u[24] = c >> 8;
  u[25] = c & 0xff;
  fix(u, 14, 34);
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
  wscale?: number;
}

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;

function tcpFrame(src: string, dst: string, s: Seg): Uint8Array {
  const opts = s.wscale !== undefined ? [1, 3, 3, s.wscale] : [];
  const hl = 20 + opts.length;
  const h = [
    (s.sport ?? 40000) >> 8, (s.sport ?? 40000) & 0xff, (s.dport ?? 22) >> 8, (s.dport ?? 22) & 0xff,
    ...u32(s.seq ?? 0), ...u32(s.ack ?? 0), (hl / 4) << 4, s.flags, (s.win ?? 65535) >> 8, (s.win ?? 65535) & 0xff, 0, 0, 0, 0, ...opts,
  ];
  for (let i = 0; i < (s.data ?? 0); i++) h.push(i & 0xff);
  return ipFrame(src, dst, 6, h, (u, l3, l4) => {
    const c = checksum(u, l4, h.length, pseudoSumV4(u, l3, 6, h.length));
    u[l4 + 16] = c >> 8;
    u[l4 + 17] = c & 0xff;
  });
}
function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}
function udpFrame(src: string, dst: string, sport: number, dport: number): Uint8Array {
  const h = [sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 12, 0, 0, 1, 2, 3, 4];
  return ipFrame(src, dst, 17, h, (u, l3, l4) => {
    const c = checksum(u, l4, h.length, pseudoSumV4(u, l3, 17, h.length)) || 0xffff;
    u[l4 + 6] = c >> 8;
    u[l4 + 7] = c & 0xff;
  });
}
function icmpFrame(src: string, dst: string, type: number, code: number, body: number[]): Uint8Array {
  const m = [type, code, 0, 0, ...body];
  return ipFrame(src, dst, 1, m, (u, _l3, l4) => {
    const c = checksum(u, l4, m.length);
    u[l4 + 2] = c >> 8;
    u[l4 + 3] = c & 0xff;
  });
}
/** An ICMP error quoting (the first 28 bytes of) `quotedFrame`'s IP datagram. */
function icmpError(src: string, dst: string, type: number, code: number, quotedFrame: Uint8Array): Uint8Array {
  return icmpFrame(src, dst, type, code, [0, 0, 0, 0, ...quotedFrame.slice(14, 14 + 28)]);
}

const setup = ctPipeline;

/** The minimal stateful firewall: TCP 22 from port 1 opens, replies and established pass. */
const FIREWALL = `
table=0,priority=10,ip,actions=ct(table=1,zone=1)
table=0,priority=0,actions=NORMAL
table=1,priority=10,ct_state=+trk+new,tcp,tp_dst=22,in_port=1,actions=ct(commit,zone=1),output:2
table=1,priority=10,ct_state=+trk+new,udp,in_port=1,actions=ct(commit,zone=1),output:2
table=1,priority=10,ct_state=+trk+new,icmp,in_port=1,actions=ct(commit,zone=1),output:2
table=1,priority=10,ct_state=+trk+est-inv,in_port=1,actions=output:2
table=1,priority=10,ct_state=+trk+est-inv,in_port=2,actions=output:1
table=1,priority=10,ct_state=+trk+rel-inv,in_port=2,actions=output:1
table=1,priority=0,actions=drop
`;

t.test('TCP: handshake new -> est, replies +rpl, FIN close; port 80 never passes', async (t) => {
  const { send, p } = setup(FIREWALL);
  t.same(send(1, tcpFrame(A, B, { flags: SYN, seq: 1000, wscale: 7 })), [['output', 2, TRK | NEW]], 'SYN: +trk+new, committed');
  t.equal(p.conntrack.table.count, 1);
  t.same(send(2, tcpFrame(B, A, { sport: 22, dport: 40000, flags: SYN | ACK, seq: 5000, ack: 1001, wscale: 7 })), [['output', 1, TRK | EST | RPL]], 'SYN+ACK: +est+rpl');
  t.same(send(1, tcpFrame(A, B, { flags: ACK, seq: 1001, ack: 5001, win: 502 })), [['output', 2, TRK | EST]], 'ACK: +est');
  t.same(send(1, tcpFrame(A, B, { flags: PSH | ACK, seq: 1001, ack: 5001, data: 100, win: 502 })), [['output', 2, TRK | EST]], 'data: +est');
  t.same(send(2, tcpFrame(B, A, { sport: 22, dport: 40000, flags: PSH | ACK, seq: 5001, ack: 1101, data: 50, win: 502 })), [['output', 1, TRK | EST | RPL]], 'reply data');
  t.same(send(1, tcpFrame(A, B, { flags: FIN | ACK, seq: 1101, ack: 5051, win: 502 })), [['output', 2, TRK | EST]], 'FIN');
  t.same(send(2, tcpFrame(B, A, { sport: 22, dport: 40000, flags: FIN | ACK, seq: 5051, ack: 1102, win: 502 })), [['output', 1, TRK | EST | RPL]], 'FIN back');
  const [c] = p.conntrack.dump();
  t.match(c, /^tcp,orig=\(src=10\.201\.0\.1,dst=10\.201\.0\.2,sport=40000,dport=22\),reply=\(src=10\.201\.0\.2,dst=10\.201\.0\.1,sport=22,dport=40000\),zone=1,protoinfo=\(state=TIME_WAIT\)$/, c);
  t.same(send(1, tcpFrame(A, B, { sport: 40001, dport: 80, flags: SYN, seq: 1 })), [['drop', 'action_drop', TRK | NEW]], 'SYN to 80: +new but no flow commits it');
  t.equal(p.conntrack.table.count, 1, 'nothing committed for port 80');
  t.same(send(2, tcpFrame(B, A, { sport: 80, dport: 40001, flags: SYN | ACK, seq: 9, ack: 2 })), [['drop', 'action_drop', TRK | INV]], 'an unsolicited SYN+ACK is +inv: dropped');
  t.equal(p.conntrack.invalid.get('tcp_new'), 1);
});

t.test('TCP: RST closes; a new SYN on the closed tuple is +new again', async (t) => {
  const { send, p } = setup(FIREWALL);
  send(1, tcpFrame(A, B, { flags: SYN, seq: 100 }));
  t.same(send(2, tcpFrame(B, A, { sport: 22, dport: 40000, flags: RST | ACK, seq: 0, ack: 101 })), [['output', 1, TRK | EST | RPL]], 'RST in reply: +est+rpl');
  t.match(p.conntrack.dump()[0], /state=CLOSE/);
  t.same(send(1, tcpFrame(A, B, { flags: SYN, seq: 7000 })), [['output', 2, TRK | NEW]], 'SYN again: +new, a new connection');
  t.match(p.conntrack.dump()[0], /state=SYN_SENT/);
  t.equal(p.conntrack.table.count, 1);
});

t.test('TCP: a segment outside the window is +inv and changes nothing', async (t) => {
  const { send, p } = setup(FIREWALL);
  send(1, tcpFrame(A, B, { flags: SYN, seq: 1000 }));
  send(2, tcpFrame(B, A, { sport: 22, dport: 40000, flags: SYN | ACK, seq: 5000, ack: 1001, win: 1000 }));
  send(1, tcpFrame(A, B, { flags: ACK, seq: 1001, ack: 5001, win: 1000 }));
  t.same(send(1, tcpFrame(A, B, { flags: PSH | ACK, seq: 1001 + 200000, ack: 5001, data: 10 })), [['drop', 'action_drop', TRK | INV]], 'data 200 kB past the 1000-byte window: +inv, dropped');
  t.same(send(2, tcpFrame(B, A, { sport: 22, dport: 40000, flags: ACK, seq: 5001, ack: 1001 + 500000 })), [['drop', 'action_drop', TRK | INV]], 'an ACK of data never sent: +inv');
  t.equal(p.conntrack.invalid.get('tcp_window'), 2);
  t.same(send(1, tcpFrame(A, B, { flags: PSH | ACK, seq: 1001, ack: 5001, data: 10 })), [['output', 2, TRK | EST]], 'the in-window segment still passes');
});

t.test('ICMP: echo request new, reply est+rpl; an error quoting a tracked connection is +rel', async (t) => {
  const { send, p } = setup(FIREWALL);
  t.same(send(1, icmpFrame(A, B, 8, 0, [0x12, 0x34, 0, 1])), [['output', 2, TRK | NEW]]);
  t.same(send(2, icmpFrame(B, A, 0, 0, [0x12, 0x34, 0, 1])), [['output', 1, TRK | EST | RPL]]);
  const udp = udpFrame(A, B, 5353, 53);
  t.same(send(1, udp), [['output', 2, TRK | NEW]], 'UDP committed');
  t.same(send(2, icmpError(B, A, 3, 3, udp)), [['output', 1, TRK | REL | RPL]], 'port unreachable for it: +rel+rpl');
  t.same(send(2, icmpError('10.201.0.9', A, 11, 0, udp)), [['output', 1, TRK | REL | RPL]], 'time exceeded from a router on the path: +rel');
  const other = udpFrame(A, B, 5354, 53);
  t.same(send(2, icmpError(B, A, 3, 3, other)), [['drop', 'action_drop', TRK | INV]], 'an error quoting an untracked datagram: +inv');
  t.equal(p.conntrack.invalid.get('icmp_unrelated'), 1);
  t.same(send(2, icmpFrame(B, A, 0, 0, [0x99, 0x99, 0, 1])), [['drop', 'action_drop', TRK | INV]], 'an unsolicited echo reply: +inv');
  const quote0 = p.conntrack.invalid.get('icmp_quote');
  t.same(send(2, icmpError(B, '10.201.0.77', 3, 3, udp)), [['drop', 'action_drop', TRK | INV]], 'an error about A\'s datagram sent to another host: +inv, as OVS');
  t.equal(p.conntrack.invalid.get('icmp_quote'), quote0 + 1, 'counted as a bad quote');
});

t.test('ICMP errors quoting garbage: +inv, counted, no crash', async (t) => {
  const { send, p } = setup(FIREWALL);
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let i = 0; i < 300; i++) {
    const len = 4 + (i % 40);
    const body = Array.from({ length: len }, rnd);
    if (i % 3 === 0 && len > 4) body[4] = 0x45; // looks like an IPv4 header start
    const r = send(2, icmpFrame(B, A, [3, 4, 5, 11, 12][i % 5], i & 0xff, body));
    t.equal(r.length, 1);
    if (r[0][0] !== 'drop') t.fail(`garbage quote ${i} passed`);
  }
  t.equal(p.conntrack.invalid.get('icmp_quote') + p.conntrack.invalid.get('icmp_unrelated'), 300, 'every one counted');
});

t.test('every TCP flag combination: no crash, invalid ones counted', async (t) => {
  const { send, p } = setup(FIREWALL);
  send(1, tcpFrame(A, B, { flags: SYN, seq: 1000 }));
  send(2, tcpFrame(B, A, { sport: 22, dport: 40000, flags: SYN | ACK, seq: 5000, ack: 1001 }));
  let bad = 0;
  for (let f = 0; f < 256; f++) {
    if (tcpInvalidFlags(f)) bad++;
    send(1, tcpFrame(A, B, { flags: f, seq: 1001, ack: 5001 })); // on the established connection
    send(1, tcpFrame(A, B, { sport: 30000 + f, flags: f, seq: 1 })); // opening a new one
  }
  t.equal(p.conntrack.invalid.get('tcp_flags'), bad * 2, `${bad} invalid combinations, counted each time`);
  // OVS tcp_invalid_flags, case by case.
  const cases: [number, boolean][] = [
    [0, true], [SYN, false], [SYN | ACK, false], [SYN | FIN, true], [SYN | RST, true], [ACK, false], [RST, false],
    [RST | ACK, false], [FIN, true], [FIN | ACK, false], [PSH, true], [PSH | ACK, false], [0x20, true], [0x20 | ACK, false], [FIN | PSH | 0x20, true],
  ];
  for (const [f, want] of cases) t.equal(tcpInvalidFlags(f), want, `flags 0x${f.toString(16)}`);
});

t.test('zones keep identical tuples apart', async (t) => {
  const { send, p } = setup(`
table=0,priority=10,ip,in_port=1,actions=ct(table=1,zone=1)
table=0,priority=10,ip,in_port=3,actions=ct(table=1,zone=2)
table=1,ct_state=+trk+new,udp,actions=ct(commit,zone=NXM_NX_REG6[0..15]),output:2
table=1,ct_state=+trk+est,actions=output:2
`);
  const f = udpFrame(A, B, 1000, 2000);
  t.same(send(1, f), [['output', 2, TRK | NEW]], 'zone 1: new (committed in zone 0 via reg6=0)');
  t.same(send(1, f), [['output', 2, TRK | NEW]], 'zone 1 still new: the commit went to zone 0');
  p.addFlow('table=1,priority=40000,ct_state=+trk+new,udp,in_port=1,actions=ct(commit,zone=1),output:2');
  t.same(send(1, f), [['output', 2, TRK | NEW]], 'committed in zone 1 now');
  t.same(send(1, udpFrame(B, A, 2000, 1000)), [['output', 2, TRK | EST | RPL]], 'its reply in zone 1: +est+rpl');
  t.same(send(3, f), [['output', 2, TRK | NEW]], 'the same tuple in zone 2 is new');
  t.same(
    p.conntrack.dump().map((l) => /zone=(\d+)/.exec(l)?.[1] ?? '0').sort(),
    ['0', '1'],
    'one connection in zone 0, one in zone 1',
  );
});

t.test('ct_mark and ct_label from exec() are stored per connection and read back', async (t) => {
  const { send, p } = setup(`
table=0,priority=10,ip,actions=ct(table=1,zone=5)
table=1,priority=10,ct_state=+trk+new,udp,actions=ct(commit,zone=5,exec(set_field:0x5->ct_mark,set_field:0x1/0x1->ct_label,load:0xab->NXM_NX_CT_LABEL[120..127])),output:2
table=1,priority=20,ct_state=+trk+est,ct_mark=5,ct_label=0x1/0x1,udp,actions=output:3
table=1,priority=10,ct_state=+trk+est,udp,actions=output:4
`);
  t.same(send(1, udpFrame(A, B, 1, 2)), [['output', 2, TRK | NEW]]);
  // Committed by the first packet; the second is still +new (no reply seen yet).
  t.same(send(1, udpFrame(A, B, 1, 2)), [['output', 2, TRK | NEW]]);
  const ops = p.conntrack;
  const back = send(2, udpFrame(B, A, 2, 1));
  t.same(back, [['output', 3, TRK | EST | RPL]], 'reply: +est, ct_mark=5 and ct_label bit 0 match');
  t.match(ops.dump()[0], /mark=5,labels=0xab000000000000000000000000000001/);
});

t.test('the table is bounded: a commit past it is a counted drop', async (t) => {
  const { send, p } = setup(FIREWALL, 2);
  send(1, udpFrame(A, B, 1, 53));
  send(1, udpFrame(A, B, 2, 53));
  t.same(send(1, udpFrame(A, B, 3, 53)), [['drop', 'ct_table_full', TRK | NEW]], 'dropped in table 1 by the commit');
  t.equal(p.drops.get('ct_table_full'), 1);
  t.equal(p.conntrack.full, 1);
  t.same(send(1, udpFrame(A, B, 1, 53)), [['output', 2, TRK | NEW]], 'existing connections still pass');
});

t.test('ct(table=T) followed by more actions: a tracked copy goes to T, the rest acts on the packet as it was', async (t) => {
  const { send } = setup(`
table=0,ip,actions=ct(table=1,zone=1),output:3
table=1,ct_state=+trk+new,actions=output:2
`);
  t.same(send(1, udpFrame(A, B, 1, 2)), [['output', 2, TRK | NEW], ['output', 3, 0]]);
});

t.test('ct(table=T) reached through resubmits: no copy when nothing follows, a copy when a caller goes on', async (t) => {
  const { send, arena } = setup(`
table=0,ip,udp,tp_dst=1,actions=resubmit(,5)
table=0,ip,udp,tp_dst=2,actions=resubmit(,5),output:3
table=5,ip,actions=ct(table=1,zone=1)
table=1,ct_state=+trk+new,actions=output:2
`);
  const free = arena.availableSmall;
  let clones = 0;
  const orig = arena.clone.bind(arena);
  arena.clone = (s: number): number => {
    clones++;
    return orig(s);
  };
  t.same(send(1, udpFrame(A, B, 9, 1)), [['output', 2, TRK | NEW]]);
  t.equal(clones, 0, 'the slot itself was recirculated');
  t.same(send(1, udpFrame(A, B, 9, 2)), [['output', 2, TRK | NEW], ['output', 3, 0]], 'the caller continues with the untracked packet');
  t.equal(clones, 1);
  t.equal(arena.availableSmall, free, 'no slot leaked');
});

t.test('resubmit(,T,ct): the lookup sees the original-direction tuple when tracked, the packet its own', async (t) => {
  const { send } = setup(`
table=0,ip,actions=ct(table=1,zone=1)
table=1,ct_state=+trk+new,udp,in_port=1,actions=ct(commit,zone=1),output:2
table=1,ct_state=+trk+est,in_port=2,actions=resubmit(,2,ct)
table=2,udp,nw_src=${A},nw_dst=${B},tp_src=7000,tp_dst=53,actions=output:1
table=2,priority=0,actions=output:9
`);
  send(1, udpFrame(A, B, 7000, 53));
  const back = send(2, udpFrame(B, A, 53, 7000));
  t.same(back, [['output', 1, TRK | EST | RPL]], 'the reply matched table 2 by the connection\'s original tuple');
  const { send: send2 } = setup(`
table=0,ip,actions=resubmit(,2,ct)
table=2,udp,nw_src=${B},tp_src=53,actions=output:1
`);
  t.same(send2(2, udpFrame(B, A, 53, 7000)), [['output', 1, 0]], 'untracked: a plain lookup with the packet\'s tuple');
});

t.test('ct without table= commits and goes on; the ct_* fields of this pass are unchanged (OVS)', async (t) => {
  const { send, p } = setup(`
table=0,ip,actions=ct(commit,zone=3),resubmit(,1)
table=1,ct_state=-trk,actions=output:2
table=1,ct_state=+trk,actions=output:3
`);
  t.same(send(1, udpFrame(A, B, 1, 2)), [['output', 2, 0]]);
  t.equal(p.conntrack.table.count, 1, 'committed');
});

t.test('ct_clear: back to untracked', async (t) => {
  const { send } = setup(`
table=0,ip,actions=ct(table=1,zone=1)
table=1,ct_state=+trk,actions=ct_clear,resubmit(,2)
table=2,ct_state=-trk,actions=output:2
`);
  t.same(send(1, udpFrame(A, B, 1, 2)), [['output', 2, 0]]);
});

t.test('non-IPv4 packets are +trk+inv; fragments too', async (t) => {
  const st = new CtStage();
  t.ok(st);
  const { send } = setup(`
table=0,ip,actions=ct(table=1)
table=1,ct_state=+trk+inv,actions=output:9
`);
  const frag = udpFrame(A, B, 1, 2);
  frag[20] = 0x00;
  frag[21] = 0x10; // fragment offset 16 (a later fragment)
  frag[24] = 0;
  frag[25] = 0;
  const cc = checksum(frag, 14, 20);
  frag[24] = cc >> 8;
  frag[25] = cc & 0xff;
  t.same(send(1, frag), [['output', 9, TRK | INV]]);
});

/** Fields of an IPv4/UDP frame in hex (as RecordingOps records it), and whether both checksums hold. */
function udpOf(hex: string): { src: string; dst: string; sport: number; dport: number; ok: boolean } {
  const u = Uint8Array.from(Buffer.from(hex, 'hex'));
  const ip = (o: number): string => [...u.subarray(o, o + 4)].join('.');
  const len = (u[38] << 8) | u[39];
  const ipOk = checksum(u, 14, 20) === 0;
  const udpOk = checksum(u, 34, len, pseudoSumV4(u, 14, 17, len)) === 0;
  return { src: ip(26), dst: ip(30), sport: (u[34] << 8) | u[35], dport: (u[36] << 8) | u[37], ok: ipOk && udpOk };
}

t.test('ct(commit,nat(src=A:P-Q)): SNAT with the router\'s port search; ct(nat) translates later packets both ways', async (t) => {
  const { send, ops, p } = setup(`
table=0,ip,actions=ct(table=1,zone=1,nat)
table=1,ct_state=+trk+new,in_port=1,udp,actions=ct(commit,zone=1,nat(src=203.0.113.5:1000-1010)),output:2
table=1,ct_state=+trk+est,in_port=1,actions=output:2
table=1,ct_state=+trk+est,in_port=2,actions=output:1
`);
  const SNAT = 0x40;
  const DNAT = 0x80;
  t.same(send(1, udpFrame(A, B, 40000, 53)), [['output', 2, TRK | NEW]]);
  const out = udpOf(ops.sent[0].hex);
  t.equal(out.src, '203.0.113.5', 'source translated');
  t.ok(out.sport >= 1000 && out.sport <= 1010, `source port from the range (${out.sport})`);
  t.same([out.dst, out.dport, out.ok], [B, 53, true], 'destination kept, checksums valid');
  const back = send(2, udpFrame(B, '203.0.113.5', 53, out.sport));
  t.same(back, [['output', 1, TRK | EST | RPL | DNAT]], 'the reply: +est+rpl, reverse-translated (+dnat)');
  t.same(udpOf(ops.sent[0].hex), { src: B, dst: A, sport: 53, dport: 40000, ok: true }, 'back to the original host and port');
  t.same(send(1, udpFrame(A, B, 40000, 53)), [['output', 2, TRK | EST | SNAT]], 'later packets: +est+snat');
  t.equal(udpOf(ops.sent[0].hex).sport, out.sport, 'the same translated port');
  t.match(p.conntrack.dump()[0], new RegExp(`^udp,orig=\\(src=${A},dst=${B},sport=40000,dport=53\\),reply=\\(src=${B},dst=203\\.0\\.113\\.5,sport=53,dport=${out.sport}\\),zone=1$`));
  // A second host's flow gets another port of the range; the range is 11 ports wide.
  const used = new Set([out.sport]);
  for (let i = 1; i <= 10; i++) {
    send(1, udpFrame(A, B, 40000 + i, 53));
    used.add(udpOf(ops.sent[0].hex).sport);
  }
  t.equal(used.size, 11, 'every port of the range used once');
  t.same(send(1, udpFrame(A, B, 40100, 53)), [['drop', 'ct_nat_exhausted', TRK | NEW]], 'range exhausted: dropped, never sent untranslated');
  t.equal(p.conntrack.natExhausted, 1);
  t.equal(p.conntrack.table.count, 11, 'nothing created');
});

t.test('ct(nat): an ICMP error for a SNATed connection is +rel and translated back, quote included', async (t) => {
  const { send, ops } = setup(`
table=0,ip,actions=ct(table=1,zone=1,nat)
table=1,ct_state=+trk+new,in_port=1,udp,actions=ct(commit,zone=1,nat(src=203.0.113.5)),output:2
table=1,ct_state=+trk+rel,in_port=2,actions=output:1
`);
  send(1, udpFrame(A, B, 40000, 53));
  const sent = Uint8Array.from(Buffer.from(ops.sent[0].hex, 'hex'));
  const r = send(2, icmpError(B, '203.0.113.5', 3, 3, sent));
  t.same(r, [['output', 1, TRK | REL | RPL | 0x80]], '+rel+rpl+dnat');
  const u = Uint8Array.from(Buffer.from(ops.sent[0].hex, 'hex'));
  const ip = (o: number): string => [...u.subarray(o, o + 4)].join('.');
  t.equal(ip(30), A, 'outer destination: the original host');
  t.same([ip(34 + 8 + 12), ip(34 + 8 + 16), (u[62] << 8) | u[63]], [A, B, 40000], 'the quoted datagram as the host sent it');
  t.equal(checksum(u, 34, u.length - 34 - (u.length - 14 - ((u[16] << 8) | u[17]))), 0, 'ICMP checksum valid');
  t.equal(checksum(u, 14, 20), 0, 'IP checksum valid');
});

t.test('ct(commit,nat(dst=A:P)): DNAT, and the reply comes back from the original address', async (t) => {
  const { send, ops } = setup(`
table=0,ip,actions=ct(table=1,zone=2,nat)
table=1,ct_state=+trk+new,in_port=1,udp,actions=ct(commit,zone=2,nat(dst=10.201.0.9:8053)),output:2
table=1,ct_state=+trk+est,in_port=2,actions=output:1
`);
  send(1, udpFrame(A, B, 5000, 53));
  t.same(udpOf(ops.sent[0].hex), { src: A, dst: '10.201.0.9', sport: 5000, dport: 8053, ok: true });
  t.same(send(2, udpFrame('10.201.0.9', A, 8053, 5000)), [['output', 1, TRK | EST | RPL | 0x40]], 'reply: +snat (reverse of DNAT)');
  t.same(udpOf(ops.sent[0].hex), { src: B, dst: A, sport: 53, dport: 5000, ok: true });
});

t.test('ct syntax errors: an invalid zone is refused at parse, nothing installed', async (t) => {
  const { p } = setup('table=0,priority=0,actions=NORMAL');
  for (const [bad, re] of [
    ['ip,actions=ct(zone=65536)', /zone 65536 is out of range/],
    ['ip,actions=ct(zone=NXM_NX_REG6[0..7])', /must be 16 bits wide, not 8/],
    ['ip,actions=ct(zone=NXM_NX_REG6[])', /must be 16 bits wide, not 32/],
    ['ip,actions=ct(zone=)', /zone needs a value/],
    ['ip,actions=ct(table=256)', /invalid table/],
    ['ip,actions=ct(foo)', /invalid argument 'foo'/],
    ['actions=ct(commit)', /ct requires ip or ipv6/],
    ['arp,actions=ct(commit)', /ct requires ip or ipv6/],
    ['ip,actions=ct(exec(set_field:1->ct_mark))', /exec\(\) needs commit/],
    ['ip,actions=ct(commit,exec(output:1))', /doesn't support nested action output/],
    ['ip,actions=ct(commit,exec(set_field:1->reg0))', /nested modification of reg0/],
    ['ip,actions=set_field:1->ct_mark', /cannot set CT fields outside of ct action/],
    ['ip,actions=load:1->NXM_NX_CT_MARK[]', /cannot set CT fields outside of ct action/],
    ['ip,actions=ct(commit,nat(src=10.0.0.5-10.0.0.1))', /invalid nat range/],
    ['ip,actions=ct(commit,nat(src=10.0.0.1:200-100))', /invalid nat range/],
    ['ip,actions=ct(nat(src=10.0.0.1))', /needs commit/],
    ['ip,actions=ct(alg=ftp)', /alg= .* not supported/],
  ] as [string, RegExp][]) {
    t.throws(() => p.addFlow(bad), FlowSyntaxError, bad);
    try {
      p.addFlow(bad);
    } catch (e) {
      t.match((e as Error).message, re, bad);
    }
  }
  t.equal(p.ruleCount, 1, 'nothing installed, nothing lost');
});
