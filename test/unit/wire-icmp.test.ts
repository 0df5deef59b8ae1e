import t from 'tap';
import * as icmp from '../../src/wire/icmp';
import * as F from '../fixtures/frames';
import { hex, a5, toHex, refChecksum } from '../fixtures/util';

const L4 = 34;

t.test('icmp: deconstruct echo request and reply', async (t) => {
  const b = hex(F.icmpEchoRequest);
  t.equal(icmp.type(b, L4), icmp.ECHO_REQUEST);
  t.equal(icmp.code(b, L4), 0);
  t.equal(icmp.icmpChecksum(b, L4), 0x7a19);
  t.equal(icmp.echoId(b, L4), 0x1c2d);
  t.equal(icmp.echoSeq(b, L4), 1);
  t.equal(icmp.checksumValid(b, L4, 64), true);
  t.equal(icmp.isError(icmp.type(b, L4)), false);

  const r = hex(F.icmpEchoReply);
  t.equal(icmp.type(r, L4), icmp.ECHO_REPLY);
  t.equal(icmp.icmpChecksum(r, L4), 0x8219);
  t.equal(icmp.echoId(r, L4), 0x1c2d);
  t.equal(icmp.echoSeq(r, L4), 1);
  t.equal(icmp.checksumValid(r, L4, 64), true);

  const broken = hex(F.icmpEchoRequest);
  broken[L4 + 20] ^= 1;
  t.equal(icmp.checksumValid(broken, L4, 64), false);
});

t.test('icmp: isError', async (t) => {
  for (const e of [icmp.DEST_UNREACH, icmp.TIME_EXCEEDED, 4, 5, 12]) t.equal(icmp.isError(e), true, `type ${e}`);
  for (const e of [icmp.ECHO_REPLY, icmp.ECHO_REQUEST, 13, 14, 9, 10]) t.equal(icmp.isError(e), false, `type ${e}`);
});

t.test('icmp: construct', async (t) => {
  const s = a5(8);
  icmp.setType(s, 0, icmp.DEST_UNREACH);
  t.equal(toHex(s), '03' + 'a5'.repeat(7));
  icmp.setCode(s, 0, icmp.UNREACH_FRAG_NEEDED);
  t.equal(toHex(s), '0304' + 'a5'.repeat(6));
  icmp.setEchoId(s, 0, 0xbeef);
  t.equal(toHex(s), '0304a5a5beefa5a5');
  icmp.setChecksumField(s, 0, 0x1234);
  t.equal(toHex(s), '03041234beefa5a5');

  // Turn the request into the reply the peer sent: type 0, fresh checksum -> same bytes.
  const req = hex(F.icmpEchoRequest).slice(L4);
  icmp.setType(req, 0, icmp.ECHO_REPLY);
  t.equal(icmp.checksumValid(req, 0, 64), false);
  icmp.fillChecksum(req, 0, 64);
  t.equal(toHex(req), toHex(hex(F.icmpEchoReply), L4));

  // fillChecksum over an odd length, garbage in the field first.
  const odd = a5(9);
  icmp.setType(odd, 0, 8); icmp.setCode(odd, 0, 0);
  icmp.fillChecksum(odd, 0, 9);
  const z = odd.slice(); z[2] = 0; z[3] = 0;
  t.equal(icmp.icmpChecksum(odd, 0), refChecksum(z));
  t.equal(icmp.checksumValid(odd, 0, 9), true);
});
