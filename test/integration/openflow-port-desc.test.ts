/**
 * OpenFlow port descriptions carry each port's Ethernet address, as OVS's do: Open vSwitch's own
 * `ovs-ofctl -O OpenFlow13 show` / `dump-ports-desc` against a tvs bridge report, for an AF_PACKET
 * port (a veth whose other end is in a namespace) and a TAP port, the address `ip link` gives the
 * device — also after it changes —, for a router interface the router's MAC, and for ports with
 * no device (patch, vxlan, memory) a random locally administered unicast address that stays the
 * same, as OVS gives its patch and tunnel ports. A device's new address, its admin state and
 * its carrier are announced to the connected clients (`ovs-ofctl monitor`) by PORT_STATUS
 * messages with reason MODIFY, the same sequence OVS 3.1 sends (config PORT_DOWN, state
 * LINK_DOWN / LIVE), and port descriptions report them.
 */
import t from 'tap';
import * as path from 'path';
import { Lab, sh, uniqueName } from '../../lab/netns';
import { startDaemon, tvsOk, waitUntil } from '../../lab/daemon';
import { mgmtOfctlSkipReason, mgmtTarget, ofctl13, ofctlMonitor, type OfctlMonitor } from '../helpers/mgmt-ofctl';

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

/** Wait until `mon` hears a PORT_STATUS ADD of a memory port added after it started (it is connected then). */
async function connected(control: string, mon: OfctlMonitor): Promise<void> {
  let n = 0;
  await waitUntil(
    'ovs-ofctl monitor to hear a PORT_STATUS ADD',
    async () => {
      await tvsOk(control, ['add-port', 'br0', `m${n++}`, 'type=memory']);
      await new Promise((r) => setTimeout(r, 300));
      return /OFPT_PORT_STATUS.*ADD: \d+\(m\d+\)/.test(mon.out());
    },
    15_000,
    0,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; ovs-ofctl printed:\n${mon.out()}`);
  });
}

/** A port's config and state as ovs-ofctl prints them ("PORT_DOWN LINK_DOWN", "0 LIVE"), per port block of `out` naming `dev`. */
function portBits(out: string, dev: string, reason?: string): string[] {
  const head = reason === undefined ? '^ +' : `OFPT_PORT_STATUS \\(OF1\\.3\\) \\(xid=0x0\\): ${reason}: `;
  const re = new RegExp(`${head}\\d+\\(${dev}\\): addr:[0-9a-f:]{17}\\n +config: +(\\S+)\\n +state: +(\\S+)`, 'gm');
  return [...out.matchAll(re)].map((m) => `${m[1]} ${m[2]}`);
}

t.test('link down, up and carrier loss are announced as OVS 3.1 announces them, and port-desc shows them', { skip: why || false }, async (t) => {
  const lab = Lab.create(t);
  const sw = lab.netns('tvndsw');
  const peer = lab.netns('tvndpe');
  const v = lab.veth({ hostNs: sw, ns: peer });
  const d = await startDaemon(t, [], { ns: sw });
  await tvsOk(d.control, ['add-br', 'br0']);
  await tvsOk(d.control, ['add-port', 'br0', v.host]);
  const target = mgmtTarget(d.control, 'br0');
  const mon = ofctlMonitor(t, mgmtTarget(d.control, 'br0'), path.dirname(d.control), 65535);
  await connected(d.control, mon);
  t.same(portBits(await ofctl13(['show', target]), v.host), ['0 LIVE'], 'up with carrier: config 0, state LIVE');
  // Each step: the MODIFYs OVS 3.1 sent for it (config and state of each, in order), then the
  // state ovs-ofctl show and dump-ports-desc report.
  const steps: [string, string[], () => void, string][] = [
    ['ip link set down', ['0 0', 'PORT_DOWN LINK_DOWN'], () => sh(['ip', '-n', sw, 'link', 'set', 'dev', v.host, 'down']), 'PORT_DOWN LINK_DOWN'],
    // After more than a second: the kernel gives carrier with IFF_UP then (a change within a
    // second of the last one gets its carrier up to a second later, and OVS and tvs both
    // announce the state in between: 0 / LINK_DOWN, then 0 / LIVE).
    ['ip link set up', ['0 LIVE'], () => sh(['bash', '-c', `sleep 1.5 && ip -n ${sw} link set dev ${v.host} up`]), '0 LIVE'],
    ["carrier lost (the veth's peer down)", ['0 0', '0 LINK_DOWN'], () => sh(['ip', '-n', peer, 'link', 'set', 'dev', v.peer, 'down']), '0 LINK_DOWN'],
    ['carrier back', ['0 LIVE'], () => sh(['ip', '-n', peer, 'link', 'set', 'dev', v.peer, 'up']), '0 LIVE'],
  ];
  let seen = 0;
  for (const [what, mods, act, after] of steps) {
    act();
    const want = seen + mods.length;
    await waitUntil(`${what}: ${mods.length} PORT_STATUS MODIFY`, () => portBits(mon.out(), v.host, 'MOD').length >= want, 10_000).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500)); // and no more
    const got = portBits(mon.out(), v.host, 'MOD');
    t.same(got.slice(seen), mods, `${what}: MODIFY ${mods.map((m) => `(${m})`).join(' then ')}`);
    seen = got.length;
    t.same(portBits(await ofctl13(['show', target]), v.host), [after], `${what}: ovs-ofctl show says ${after}`);
    t.same(portBits(await ofctl13(['dump-ports-desc', target]), v.host), [after], `${what}: dump-ports-desc says ${after}`);
  }
  t.notMatch(mon.out(), /MOD: \d+\(m\d+\)/, 'nothing for the ports whose link did not change');
  t.comment(mon.out());
});

t.test('a device address that changes is announced: PORT_STATUS MODIFY at ovs-ofctl monitor', { skip: why || false }, async (t) => {
  const lab = Lab.create(t);
  const sw = lab.netns('tvndsw');
  const peer = lab.netns('tvndpe');
  const v = lab.veth({ hostNs: sw, ns: peer });
  const d = await startDaemon(t, [], { ns: sw });
  await tvsOk(d.control, ['add-br', 'br0']);
  await tvsOk(d.control, ['add-port', 'br0', v.host]);
  const mon = ofctlMonitor(t, mgmtTarget(d.control, 'br0'), path.dirname(d.control), 65535);
  await connected(d.control, mon);
  const ofport = new RegExp(`^ +(\\d+)\\(${v.host}\\): addr:`, 'm').exec(await ofctl13(['show', mgmtTarget(d.control, 'br0')]))?.[1];
  t.ok(ofport, `${v.host}'s port number (${ofport})`);
  sh(['ip', '-n', sw, 'link', 'set', 'dev', v.host, 'address', '02:5a:00:00:0d:02']);
  const want = new RegExp(`OFPT_PORT_STATUS \\(OF1\\.3\\) \\(xid=0x0\\): MOD: ${ofport}\\(${v.host}\\): addr:02:5a:00:00:0d:02`);
  await waitUntil('a PORT_STATUS MODIFY with the new address', () => want.test(mon.out()), 10_000).catch(() => undefined);
  t.match(mon.out(), want, `ovs-ofctl monitor printed the MODIFY with the new address:\n${mon.out()}`);
  t.notMatch(mon.out(), /MOD: \d+\(m\d+\)/, 'and nothing for the ports whose address did not change');
});
