/**
 * The side-by-side bench's routed + NAT scenario (bench/compare, `nat`) forwards, and does the
 * same thing, on every switch it compares: tvs's router, the kernel router namespace, and the
 * OpenFlow router on OVS userspace (bench/compare/ovs-router-flows.ts). A comparison of switches
 * that do different work per packet — or that drop the load — measures nothing.
 *
 * Asserted at the hosts' real Linux stacks, as the bench's traffic goes:
 *   - h2 pings the floating IP: every echo answered, and h1 sees them DNATed (to 10.222.1.10);
 *   - h1 pings h2 (the bench's back-ping): h2 sees the floating IP as the source (SNAT);
 *   - a one-way UDP stream to the floating IP (the load, pacegen): h1 receives it — not only the
 *     first frame of each flow (OVS keeps a one-way stream's conntrack entry +new: a router that
 *     forwards only +est drops the rest).
 */
import t from 'tap';
import * as fs from 'fs';
import { isRoot, haveCmd } from '../../lab/netns';
import { pingEach } from '../../lab/daemon';
import { startCapture } from '../helpers/capture';
import { haveOvs } from '../helpers/ovs';
import { Lab, ADDR, makeSwitch, type SwitchKind } from '../../bench/compare/lab';
import { neighbourMac, runPacegen, PACEGEN } from '../../bench/compare/measure';
import { sh, nsx } from '../../bench/compare/sys';
import { bindingAvailable } from '../../src/io/binding';

const base = !isRoot()
  ? 'needs root: creates namespaces and veth devices'
  : !haveCmd('tcpdump') || !haveCmd('ping')
    ? 'needs tcpdump and ping'
    : !fs.existsSync(PACEGEN)
      ? 'pacegen not built (run make build)'
      : '';
const why: Record<SwitchKind, string> = {
  ovs: base || (haveOvs() ? '' : 'needs Open vSwitch (ovs-vswitchd, ovsdb-server, ovsdb-tool)'),
  tvs: base || (bindingAvailable() ? '' : 'native addon not built (run make)'),
  linux: base || (haveCmd('nft') ? '' : 'needs nft (the kernel router\'s NAT)'),
};

const a = ADDR.nat;
const rxPackets = (ns: string) => Number(sh(nsx(ns, ['cat', '/sys/class/net/eth0/statistics/rx_packets'])).trim());

for (const kind of ['ovs', 'tvs', 'linux'] as SwitchKind[]) {
  t.test(`nat scenario on ${kind}: DNAT to the fixed IP, SNAT to the floating IP, the one-way load delivered`, { skip: why[kind] || false }, async (t) => {
    const lab = new Lab('nat');
    const sw = makeSwitch(kind, lab);
    // The switch stops before its namespaces go, also when set-up failed half way.
    t.teardown(async () => {
      await sw.teardown().catch(() => undefined);
      lab.destroy();
    });
    lab.create();
    await sw.setup();

    // h2 → the floating IP: h1 receives the echoes with its fixed IP as the destination.
    const atH1 = await startCapture(lab.h1, 'eth0', 'icmp', 2);
    const toFip = await pingEach(lab.h2, a.fip, 2);
    t.equal(toFip.loss, 0, toFip.summary);
    const h1Saw = await atH1.done;
    t.match(h1Saw, new RegExp(`${a.h2.replace(/\./g, '\\.')} > ${a.h1.replace(/\./g, '\\.')}: ICMP echo request`), `h1 sees h2's echo DNATed to ${a.h1}:\n${h1Saw}`);

    // h1 → h2: h2 sees the floating IP as the source.
    const atH2 = await startCapture(lab.h2, 'eth0', 'icmp', 2);
    const out = await pingEach(lab.h1, a.h2, 2);
    t.equal(out.loss, 0, out.summary);
    const h2Saw = await atH2.done;
    t.match(h2Saw, new RegExp(`${a.fip.replace(/\./g, '\\.')} > ${a.h2.replace(/\./g, '\\.')}: ICMP echo request`), `h2 sees h1's echo SNATed to ${a.fip}:\n${h2Saw}`);
    t.notMatch(h2Saw, new RegExp(a.h1.replace(/\./g, '\\.')), 'the fixed IP never reaches the external network');

    // The load: 1000 frames over 16 source ports, one way, at 5 kpps (h2's neighbour entry for
    // the floating IP, from the pings, is the router's MAC, as in the bench). Most must arrive;
    // "most", not all: this is no loss measurement, and a loaded machine may drop a few.
    const frames = 1000;
    const before = rxPackets(lab.h1);
    const r = runPacegen(lab.h2, { dev: 'eth0', srcMac: lab.mac(lab.h2), dstMac: neighbourMac(lab.h2, a.fip), srcIp: a.h2, dstIp: a.fip, size: 64, ratePps: 5000, count: frames, seconds: 2 }, 15_000);
    await new Promise((res) => setTimeout(res, 300));
    const got = rxPackets(lab.h1) - before;
    t.ok(got >= 0.9 * r.sent, `h1 received ${got} frames of the ${r.sent} pacegen sent to the floating IP`);
  });
}
