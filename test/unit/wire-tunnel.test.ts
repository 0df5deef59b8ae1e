/**
 * VXLAN and GRE headers: deconstruct byte fixtures, construct into 0xa5-filled buffers, and have
 * tshark (an independent decoder) read what encode() wrote, inside a whole outer packet.
 */
import t from 'tap';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vxlan from '../../src/wire/vxlan';
import * as gre from '../../src/wire/gre';
import { checksum } from '../../src/wire/checksum';
import { pcapFile } from '../../src/control/pcap';
import { hex, a5, toHex } from '../fixtures/util';

// RFC 7348 header: I flag, VNI 100 (0x000064).
const VXLAN_100 = '0800000000006400';
// Neutron-style VNI 0x123456, reserved bits zero.
const VXLAN_BIG = '0800000012345600';
// GRE, K bit, TEB, key 100 (what Linux gretap `key 100` and OVS `gre key=100` send).
const GRE_KEY_100 = '2000655800000064';
// GRE, C+K+S bits, TEB, checksum + reserved1, key 7, seq 9 (before the checksum is filled).
const GRE_CKS = 'b0006558' + '00000000' + '00000007' + '00000009';

t.test('vxlan: deconstruct', async (t) => {
  const b = hex(VXLAN_100);
  t.equal(vxlan.check(b, 0, 8), vxlan.OK);
  t.equal(vxlan.vni(b, 0), 100);
  t.equal(vxlan.flags(b, 0), 0x08);
  t.same(vxlan.decode(hex(VXLAN_BIG)), { flags: 8, vni: 0x123456 });
  t.equal(vxlan.check(b, 0, 7), vxlan.ERR_TRUNCATED);
  const noI = hex(VXLAN_100);
  noI[0] = 0x00;
  t.equal(vxlan.check(noI, 0, 8), vxlan.ERR_NO_VNI);
  // Reserved bits are ignored by receivers (RFC 7348 §5), as Linux and OVS do.
  const res = hex(VXLAN_100);
  res[0] = 0x0c;
  res[7] = 0xff;
  t.equal(vxlan.check(res, 0, 8), vxlan.OK);
  t.equal(vxlan.vni(res, 0), 100);
});

t.test('vxlan: construct', async (t) => {
  const s = a5(12);
  vxlan.write(s, 2, 100);
  t.equal(toHex(s), 'a5a5' + VXLAN_100 + 'a5a5');
  t.equal(toHex(vxlan.encode(0x123456)), VXLAN_BIG);
  t.throws(() => vxlan.encode(0x1000000), /VNI/);
});

t.test('gre: deconstruct', async (t) => {
  const b = hex(GRE_KEY_100);
  t.equal(gre.check(b, 0, 8), gre.OK);
  t.equal(gre.headerLen(b, 0), 8);
  t.equal(gre.key(b, 0), 100);
  t.equal(gre.protocol(b, 0), 0x6558);
  t.same(gre.decode(b), { checksumPresent: false, keyPresent: true, seqPresent: false, version: 0, protocol: 0x6558, key: 100, headerLen: 8 });
  const plain = hex('00006558');
  t.equal(gre.check(plain, 0, 4), gre.OK);
  t.equal(gre.key(plain, 0), 0);
  t.equal(gre.hasKey(plain, 0), false);

  // C + K + S: 16 bytes; the key sits after the checksum word.
  const cks = hex(GRE_CKS + 'aabbccdd');
  const c = checksum(cks, 0, cks.length, 0);
  cks[4] = c >>> 8;
  cks[5] = c & 0xff;
  t.equal(gre.check(cks, 0, cks.length), gre.OK);
  t.equal(gre.headerLen(cks, 0), 16);
  t.equal(gre.key(cks, 0), 7);
  t.equal(gre.decode(cks).seq, 9);
  cks[17] ^= 1;
  t.equal(gre.check(cks, 0, cks.length), gre.ERR_CHECKSUM);

  t.equal(gre.check(hex('200065580000'), 0, 6), gre.ERR_TRUNCATED, 'K announces 8 bytes');
  t.equal(gre.check(hex('2000'), 0, 2), gre.ERR_TRUNCATED);
  t.equal(gre.check(hex('4000655800000000'), 0, 8), gre.ERR_FLAGS, 'routing bit');
  t.equal(gre.check(hex('0800655800000000'), 0, 8), gre.ERR_FLAGS, 'strict source route');
  t.equal(gre.check(hex('0001655800000000'), 0, 8), gre.ERR_VERSION, 'version 1 (PPTP)');
  t.equal(gre.check(hex('2000080000000064'), 0, 8), gre.ERR_PROTOCOL, 'IPv4 over GRE, not Ethernet');
});

t.test('gre: construct', async (t) => {
  const s = a5(12);
  t.equal(gre.write(s, 2, true, 100), 8);
  t.equal(toHex(s), 'a5a5' + GRE_KEY_100 + 'a5a5');
  const u = a5(6);
  t.equal(gre.write(u, 0, false, 0), 4);
  t.equal(toHex(u), '00006558a5a5');
  t.equal(toHex(gre.encode(0xdeadbeef)), '20006558deadbeef');
  t.throws(() => gre.encode(-1), /key/);
});

// ---- tshark as the independent decoder ----

function haveTshark(): boolean {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

const INNER = hex(
  // dst 02:00:00:00:00:02, src 02:00:00:00:00:01, ARP request 10.235.0.1 -> 10.235.0.2
  '020000000002' + '020000000001' + '0806' + '0001080006040001' + '020000000001' + '0aeb0001' + '000000000000' + '0aeb0002',
);

function ipv4(proto: number, payloadLen: number): Uint8Array {
  const h = hex('4500' + '0000' + '1234' + '4000' + '40' + proto.toString(16).padStart(2, '0') + '0000' + '0aea0001' + '0aea0002');
  const tl = 20 + payloadLen;
  h[2] = tl >>> 8;
  h[3] = tl & 0xff;
  const c = checksum(h, 0, 20, 0);
  h[10] = c >>> 8;
  h[11] = c & 0xff;
  return h;
}

function outerEth(): Uint8Array {
  return hex('0200000000bb' + '0200000000aa' + '0800');
}

function cat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts.map((p) => Buffer.from(p))));
}

t.test('tshark decodes encode() output', { skip: haveTshark() ? false : 'tshark is not installed (make test-debs installs it)' }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-tun-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const vx = vxlan.encode(100);
  const udpLen = 8 + vx.length + INNER.length;
  const udp = hex('d431' + '12b5' + '0000' + '0000'); // src 54321, dst 4789, no checksum
  udp[4] = udpLen >>> 8;
  udp[5] = udpLen & 0xff;
  const vxFrame = cat(outerEth(), ipv4(17, udpLen), udp, vx, INNER);
  const gh = gre.encode(0x12345678);
  const greFrame = cat(outerEth(), ipv4(47, gh.length + INNER.length), gh, INNER);
  const file = path.join(dir, 't.pcap');
  fs.writeFileSync(file, pcapFile([{ tsUs: 1, frame: vxFrame }, { tsUs: 2, frame: greFrame }]));
  const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|',
    '-e', 'vxlan.flags', '-e', 'vxlan.vni', '-e', 'gre.flags_and_version', '-e', 'gre.proto', '-e', 'gre.key',
    '-e', 'arp.src.proto_ipv4', '-e', 'arp.dst.proto_ipv4', '-e', 'eth.src'], { encoding: 'utf8', timeout: 60_000 });
  const lines = out.trim().split('\n');
  t.equal(lines.length, 2, out);
  const [vf, vv, , , , as, ad, esrc] = lines[0].split('|');
  t.equal(Number(vf), 0x0800, 'VXLAN flags word: only I');
  t.equal(vv, '100');
  t.equal(as, '10.235.0.1');
  t.equal(ad, '10.235.0.2');
  t.equal(esrc, '02:00:00:00:00:aa,02:00:00:00:00:01', 'outer and inner Ethernet source');
  const g = lines[1].split('|');
  t.equal(Number(g[2]), 0x2000, 'GRE: K bit, version 0');
  t.equal(Number(g[3]), 0x6558, 'transparent Ethernet bridging');
  t.equal(Number(g[4]), 0x12345678);
  t.equal(g[5], '10.235.0.1');
});
