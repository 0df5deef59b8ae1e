/**
 * A minimal stateful firewall on the wire: two Linux hosts in namespaces on br-int, a real
 * `tvs start` daemon, and the flow set
 *
 *   table=0  ip                                  -> ct(table=1,zone=1)
 *   table=1  ct_state=+trk+new,tcp,tp_dst=22     -> ct(commit,zone=1),NORMAL
 *   table=1  ct_state=+trk+est                   -> NORMAL
 *   table=1  anything else                       -> drop
 *
 * TCP 22 from h1 connects and its data comes back (return traffic is +est); a SYN to port 80
 * never reaches h2 (tcpdump on h2 sees nothing); `tvs dump-conntrack` lists the connection.
 * Needs root (namespaces, veth, AF_PACKET).
 */
import t from 'tap';
import { isRoot, haveCmd, Lab } from '../../lab/netns';
import { startDaemon, tvsOk, nsRun, waitListening } from '../../lab/daemon';
import { watchUntilControl } from '../helpers/capture';
import { bindingAvailable } from '../../src/io/binding';

const why = !isRoot()
  ? 'needs root: creates namespaces and veth devices'
  : !bindingAvailable()
    ? 'native addon not built (run make)'
    : !haveCmd('tcpdump') || !haveCmd('python3')
      ? 'needs tcpdump and python3 (make test installs them)'
      : '';

const NET = '10.213.0';

/** h2's server: accepts on 22 and 80, echoes what it reads, logs each accept; exits after 20 s. */
const SERVER = `
import socket, select, sys, time
ls = []
for p in (22, 80):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('${NET}.2', p)); s.listen(8); ls.append(s)
end = time.time() + 20
conns = []
while time.time() < end:
    r, _, _ = select.select(ls + conns, [], [], 0.2)
    for s in r:
        if s in ls:
            c, a = s.accept(); conns.append(c)
            print('accepted', s.getsockname()[1], a[0], flush=True)
        else:
            d = s.recv(4096)
            if d: s.sendall(d)
            else: conns.remove(s); s.close()
`;

/**
 * h1's client: port 22 echo, then port 80 with a 2 s connect timeout, then the control: one
 * more port 22 connection from source port 40999, whose SYN ends h2's capture.
 */
const CLIENT = `
import socket
s = socket.create_connection(('${NET}.2', 22), timeout=5)
s.sendall(b'hello through conntrack')
print('22 echo', s.recv(100).decode(), flush=True)
s.close()
# Bulk both ways (window scaling, TSO super-frames): every byte must come back.
import threading
b = socket.create_connection(('${NET}.2', 22), timeout=10)
blob = bytes(range(256)) * 2000
threading.Thread(target=b.sendall, args=(blob,)).start()
got = 0
while got < len(blob):
    d = b.recv(65536)
    if not d: break
    got += len(d)
print('22 bulk', got, flush=True)
b.close()
try:
    socket.create_connection(('${NET}.2', 80), timeout=2)
    print('80 connected', flush=True)
except Exception as e:
    print('80 failed', type(e).__name__, flush=True)
c = socket.socket()
c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
c.bind(('${NET}.1', 40999))
c.settimeout(5)
c.connect(('${NET}.2', 22))
print('22 control', flush=True)
c.close()
`;

t.test('stateful firewall: TCP 22 connects and replies pass, TCP 80 never reaches the server', { skip: why || false }, async (t) => {
  const lab = Lab.create(t);
  const h1 = lab.netns('tvcth1');
  const h2 = lab.netns('tvcth2');
  const v1 = lab.veth({ ns: h1, address: `${NET}.1/24` });
  const v2 = lab.veth({ ns: h2, address: `${NET}.2/24` });
  const d = await startDaemon(t);
  await tvsOk(d.control, ['add-br', 'br-int']);
  await tvsOk(d.control, ['add-port', 'br-int', v1.host]);
  await tvsOk(d.control, ['add-port', 'br-int', v2.host]);
  await tvsOk(d.control, ['del-flows', 'br-int']);
  for (const f of [
    'table=0,priority=10,ip,actions=ct(table=1,zone=1)',
    'table=0,priority=0,actions=NORMAL', // ARP
    'table=1,priority=10,ct_state=+trk+new,tcp,tp_dst=22,actions=ct(commit,zone=1),NORMAL',
    'table=1,priority=10,ct_state=+trk+est,ip,actions=NORMAL',
    'table=1,priority=0,actions=drop',
  ]) {
    await tvsOk(d.control, ['add-flow', 'br-int', f]);
  }

  const server = nsRun(h2, ['timeout', '25', 'python3', '-c', SERVER], 30_000);
  await waitListening(h2, 22);
  await waitListening(h2, 80);
  // h2 must see no port 80 segment. The control is the client's last SYN, to port 22 from
  // source port 40999: the same ingress port, ct() and table 1 decision, admitted; the capture ends on it.
  const control = new RegExp(`${NET.replace(/\./g, '\\.')}\\.1\\.40999 > ${NET.replace(/\./g, '\\.')}\\.2\\.22: Flags \\[S\\]`);
  const cap = await watchUntilControl(h2, v2.peer, 'tcp port 80 or tcp src port 40999', control);
  const client = await nsRun(h1, ['timeout', '15', 'python3', '-c', CLIENT], 20_000);
  t.match(client.stdout, /22 echo hello through conntrack/, `TCP 22 connects and the reply passes: ${client.stdout}${client.stderr}`);
  t.match(client.stdout, /22 bulk 512000/, 'a 512 kB echo both ways passes the window tracking');
  t.match(client.stdout, /80 failed/, 'TCP 80 does not connect');
  t.match(client.stdout, /22 control/, 'then a third connection to 22 does');

  const dump = await tvsOk(d.control, ['dump-conntrack', 'br-int', 'zone=1']);
  t.match(
    dump,
    new RegExp(`^tcp,orig=\\(src=${NET}\\.1,dst=${NET}\\.2,sport=\\d+,dport=22\\),reply=\\(src=${NET}\\.2,dst=${NET}\\.1,sport=22,dport=\\d+\\),zone=1,protoinfo=\\(state=[A-Z_]+\\)$`, 'm'),
    `dump-conntrack lists the connection: ${dump}`,
  );
  t.notMatch(dump, /dport=80/, 'nothing committed for port 80');

  const seen = await cap.done;
  t.match(seen, control, `the control SYN, sent after, reached h2: ${seen.trim()}`);
  t.notMatch(seen, /\.80[:>]? /, 'tcpdump on h2 saw no TCP port 80 packet');
  const srv = await server;
  t.match(srv.stdout, /accepted 22 /, 'the server accepted on 22');
  t.notMatch(srv.stdout, /accepted 80 /, 'and never on 80');

  const flows = await tvsOk(d.control, ['dump-flows', 'br-int']);
  t.match(flows, /n_packets=[1-9]\d*, n_bytes=\d+, idle_age=\d+, priority=10,ct_state=\+new\+trk,tcp,tp_dst=22 actions=ct\(commit,zone=1\),NORMAL/, 'the commit flow counted the SYN');
  t.match(flows, /n_packets=[1-9]\d*, n_bytes=\d+, idle_age=\d+, priority=0 actions=drop/, 'the port 80 SYNs met the drop');
  t.match(await tvsOk(d.control, ['flush-conntrack', 'br-int']), /^flushed 3 connections/);
});
