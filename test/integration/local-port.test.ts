/**
 * A bridge's LOCAL port (OVS's bridge-named internal interface, OpenFlow port 0xfffe) against
 * real peers: `tvs add-br BR local_port=true` in the root namespace creates a TAP device named
 * BR with the bridge's MAC; the test moves that device into a namespace of its own (the switch's
 * fd stays valid) and gives it an address there, and a second namespace, on the same bridge
 * through a veth AF_PACKET port, pings it: first by NORMAL (the peer's ARP cache holds the
 * bridge's MAC, NORMAL learned it on LOCAL), then by two flows `in_port=LOCAL → veth` and
 * `in_port=veth → LOCAL` only (and with no flows, nothing passes). dump-ports, show, fdb-show
 * and trace name the port LOCAL; del-br removes the device; an existing interface of the
 * bridge's name is refused and left alone.
 */
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { haveCmd, isRoot, Lab, sh, uniqueName } from '../../lab/netns';
import { startDaemon, tvs, tvsOk } from '../../lab/daemon';

const NET = '10.231.41';

interface DumpPort {
  name: string;
  ofport: number;
  rx_packets: number;
  tx_packets: number;
}

const skip = !isRoot() ? 'needs root: creates namespaces, veth and TAP devices' : !haveCmd('ping') ? 'needs ping' : false;

t.test('LOCAL port: a TAP named after the bridge, pinged through NORMAL and through flows', { skip }, async (t) => {
  const lab = Lab.create(t);
  const nsLocal = lab.netns('tvnloc');
  const nsPeer = lab.netns('tvnlpe');
  const v = lab.veth({ ns: nsPeer, address: `${NET}.2/24`, hostPrefix: 'tvnlh', peerPrefix: 'tvnlp' });
  const br = uniqueName('tvnlbr');
  // Wherever the device is when the test ends (root namespace if the move failed; the namespace
  // goes with the lab), it is removed; the daemon closing its fd removes it as well.
  lab.adoptLink(br);
  const d = await startDaemon(t, ['--warm-up-frames', '0']);
  const c = (...a: string[]) => tvsOk(d.control, a);
  const ping = (count: number) =>
    sh(['ip', 'netns', 'exec', nsPeer, 'ping', '-c', String(count), '-i', '0.2', '-W', '1', '-q', `${NET}.1`], { allowFail: true, timeoutMs: 15_000 });
  const localCounters = async (): Promise<DumpPort> => {
    const r = JSON.parse(await c('--json', 'dump-ports', br)) as { ports: DumpPort[] };
    const p = r.ports.find((x) => x.ofport === 0xfffe);
    if (!p) throw new Error(`dump-ports ${br} lists no LOCAL port: ${JSON.stringify(r.ports)}`);
    return p;
  };

  await c('add-br', br, 'local_port=true');
  await c('add-port', br, v.host);

  // The device exists in the root namespace, a TAP, with the bridge's MAC, which is also the
  // low 48 bits of the bridge's default datapath id (OVS derives the id from that MAC).
  const link = JSON.parse(sh(['ip', '-d', '-j', 'link', 'show', 'dev', br]))[0] as { address: string; linkinfo?: { info_kind?: string } };
  t.equal(link.linkinfo?.info_kind, 'tun', `${br} is a tun/tap device`);
  const show = await c('show');
  const dpid = /datapath_id: ([0-9a-f]{16})/.exec(show.slice(show.indexOf(`Bridge ${br}`)))?.[1] ?? '';
  const mac = dpid.slice(4).match(/../g)?.join(':');
  t.equal(link.address, mac, `the TAP has the bridge's MAC (datapath id ${dpid})`);
  t.match(show, new RegExp(`Port ${br}\\n\\s+ofport: LOCAL, type: local, up`), 'show: the LOCAL port');
  if (haveCmd('ovs-ofctl')) {
    // OpenFlow 1.3 port description, as OVS lists its own bridge's LOCAL port.
    const mgmt = path.join(path.dirname(d.control), `${br}.mgmt`);
    for (let i = 0; i < 50 && !fs.existsSync(mgmt); i++) await new Promise((r) => setTimeout(r, 100));
    const of = sh(['ovs-ofctl', '-O', 'OpenFlow13', 'show', `unix:${mgmt}`], { timeoutMs: 10_000 });
    t.match(of, new RegExp(`LOCAL\\(${br}\\): addr:${mac}`), 'ovs-ofctl show: LOCAL(BRIDGE) with the bridge MAC');
  }

  // Into a namespace of the test's own, with an address there (never in the root namespace).
  sh(['ip', 'link', 'set', br, 'netns', nsLocal]);
  sh(['ip', '-n', nsLocal, 'addr', 'add', `${NET}.1/24`, 'dev', br]);
  sh(['ip', '-n', nsLocal, 'link', 'set', br, 'up']);

  // ---- NORMAL: the default flow.
  const before = await localCounters();
  const out1 = ping(5);
  t.match(out1, /5 packets transmitted, 5 received/, `NORMAL: ${nsPeer} pings ${NET}.1 on the LOCAL port`);
  const neigh = sh(['ip', '-n', nsPeer, 'neigh', 'show', `${NET}.1`]);
  t.match(neigh, new RegExp(`lladdr ${mac}`), "the peer resolved the LOCAL address to the bridge's MAC");
  const fdb = JSON.parse(await c('--json', 'fdb-show', br)) as { port: number; mac: string; portName?: string }[];
  t.ok(fdb.some((e) => e.port === 0xfffe && e.mac === mac && e.portName === br), 'NORMAL learned the bridge MAC on LOCAL (65534)');
  t.match(await c('fdb-show', br), new RegExp(`LOCAL\\s+0\\s+${mac}`), 'fdb-show prints the port as LOCAL');
  // trace: NORMAL's view of a frame from LOCAL to the peer's learned MAC.
  const peerMac = (JSON.parse(sh(['ip', '-n', nsPeer, '-j', 'link', 'show', 'dev', v.peer]))[0] as { address: string }).address;
  const nt = await c('trace', br, `in_port=LOCAL,dl_src=${mac},dl_dst=${peerMac}`);
  t.match(nt, new RegExp(`forwarding to learned port[\\s\\S]*${v.host} \\(untagged\\)`), `trace in_port=LOCAL through NORMAL\n${nt}`);
  const after = await localCounters();
  t.ok(after.rx_packets - before.rx_packets >= 5 && after.tx_packets - before.tx_packets >= 5, `LOCAL counters moved (rx +${after.rx_packets - before.rx_packets}, tx +${after.tx_packets - before.tx_packets})`);

  // ---- Flows only: LOCAL <-> the veth port, nothing else (ARP must cross them too).
  await c('del-flows', br);
  sh(['ip', '-n', nsPeer, 'neigh', 'flush', 'all']);
  sh(['ip', '-n', nsLocal, 'neigh', 'flush', 'all']);
  t.match(ping(1), /1 packets transmitted, 0 received/, 'no flows: nothing reaches the LOCAL port');
  await c('add-flow', br, `in_port=LOCAL,actions=output:${v.host}`);
  await c('add-flow', br, `in_port=${v.host},actions=output:LOCAL`);
  sh(['ip', '-n', nsPeer, 'neigh', 'flush', 'all']);
  const f0 = await localCounters();
  t.match(ping(5), /5 packets transmitted, 5 received/, 'flows in_port=LOCAL → veth and in_port=veth → LOCAL carry the ping');
  const f1 = await localCounters();
  t.ok(f1.rx_packets - f0.rx_packets >= 5 && f1.tx_packets - f0.tx_packets >= 5, `LOCAL counters moved (rx +${f1.rx_packets - f0.rx_packets}, tx +${f1.tx_packets - f0.tx_packets})`);
  const flows = await c('dump-flows', br);
  t.match(flows, /n_packets=([5-9]|\d\d+), .*in_port=LOCAL actions=output:/, `dump-flows: in_port=LOCAL counted\n${flows}`);
  t.match(flows, /n_packets=([5-9]|\d\d+), .* actions=LOCAL/, 'dump-flows: output to LOCAL counted (printed LOCAL, as ovs-ofctl)');
  t.match(await c('dump-ports', br), new RegExp(`port LOCAL "${br}": rx pkts=\\d+`), 'dump-ports prints the port as LOCAL');
  const trace = await c('trace', br, `in_port=LOCAL,dl_src=${mac},dl_dst=02:00:00:00:00:01`);
  t.match(trace, new RegExp(`in_port=LOCAL[\\s\\S]*${v.host}`), `trace from in_port=LOCAL reaches the veth port\n${trace}`);

  // ---- del-port refuses, del-br removes the device (from the namespace it was moved to).
  const del = await tvs(d.control, ['del-port', br, br]);
  t.equal(del.code, 1, 'del-port of the LOCAL port is refused');
  t.match(del.stderr, /local port for bridge/);
  await c('del-br', br);
  const gone = sh(['ip', '-n', nsLocal, 'link', 'show', 'dev', br], { allowFail: true });
  t.equal(gone, '', 'del-br removed the TAP device');

  // ---- An interface of the bridge's name exists: refused, the bridge not made, the interface kept.
  const other = lab.veth({ hostPrefix: 'tvnlx', peerPrefix: 'tvnly' });
  const r = await tvs(d.control, ['add-br', other.host, 'local_port=true']);
  t.equal(r.code, 1, 'add-br local_port=true on an existing interface name fails');
  t.match(r.stderr, /EEXIST: an interface of that name exists already/);
  t.notMatch(await c('show'), new RegExp(`Bridge ${other.host}\\b`), 'and adds no bridge');
  t.match(sh(['ip', 'link', 'show', 'dev', other.host]), /veth|state/, 'the existing interface is untouched');
});
