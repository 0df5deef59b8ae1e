import t from 'tap';
import * as ip from '../../src/wire/ipv4';
import * as F from '../fixtures/frames';
import { hex, a5, toHex, prng, randInt, refChecksum } from '../fixtures/util';

const IP = 14;
/** The packet's bytes as the DataView the word-wise helpers take (the arena's `view`). */
const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
/** The header checksum at `p` verifies, over the header length its IHL gives. */
const valid = (b: Uint8Array, p: number) => ip.checksumValid(view(b), p, ip.headerLen(b, p));

t.test('ipv4: deconstruct echo request header', async (t) => {
  const b = hex(F.icmpEchoRequest);
  t.equal(ip.check(b, IP, b.length - IP), ip.OK);
  t.equal(ip.version(b, IP), 4);
  t.equal(ip.headerLen(b, IP), 20);
  t.equal(ip.tos(b, IP), 0);
  t.equal(ip.totalLen(b, IP), 84);
  t.equal(ip.ident(b, IP), 0x5c1d);
  t.equal(ip.flagsFrag(b, IP), 0x4000);
  t.equal(ip.dontFragment(b, IP), true);
  t.equal(ip.isFragment(b, IP), false);
  t.equal(ip.isLaterFragment(b, IP), false);
  t.equal(ip.ttl(b, IP), 64);
  t.equal(ip.protocol(b, IP), ip.PROTO_ICMP);
  t.equal(ip.headerChecksum(b, IP), 0xca89);
  t.equal(ip.src(b, IP), 0x0a000001);
  t.equal(ip.dst(b, IP), 0x0a000002);
  t.equal(valid(b, IP), true);
  t.same(ip.parseIpv4(b, IP), {
    version: 4, ihl: 5, tos: 0, totalLength: 84, ident: 0x5c1d, flags: 2, fragOffset: 0,
    ttl: 64, protocol: 1, checksum: 0xca89, src: '10.0.0.1', dst: '10.0.0.2',
  });
});

t.test('ipv4: deconstruct other fixtures', async (t) => {
  const syn = hex(F.tcpSyn);
  t.same(ip.parseIpv4(syn, IP), {
    version: 4, ihl: 5, tos: 0x10, totalLength: 60, ident: 0x3a4f, flags: 2, fragOffset: 0,
    ttl: 64, protocol: 6, checksum: 0xec5a, src: '10.0.0.1', dst: '10.0.0.2',
  });
  const dns = hex(F.udpDnsQuery);
  t.equal(ip.dst(dns, IP), 0x08080808);
  t.equal(ip.protocol(dns, IP), ip.PROTO_UDP);
  t.equal(valid(dns, IP), true);
  const reply = hex(F.icmpEchoReply);
  t.equal(ip.dontFragment(reply, IP), false);
  t.equal(valid(reply, IP), true);

  const first = hex(F.ipv4FirstFragment);
  t.equal(ip.isFragment(first, IP), true);
  t.equal(ip.isLaterFragment(first, IP), false);
  t.equal(ip.dontFragment(first, IP), false);
  t.same({ flags: ip.parseIpv4(first, IP).flags, off: ip.parseIpv4(first, IP).fragOffset }, { flags: 1, off: 0 });
  const later = hex(F.ipv4LaterFragment);
  t.equal(ip.isFragment(later, IP), true);
  t.equal(ip.isLaterFragment(later, IP), true);
  t.same({ flags: ip.parseIpv4(later, IP).flags, off: ip.parseIpv4(later, IP).fragOffset }, { flags: 0, off: 185 });

  // Addresses with the top bit set stay unsigned.
  const hi = hex(F.icmpEchoRequest);
  hi[IP + 12] = 0xc0; hi[IP + 16] = 0xff;
  t.equal(ip.src(hi, IP), 0xc0000001);
  t.equal(ip.dst(hi, IP), 0xff000002);
  t.equal(valid(hi, IP), false, 'a changed byte invalidates the checksum');
});

t.test('ipv4: check', async (t) => {
  const b = hex(F.icmpEchoRequest);
  const n = b.length - IP; // 84
  t.equal(ip.check(b, IP, 19), ip.ERR_TRUNCATED);
  t.equal(ip.check(b, IP, 0), ip.ERR_TRUNCATED);
  t.equal(ip.check(b, IP, n), ip.OK);
  t.equal(ip.check(b, IP, n - 1), ip.ERR_TOTAL_LEN, 'total length one past the end');
  t.equal(ip.check(b, IP, n + 6), ip.OK, 'trailing padding is fine');
  const with1 = (off: number, v: number) => { const c = hex(F.icmpEchoRequest); c[IP + off] = v; return c; };
  t.equal(ip.check(with1(0, 0x65), IP, n), ip.ERR_VERSION);
  t.equal(ip.check(with1(0, 0x05), IP, n), ip.ERR_VERSION);
  t.equal(ip.check(with1(0, 0x44), IP, n), ip.ERR_IHL, 'IHL 4');
  t.equal(ip.check(with1(0, 0x40), IP, n), ip.ERR_IHL, 'IHL 0');
  t.equal(ip.check(with1(0, 0x4f), IP, 59), ip.ERR_IHL, 'IHL 15 (60 bytes) past 59 available');
  t.equal(ip.check(with1(0, 0x4f), IP, n), ip.OK, 'IHL 15 fits in 84');
  const tl = (v: number) => { const c = hex(F.icmpEchoRequest); ip.setTotalLen(c, IP, v); return c; };
  t.equal(ip.check(tl(19), IP, n), ip.ERR_TOTAL_LEN, 'total length < header');
  t.equal(ip.check(tl(20), IP, n), ip.OK, 'header-only packet');
  t.equal(ip.check(tl(85), IP, n), ip.ERR_TOTAL_LEN);
  t.equal(ip.check(tl(0xffff), IP, n), ip.ERR_TOTAL_LEN);
  t.throws(() => ip.parseIpv4(tl(19), IP), /code 4/);
  t.throws(() => ip.parseIpv4(b.subarray(0, 33), IP), /code 1/);
});

t.test('ipv4: construct', async (t) => {
  const want = hex(F.icmpEchoRequest).subarray(IP, IP + 20);
  const b = a5(24);
  const n = ip.emitIpv4({ totalLength: 84, ident: 0x5c1d, flags: 2, ttl: 64, protocol: 1, src: '10.0.0.1', dst: '10.0.0.2' }, b, 2);
  t.equal(n, 20);
  t.equal(toHex(b), 'a5a5' + toHex(want) + 'a5a5');

  const syn = hex(F.tcpSyn).subarray(IP, IP + 20);
  const s = a5(20);
  ip.emitIpv4({ tos: 0x10, totalLength: 60, ident: 0x3a4f, flags: 2, protocol: 6, src: 0x0a000001, dst: 0x0a000002 }, s);
  t.equal(toHex(s), toHex(syn), 'numeric addresses, default ttl 64');

  const later = hex(F.ipv4LaterFragment).subarray(IP, IP + 20);
  const l = a5(20);
  ip.emitIpv4({ totalLength: ip.totalLen(later, 0), ident: 0x1111, fragOffset: 185, protocol: 17, src: '10.0.0.1', dst: '10.0.0.2' }, l);
  t.equal(toHex(l), toHex(later));

  // Setters write exactly their bytes and nothing else.
  const w = a5(20);
  ip.setTotalLen(w, 0, 0x1234);
  ip.setIdent(w, 0, 0xbeef);
  ip.setFlagsFrag(w, 0, 0x4000 | 0x123);
  ip.setProtocol(w, 0, 17);
  ip.setHeaderChecksum(w, 0, 0xfedc);
  ip.writeAddr(w, 12, 0xc0a80101);
  t.equal(toHex(w), 'a5a5' + '1234' + 'beef' + '4123' + 'a5' + '11' + 'fedc' + 'c0a80101' + 'a5a5a5a5');
});

t.test('ipv4: setters with incremental checksum stay valid (RFC 1624)', async (t) => {
  const r = prng(0x1b4);
  const b = hex(F.tcpSyn);
  let bad = 0;
  for (let i = 0; i < 5000; i++) {
    switch (i % 4) {
      case 0: ip.setTtl(view(b), IP, randInt(r, 256)); break;
      case 1: ip.setSrc(b, IP, randInt(r, 2 ** 32)); break;
      case 2: ip.setDst(b, IP, randInt(r, 2 ** 32)); break;
      default: ip.setTos(b, IP, randInt(r, 256)); break;
    }
    const inc = ip.headerChecksum(b, IP);
    const hdr = b.slice(IP, IP + 20);
    hdr[10] = 0; hdr[11] = 0;
    if (inc !== refChecksum(hdr) || !valid(b, IP)) bad++;
  }
  t.equal(bad, 0, '5000 random ttl/src/dst/tos changes all leave a valid checksum equal to a recomputation');
  t.equal(ip.version(b, IP), 4, 'setTos leaves version/IHL alone');
  t.equal(ip.headerLen(b, IP), 20);
  t.equal(ip.protocol(b, IP), 6, 'setTtl leaves protocol alone');

  // Values that are stored exactly.
  ip.setTtl(view(b), IP, 63);
  ip.setTos(b, IP, 0xb8);
  ip.setSrc(b, IP, 0xc0a80a01);
  ip.setDst(b, IP, 0xfffffffe);
  t.equal(ip.ttl(b, IP), 63);
  t.equal(ip.tos(b, IP), 0xb8);
  t.equal(ip.src(b, IP), 0xc0a80a01);
  t.equal(ip.dst(b, IP), 0xfffffffe);
  t.equal(valid(b, IP), true);

  // Edge: choose a source address that makes the checksum exactly 0x0000, then move away.
  const e = hex(F.icmpEchoRequest);
  const hdr = e.slice(IP, IP + 20);
  hdr[10] = hdr[11] = 0; hdr[14] = hdr[15] = 0; // exclude checksum and src low word
  const rest = 0xffff - refChecksum(hdr); // folded sum of the other words
  const lo = 0xffff - rest; // rest + lo == 0xffff
  ip.setSrc(e, IP, ((0x0a00 << 16) | lo) >>> 0);
  t.equal(ip.headerChecksum(e, IP), 0x0000, 'incremental update reaches 0x0000');
  t.equal(valid(e, IP), true);
  ip.setTtl(view(e), IP, 1);
  t.equal(valid(e, IP), true, 'and leaves it correctly');
  ip.fillChecksum(e, IP);
  t.equal(valid(e, IP), true);
});

t.test('ipv4: header with options', async (t) => {
  // IHL 6: Router Alert option (94 04 00 00), as IGMP reports carry.
  const b = a5(24);
  ip.emitIpv4({ totalLength: 24, protocol: 2, ttl: 1, src: '10.0.0.1', dst: '224.0.0.22' }, b);
  b[0] = 0x46; b[20] = 0x94; b[21] = 0x04; b[22] = 0; b[23] = 0;
  t.equal(valid(b, 0), false);
  ip.fillChecksum(b, 0);
  t.equal(ip.headerLen(b, 0), 24);
  t.equal(valid(b, 0), true);
  t.equal(ip.headerChecksum(b, 0), refChecksum(Uint8Array.from([...b.subarray(0, 10), 0, 0, ...b.subarray(12, 24)])));
  t.equal(ip.check(b, 0, 24), ip.OK);
  t.equal(ip.check(b, 0, 23), ip.ERR_IHL);
});

t.test('ipv4: address text forms', async (t) => {
  t.equal(ip.parseAddr('10.0.0.1'), 0x0a000001);
  t.equal(ip.parseAddr(' 255.255.255.255 '), 0xffffffff);
  t.equal(ip.formatAddr(0xc0a80001), '192.168.0.1');
  t.equal(ip.formatAddr(0), '0.0.0.0');
  for (const bad of ['10.0.0', '10.0.0.256', '1.2.3.4.5', 'a.b.c.d', '']) t.throws(() => ip.parseAddr(bad), /invalid IPv4/, bad);
  t.equal(ip.prefixMask(0), 0);
  t.equal(ip.prefixMask(8), 0xff000000);
  t.equal(ip.prefixMask(24), 0xffffff00);
  t.equal(ip.prefixMask(32), 0xffffffff);
  t.same(ip.parseCidr('10.1.2.3/16'), { addr: 0x0a010203, len: 16 });
  t.same(ip.parseCidr('10.1.2.3'), { addr: 0x0a010203, len: 32 });
  t.throws(() => ip.parseCidr('10.0.0.0/33'), /prefix length/);
  t.throws(() => ip.parseCidr('10.0.0.0/x'), /prefix length/);
});
