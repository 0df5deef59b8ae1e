/**
 * OpenFlow port descriptions carry each port's Ethernet address, as OVS's do: Open vSwitch's own
 * `ovs-ofctl -O OpenFlow13 show` / `dump-ports-desc` against a tvs bridge report, for an AF_PACKET
 * port (a veth whose other end is in a namespace) and a TAP port, the address `ip link` gives the
 * device — also after it changes —, for a router interface the router's MAC, and for ports with
 * no device (patch, vxlan, memory) a random locally administered unicast address that stays the
 * same, as OVS gives its patch and tunnel ports. A device's new address is announced to the
 * connected clients (`ovs-ofctl monitor`) by a PORT_STATUS with reason MODIFY, as OVS 3.1 does.
 */
import t from 'tap';
import { spawn } from 'child_process';
import * as path from 'path';
import { Lab, sh, uniqueName } from '../../lab/netns';
import { startDaemon, tvsOk, waitUntil } from '../../lab/daemon';
import { mgmtOfctlSkipReason, mgmtTarget, ofctl13 } from '../helpers/mgmt-ofctl';
import { stopProcess } from '../helpers/of-capture';

const why = mgmtOfctlSkipReason();

/** `ip link`'s address of an interface of namespace `ns`. */
function linkMac(ns: string, dev: string): string {
  const m = /link\/ether ([0-9a-f:]{17})/.exec(sh(['ip', '-n', ns, '-o', 'link', 'show', 'dev', dev]));
  if (!m) throw new Error(`no MAC for ${dev}`);
  return m[1];
}

/** Port name -> address, from `ovs-ofctl show` or `dump-ports-desc` (" 1(veth): addr:aa:bb:..."). */
function addrs(out: string): Map<string, string> {
  return new Map([...out.matchAll(/^ +(?:\d+|LOCAL)\(([^)]+)\): addr:([0-9a-f:]{17})$/gm)].map((m) => [m[1], m[2]]));
}

t.test('ovs-ofctl show: each port with its Ethernet address', { skip: why || false }, async (t) => {
  // The switch in a namespace of its own (sw), with a veth to a peer namespace and, for the
  // vxlan port's underlay, 203.0.113.1/24 on a veth whose both ends are in sw (the remote
  // 203.0.113.9 never answers ARP): nothing leaves the namespaces.
  const lab = Lab.create(t);
  const sw = lab.netns('tvndsw');
  const peer = lab.netns('tvndpe');
  const v = lab.veth({ hostNs: sw, ns: peer, address: '10.231.9.2/24' });
  lab.veth({ hostNs: sw, ns: sw, address: '203.0.113.1/24' });
  const d = await startDaemon(t, [], { ns: sw });
  const target = mgmtTarget(d.control, 'br0');
  const tap = uniqueName('tvndt');
  for (const c of [
    ['add-br', 'br0'],
    ['add-br', 'br1'],
    ['add-port', 'br0', v.host],
    ['add-port', 'br0', tap, 'type=tap'],
    ['add-port', 'br0', 'pa0', 'type=patch', 'peer=pb0'],
    ['add-port', 'br1', 'pb0', 'type=patch', 'peer=pa0'],
    ['add-port', 'br0', 'vx0', 'type=vxlan', 'remote_ip=203.0.113.9', 'local_ip=203.0.113.1'],
    ['add-port', 'br0', 'm0', 'type=memory'],
    ['add-router', 'r1'],
    ['router-add-port', 'r1', 'br0', 'qr-d', 'mac=02:52:00:00:0d:02', 'ip=10.231.10.1/24'],
  ]) await tvsOk(d.control, c);

  const show = addrs(await ofctl13(['show', target]));
  t.comment([...show].map(([n, a]) => `${n} ${a}`).join('; '));
  t.equal(show.get(v.host), linkMac(sw, v.host), `AF_PACKET port ${v.host}: the veth's address (ip link)`);
  t.equal(show.get(tap), linkMac(sw, tap), `TAP port ${tap}: the TAP device's address (ip link)`);
  t.equal(show.get('qr-d'), '02:52:00:00:0d:02', "a router interface: the router's MAC (an OVS internal port's)");
  const logical = ['pa0', 'vx0', 'm0'].map((n) => show.get(n) ?? 'missing');
  for (const [i, n] of ['pa0', 'vx0', 'm0'].entries()) {
    const first = parseInt(logical[i].slice(0, 2), 16);
    t.ok(logical[i] !== '00:00:00:00:00:00' && (first & 3) === 2, `${n} (no device): a locally administered unicast address (${logical[i]})`);
  }
  t.equal(new Set(logical).size, 3, 'each its own');

  // dump-ports-desc says the same; a second request gives the made-up addresses again.
  const desc = addrs(await ofctl13(['dump-ports-desc', target]));
  t.same([...desc].sort(), [...show].sort(), 'dump-ports-desc: the same addresses');

  // The device's address is read when asked: a change after add-port shows.
  sh(['ip', '-n', sw, 'link', 'set', 'dev', v.host, 'address', '02:5a:00:00:0d:01']);
  const after = addrs(await ofctl13(['show', target]));
  t.equal(after.get(v.host), '02:5a:00:00:0d:01', 'the new address after ip link set address');
  t.equal(after.get('pa0'), show.get('pa0'), 'the patch port keeps its address');
});

t.test('a device address that changes is announced: PORT_STATUS MODIFY at ovs-ofctl monitor', { skip: why || false }, async (t) => {
  const lab = Lab.create(t);
  const sw = lab.netns('tvndsw');
  const peer = lab.netns('tvndpe');
  const v = lab.veth({ hostNs: sw, ns: peer });
  const d = await startDaemon(t, [], { ns: sw });
  await tvsOk(d.control, ['add-br', 'br0']);
  await tvsOk(d.control, ['add-port', 'br0', v.host]);
  // Open vSwitch's own client, printing every asynchronous message the switch sends. With a
  // miss_send_len: OVS sends none to a management-socket connection that has not set one.
  // Its own control socket goes to OVS_RUNDIR: the daemon's private directory, not the system's.
  const mon = spawn('ovs-ofctl', ['-O', 'OpenFlow13', 'monitor', mgmtTarget(d.control, 'br0'), '65535'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, OVS_RUNDIR: path.dirname(d.control) },
  });
  t.teardown(() => stopProcess(mon));
  let out = '';
  mon.stdout.on('data', (b) => (out += b));
  mon.stderr.on('data', (b) => (out += b));
  // Connected once it hears a port added after it started (a PORT_STATUS ADD).
  let n = 0;
  await waitUntil(
    'ovs-ofctl monitor to hear a PORT_STATUS ADD',
    async () => {
      await tvsOk(d.control, ['add-port', 'br0', `m${n++}`, 'type=memory']);
      await new Promise((r) => setTimeout(r, 300));
      return /OFPT_PORT_STATUS.*ADD: \d+\(m\d+\)/.test(out);
    },
    15_000,
    0,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; ovs-ofctl printed:\n${out}`);
  });
  const ofport = new RegExp(`^ +(\\d+)\\(${v.host}\\): addr:`, 'm').exec(await ofctl13(['show', mgmtTarget(d.control, 'br0')]))?.[1];
  t.ok(ofport, `${v.host}'s port number (${ofport})`);
  sh(['ip', '-n', sw, 'link', 'set', 'dev', v.host, 'address', '02:5a:00:00:0d:02']);
  const want = new RegExp(`OFPT_PORT_STATUS \\(OF1\\.3\\) \\(xid=0x0\\): MOD: ${ofport}\\(${v.host}\\): addr:02:5a:00:00:0d:02`);
  await waitUntil('a PORT_STATUS MODIFY with the new address', () => want.test(out), 10_000).catch(() => undefined);
  t.match(out, want, `ovs-ofctl monitor printed the MODIFY with the new address:\n${out}`);
  t.notMatch(out, /MOD: \d+\(m\d+\)/, 'and nothing for the ports whose address did not change');
});
