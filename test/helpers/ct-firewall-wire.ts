/**
 * What a stateful firewall between two namespace hosts must do on the wire, whoever programmed
 * it (ovs-ofctl, an os-ken app): host A opens TCP to B and 64 kB go both ways, committed in the
 * firewall's zone with its ct_mark and ct_label; B cannot open a connection to A (tcpdump on A
 * sees nothing of it); ICMP echo replies B sends unasked are +inv and dropped by the
 * ct_state=+inv+trk flow. Each "sees nothing" check ends on a control frame that legitimately
 * took the same path after the forbidden one (an empty capture proves nothing). The python snippets run in the hosts with a bounded lifetime.
 */
import type { Test as TapTest } from 'tap';
import { nsRun, pingEach, startDaemon, tvsOk, waitListening, type Daemon } from '../../lab/daemon';
import { Lab } from '../../lab/netns';
import { watchUntilControl } from './capture';

/**
 * Hosts A (`${net}.1`) and B (`${net}.2`) in their own namespaces, each on a veth port of bridge
 * `br-fw` of a fresh daemon; everything is removed when the test ends.
 */
export async function firewallRig(t: TapTest, net: string, nsPrefix: string) {
  const A = `${net}.1`;
  const B = `${net}.2`;
  const lab = Lab.create(t);
  const hA = lab.netns(`${nsPrefix}a`);
  const hB = lab.netns(`${nsPrefix}b`);
  const vA = lab.veth({ ns: hA, address: `${A}/24` });
  const vB = lab.veth({ ns: hB, address: `${B}/24` });
  const d = await startDaemon(t);
  await tvsOk(d.control, ['add-br', 'br-fw']);
  await tvsOk(d.control, ['add-port', 'br-fw', vA.host]);
  await tvsOk(d.control, ['add-port', 'br-fw', vB.host]);
  return { A, B, hA, hB, vA, vB, d };
}

/** An echo server on ADDR:PORT for SECONDS: logs each accept, echoes what it reads. */
export const echoServer = (addr: string, port: number, seconds: number) => `
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
export const echoClient = (addr: string, port: number) => `
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

/** The ICMP id of the stray echo replies (0x7e57). */
const STRAY_ID = 0x7e57;

/** Three ICMP echo replies to ADDR nobody asked for: conntrack calls them invalid. */
export const strayEchoReplies = (addr: string) => `
import socket, struct
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
for seq in range(3):
    body = struct.pack('!BBHHH', 0, 0, 0, ${STRAY_ID}, seq) + b'stray-echo-reply'
    r.sendto(body[:2] + struct.pack('!H', csum(body)) + body[4:], ('${addr}', 0))
print('sent 3', flush=True)
`;

export interface FirewallLab {
  d: Daemon;
  bridge: string;
  /** Host namespaces, A's interface (for tcpdump) and addresses. */
  hA: string;
  hB: string;
  ifA: string;
  A: string;
  B: string;
  /** What the firewall commits new connections with. */
  zone: number;
  mark: number;
  label: number;
}

const esc = (s: string) => s.replace(/\./g, '\\.');

/** The +inv+trk flow's packet count in `tvs dump-flows`. */
async function invCount(l: FirewallLab): Promise<number> {
  const line = (await tvsOk(l.d.control, ['dump-flows', l.bridge])).split('\n').find((x) => x.includes('ct_state=+inv+trk'));
  const m = line ? /n_packets=(\d+)/.exec(line) : null;
  if (!m) throw new Error('no ct_state=+inv+trk flow in dump-flows');
  return Number(m[1]);
}

export async function checkStatefulFirewall(t: TapTest, l: FirewallLab): Promise<void> {
  await t.test('A opens TCP to B and it works both ways', async (t) => {
    const srv = nsRun(l.hB, ['timeout', '15', 'python3', '-c', echoServer(l.B, 22, 6)], 20_000);
    await waitListening(l.hB, 22);
    const c = await nsRun(l.hA, ['timeout', '12', 'python3', '-c', echoClient(l.B, 22)], 15_000);
    t.match(c.stdout, /echoed 65536 True/, `64 kB from A came back from B: ${c.stdout}${c.stderr}`);
    const ct = await tvsOk(l.d.control, ['dump-conntrack', l.bridge, `zone=${l.zone}`]);
    t.match(ct, new RegExp(`^tcp,orig=\\(src=${esc(l.A)},dst=${esc(l.B)},sport=\\d+,dport=22\\),.*zone=${l.zone},mark=${l.mark},labels=0x${l.label.toString(16)}`, 'm'), `committed with the mark and label: ${ct}`);
    t.match((await srv).stdout, new RegExp(`accepted ${esc(l.A)}`));
  });

  await t.test('B cannot open a connection to A; the SYN never reaches A', async (t) => {
    const srv = nsRun(l.hA, ['timeout', '12', 'python3', '-c', echoServer(l.A, 2222, 5)], 15_000);
    await waitListening(l.hA, 2222);
    // The control: then A pings B, and B's echo reply, +est, takes the SYN's path (B's port,
    // ct(), the table 1 decision) to A; A's capture ends on it.
    const control = new RegExp(`${esc(l.B)} > ${esc(l.A)}: ICMP echo reply`);
    const cap = await watchUntilControl(l.hA, l.ifA, 'tcp port 2222 or icmp[icmptype] = icmp-echoreply', control);
    const c = await nsRun(l.hB, ['timeout', '6', 'python3', '-c', echoClient(l.A, 2222)], 10_000);
    t.match(c.stdout, /connect failed/, `B → A refused by the firewall: ${c.stdout}`);
    const p = await pingEach(l.hA, l.B, 1);
    t.equal(p.loss, 0, `then A pings B: ${p.summary}`);
    const saw = await cap.done;
    t.match(saw, control, `B's echo reply, sent after, reached A: ${saw.trim()}`);
    t.notMatch(saw, /\.2222: /, 'tcpdump on A saw no packet of it');
    t.notMatch((await srv).stdout, /accepted/);
  });

  await t.test('unasked ICMP echo replies from B are +inv and dropped', async (t) => {
    const before = await invCount(l);
    // The control: then A pings B, and B's echo reply to it, +est, takes the same path (B's
    // port, ct(), the table 1 decision) to A; A's capture ends on it.
    const control = new RegExp(`${esc(l.B)} > ${esc(l.A)}: ICMP echo reply, id (?!${STRAY_ID},)`);
    const cap = await watchUntilControl(l.hA, l.ifA, 'icmp[icmptype] = icmp-echoreply', control);
    const s = await nsRun(l.hB, ['timeout', '5', 'python3', '-c', strayEchoReplies(l.A)], 8_000);
    t.match(s.stdout, /sent 3/);
    const p = await pingEach(l.hA, l.B, 1);
    t.equal(p.loss, 0, `then A pings B: ${p.summary}`);
    const saw = await cap.done;
    t.match(saw, control, `the echo reply to A's ping, sent after them, reached A: ${saw.trim()}`);
    t.notMatch(saw, new RegExp(`id ${STRAY_ID},`), 'none reached A');
    t.equal((await invCount(l)) - before, 3, 'the +inv+trk drop flow counted the three');
  });
}
