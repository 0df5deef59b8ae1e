/**
 * A stateful firewall programmed over OpenFlow 1.3 by Open vSwitch's own `ovs-ofctl`, with the
 * conntrack match fields on the wire (NXM_NX_CT_STATE/ZONE/MARK/LABEL) and ct(commit,exec(...)):
 *
 *   table=0  ip                                          -> ct(table=1,zone=7)
 *   table=0  anything else (ARP)                         -> NORMAL
 *   table=1  ct_state=+inv+trk                           -> drop
 *   table=1  ct_state=+new+trk,ip,in_port=A              -> ct(commit,zone=7,exec(mark 0x2a, label 0x5)),NORMAL
 *   table=1  ct_state=+est+trk,ct_zone=7,ct_mark=0x2a,ct_label=0x5/0xff,ip -> NORMAL
 *   table=1  anything else                               -> drop
 *
 * Host A opens TCP to B and data flows both ways (the replies are +est with the mark and label
 * the commit wrote); B cannot open a connection to A (a +new from B meets the drop; tcpdump on A
 * sees no SYN); ICMP echo replies B sends unasked are +inv and dropped. `ovs-ofctl dump-flows`
 * prints every flow as `ovs-ofctl parse-flow` prints the text it was added with. Needs root.
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { haveCmd, Lab } from '../helpers/netns';
import { startDaemon, tvsOk, nsRun, waitListening } from '../helpers/daemon';
import { startCapture } from '../helpers/capture';
import { mgmtOfctlSkipReason, mgmtTarget, ofctl13 } from '../helpers/mgmt-ofctl';

const why = mgmtOfctlSkipReason() || (!haveCmd('tcpdump') || !haveCmd('python3') ? 'needs tcpdump and python3 (make test installs them)' : '');

const NET = '10.219.0';
const A = `${NET}.1`;
const B = `${NET}.2`;

/** An echo server on ADDR:PORT for SECONDS: logs each accept, echoes what it reads. */
const server = (addr: string, port: number, seconds: number) => `
import socket, select, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('${addr}', ${port})); l.listen(8)
end = time.time() + ${seconds}
conns = []
while time.time() < end:
    r, _, _ = select.select([l] + conns, [], [], 0.2)
    for s in r:
        if s is l:
            c, a = l.accept(); conns.append(c); print('accepted', a[0], flush=True)
        else:
            d = s.recv(65536)
            if d: s.sendall(d)
            else: conns.remove(s); s.close()
`;

/** Connect to ADDR:PORT, send 64 kB, read it all back; or say why not (2 s connect timeout). */
const client = (addr: string, port: number) => `
import socket, threading
try:
    s = socket.create_connection(('${addr}', ${port}), timeout=2)
except Exception as e:
    print('connect failed', type(e).__name__, flush=True); raise SystemExit(0)
s.settimeout(5)
blob = bytes(range(256)) * 256
threading.Thread(target=s.sendall, args=(blob,)).start()
got = b''
while len(got) < len(blob):
    d = s.recv(65536)
    if not d: break
    got += d
print('echoed', len(got), got == blob, flush=True)
s.close()
`;

/** Three ICMP echo replies to ADDR nobody asked for: conntrack calls them invalid. */
const strayReplies = (addr: string) => `
import socket, struct
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
for seq in range(3):
    body = struct.pack('!BBHHH', 0, 0, 0, 0x7e57, seq) + b'stray-echo-reply'
    r.sendto(body[:2] + struct.pack('!H', csum(body)) + body[4:], ('${addr}', 0))
print('sent 3', flush=True)
`;

t.test('ovs-ofctl programs a stateful firewall with ct_* matches; it holds on the wire', { skip: why || false }, async (t) => {
  const lab = Lab.create(t);
  const hA = lab.netns('tvcfa');
  const hB = lab.netns('tvcfb');
  const vA = lab.veth({ ns: hA, address: `${A}/24` });
  const vB = lab.veth({ ns: hB, address: `${B}/24` });
  const d = await startDaemon(t);
  await tvsOk(d.control, ['add-br', 'br-fw']);
  await tvsOk(d.control, ['add-port', 'br-fw', vA.host]);
  await tvsOk(d.control, ['add-port', 'br-fw', vB.host]);
  const mgmt = mgmtTarget(d.control, 'br-fw');
  const ofctl = (args: string[]) => ofctl13(['--no-names', ...args]);
  const portA = Number(/ (\d+)\(/.exec((await ofctl(['show', mgmt])).split('\n').find((l) => l.includes(vA.host))!)![1]);

  const FLOWS = [
    'table=0,priority=100,ip,actions=ct(table=1,zone=7)',
    'table=0,priority=0,actions=NORMAL',
    'table=1,priority=200,ct_state=+inv+trk,actions=drop',
    `table=1,priority=100,ct_state=+new+trk,ip,in_port=${portA},actions=ct(commit,zone=7,exec(set_field:0x2a->ct_mark,set_field:0x5->ct_label)),NORMAL`,
    'table=1,priority=100,ct_state=+est+trk,ct_zone=7,ct_mark=0x2a,ct_label=0x5/0xff,ip,actions=NORMAL',
    'table=1,priority=0,actions=drop',
  ];
  await ofctl(['del-flows', mgmt]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-ct-ofctl-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'flows'), FLOWS.join('\n') + '\n');
  await ofctl(['add-flows', mgmt, path.join(dir, 'flows')]);

  await t.test('dump-flows prints each flow as ovs-ofctl parse-flow prints its text', async (t) => {
    const dump = (await ofctl(['dump-flows', mgmt])).split('\n').filter((l) => l.includes('actions='));
    const shown = dump.map((l) => l.replace(/^\s*cookie=\S+ duration=\S+ (table=(\d+), )?n_packets=\d+, n_bytes=\d+, /, (_m, _x, tb) => (tb && tb !== '0' ? `table:${tb} ` : '')));
    for (const f of FLOWS) {
      const parsed = /ADD (.*)$/m.exec(await ofctl(['parse-flow', f]))![1].trim();
      if (!shown.includes(parsed)) t.comment(`dump-flows:\n  ${shown.join('\n  ')}`);
      t.ok(shown.includes(parsed), parsed);
    }
    t.equal(dump.length, FLOWS.length);
  });

  await t.test('A opens TCP to B and it works both ways', async (t) => {
    const srv = nsRun(hB, ['timeout', '15', 'python3', '-c', server(B, 22, 6)], 20_000);
    await waitListening(hB, 22);
    const c = await nsRun(hA, ['timeout', '12', 'python3', '-c', client(B, 22)], 15_000);
    t.match(c.stdout, /echoed 65536 True/, `64 kB from A came back from B: ${c.stdout}${c.stderr}`);
    const ct = await tvsOk(d.control, ['dump-conntrack', 'br-fw', 'zone=7']);
    t.match(ct, new RegExp(`^tcp,orig=\\(src=${A.replace(/\./g, '\\.')},dst=${B.replace(/\./g, '\\.')},sport=\\d+,dport=22\\),.*zone=7,mark=42,labels=0x5`, 'm'), `committed with the mark and label: ${ct}`);
    t.match((await srv).stdout, new RegExp(`accepted ${A.replace(/\./g, '\\.')}`));
  });

  await t.test('B cannot open a connection to A; the SYN never reaches A', async (t) => {
    const srv = nsRun(hA, ['timeout', '12', 'python3', '-c', server(A, 2222, 5)], 15_000);
    await waitListening(hA, 2222);
    const cap = await startCapture(hA, vA.peer, 'tcp port 2222', 1, 5);
    const c = await nsRun(hB, ['timeout', '6', 'python3', '-c', client(A, 2222)], 10_000);
    t.match(c.stdout, /connect failed/, `B → A refused by the firewall: ${c.stdout}`);
    t.equal((await cap.done).trim(), '', 'tcpdump on A saw no packet of it');
    t.notMatch((await srv).stdout, /accepted/);
  });

  await t.test('unasked ICMP echo replies from B are +inv and dropped', async (t) => {
    const before = (await ofctl(['dump-flows', mgmt, 'table=1,ct_state=+inv+trk'])).match(/n_packets=(\d+)/)![1];
    const cap = await startCapture(hA, vA.peer, 'icmp', 1, 4);
    const s = await nsRun(hB, ['timeout', '5', 'python3', '-c', strayReplies(A)], 8_000);
    t.match(s.stdout, /sent 3/);
    t.equal((await cap.done).trim(), '', 'none reached A');
    const after = (await ofctl(['dump-flows', mgmt, 'table=1,ct_state=+inv+trk'])).match(/n_packets=(\d+)/)![1];
    t.equal(Number(after) - Number(before), 3, 'the +inv+trk drop flow counted the three');
  });

  await t.test('the +est flow carried the replies; its ct_mark/ct_label match is what admitted them', async (t) => {
    const est = (await ofctl(['dump-flows', mgmt, 'table=1,ct_state=+est+trk,ct_zone=7,ct_mark=0x2a,ct_label=0x5/0xff,ip'])).split('\n').find((l) => l.includes('actions=NORMAL'));
    t.match(est, /n_packets=[1-9]\d*/, `${est}`);
    // Change what the commit writes: new connections no longer match the +est flow.
    await ofctl(['--strict', 'mod-flows', mgmt, `table=1,priority=100,ct_state=+new+trk,ip,in_port=${portA},actions=ct(commit,zone=7,exec(set_field:0x2b->ct_mark,set_field:0x5->ct_label)),NORMAL`]);
    await tvsOk(d.control, ['flush-conntrack', 'br-fw']);
    const srv = nsRun(hB, ['timeout', '12', 'python3', '-c', server(B, 23, 5)], 15_000);
    await waitListening(hB, 23);
    const c = await nsRun(hA, ['timeout', '6', 'python3', '-c', client(B, 23)], 10_000);
    t.match(c.stdout, /connect failed/, `with ct_mark 0x2b the SYN+ACK is +est but not admitted: ${c.stdout}`);
    await srv;
  });
});
