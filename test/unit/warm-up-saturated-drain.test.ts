/**
 * After the start-up warm-up, a switch's first saturated drain — a port still full after
 * BURSTS_PER_WAKE (64) full receive bursts, so drain yields and comes back from setImmediate —
 * runs in drain's optimized code: no deoptimization. It did not: the warm-up's scratch ports held
 * one frame each and its switch was never started, so drain's exit for a saturated port had no
 * type feedback, and the first real saturation deoptimized drain ("Insufficient type feedback")
 * just as the load peaked; V8 then recompiled it on a helper thread beside the saturated datapath
 * thread (bench/results/README.md, "The switch's own stalls under load").
 *
 * Checked in a child node with the switch's own V8 flags and --allow-natives-syntax: the warm-up
 * runs, a fresh switch on the addon's scratch ports (the real AfPacketPort class, no device)
 * takes a few frames, drain is optimized (%OptimizeFunctionOnNextCall), then a port with more
 * frames than 64 full bursts is drained, then a short burst while saturated and one after the
 * calm period: drain must still be optimized, and --trace-deopt must name no deoptimization of it
 * or of anything else meanwhile.
 */
import t from 'tap';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { bindingAvailable } from '../../src/io/binding';
import { SWITCH_NODE_FLAGS } from '../../src/cli/node-flags';

const dist = path.resolve(__dirname, '../../src');
const req = (m: string) => `require(${JSON.stringify(path.join(dist, m))})`;

const child = `
const { warmUpDatapath } = ${req('datapath/warm-up.js')};
const { Switch, BURSTS_PER_WAKE, SATURATION_CALM_MS } = ${req('datapath/switch.js')};
const { AfPacketPort } = ${req('io/afpacket-port.js')};
const { loadBinding } = ${req('io/binding.js')};
const { parseFlow } = ${req('flow/ofctl-parse.js')};
const { synthesizeFrame } = ${req('flow/trace.js')};
const b = loadBinding();
// As the daemon's ports, on the addon's scratch ports: the same class and addon calls, no device.
const io = {
  open(name, arena, config) {
    if (config.type !== 'afpacket') return null;
    return new AfPacketPort(name, arena, { scratch: true, vnetHdr: true, ring: 'v2', txRing: true }, b);
  },
};
const frame = synthesizeFrame(parseFlow('udp,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,nw_src=10.9.0.1,nw_dst=10.9.0.2,tp_src=4000,tp_dst=9', 'match', { resolvePort: () => -1 }).match);
const back = synthesizeFrame(parseFlow('udp,dl_src=02:00:00:00:00:02,dl_dst=02:00:00:00:00:01,nw_src=10.9.0.2,nw_dst=10.9.0.1,tp_src=9,tp_dst=4000', 'match', { resolvePort: () => -1 }).match);
const drain = Switch.prototype.drain;
(async () => {
  const w = await warmUpDatapath();
  const sw = new Switch({ io, instance: 'test' });
  sw.addBridge('br0');
  const p1 = sw.addPort('br0', 'p1', { type: 'afpacket' });
  const p2 = sw.addPort('br0', 'p2', { type: 'afpacket' });
  sw.start();
  const burst = Math.min(256, sw.arena.smallSlots >> 2);
  const one = (p, f) => { if (b.scratchInject(p.io.handle, f, 1) !== 0) throw new Error('inject'); sw.drain(p); };
  // The first real frames (MAC learning both ways), as a trial's learning frames.
  for (let i = 0; i < 20; i++) { one(p1, frame); one(p2, back); }
  %PrepareFunctionForOptimization(drain);
  one(p1, frame);
  %OptimizeFunctionOnNextCall(drain);
  one(p1, frame);
  const before = %GetOptimizationStatus(drain);
  console.log('--- saturated drain ---');
  if (b.scratchInject(p1.io.handle, frame, (BURSTS_PER_WAKE + 2) * burst) !== 0) throw new Error('inject');
  sw.drain(p1);
  await new Promise((r) => setImmediate(r)); // the rest, drained from setImmediate
  // A short burst while saturated (the calm check), and one after the calm period (its end).
  one(p1, frame);
  const saturated = sw.isSaturated;
  await new Promise((r) => setTimeout(r, SATURATION_CALM_MS + 10));
  one(p1, frame);
  const calm = !sw.isSaturated;
  const after = %GetOptimizationStatus(drain);
  console.log(JSON.stringify({ warm: w.frames, before, after, saturated, calm, rx: p1.io.counters.rxPackets, tx: p2.io.counters.txPackets, burst, bursts: BURSTS_PER_WAKE }));
  sw.stop();
})().catch((e) => { console.error(e); process.exit(1); });
`;

/** V8's %GetOptimizationStatus bit for code optimized by TurboFan (runtime-test.cc, V8 11). */
const TURBOFANNED = 1 << 6;

t.test("a fresh switch's first saturated drain runs in drain's optimized code", { skip: bindingAvailable() ? false : 'the native addon is not built' }, async (t) => {
  const r = spawnSync(process.execPath, [...SWITCH_NODE_FLAGS, '--allow-natives-syntax', '--trace-deopt', '-e', child], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  t.equal(r.status, 0, `the child ran (${r.stderr.trim().slice(0, 300)})`);
  const out = JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('{"warm"')) ?? '{}');
  const during = r.stdout.slice(r.stdout.indexOf('--- saturated drain ---'));
  const deopts = [...during.matchAll(/deoptimizing [^<]*<JSFunction (\S+)[^\n]*/g)].map((m) => m[1]);
  const reasons = [...during.matchAll(/\[bailout \(kind: [^,]+, reason: ([^)]*)\): begin\. deoptimizing [^<]*<JSFunction drain /g)].map((m) => m[1]);
  t.ok(out.warm > 0, `the warm-up ran (${out.warm} frames)`);
  t.ok((out.before & TURBOFANNED) !== 0, `drain optimized before the saturated drain (status ${out.before})`);
  t.equal(out.rx, (out.bursts + 2) * out.burst + 24, 'the saturated port was drained to the end (the rest from setImmediate)');
  t.equal(out.tx, out.rx, 'every frame from p1 went out of p2');
  t.ok(out.saturated && out.calm, 'saturated after the full bursts, calm after the calm period');
  t.same(reasons, [], 'drain was not deoptimized');
  t.same(deopts, [], 'nothing was: NORMAL (its per-batch memo, hit only by bursts of several frames) neither');
  t.ok((out.after & TURBOFANNED) !== 0, `drain still optimized after 64 full bursts, a short one and the calm (status ${out.after}; deoptimized meanwhile: ${deopts.join(', ') || 'nothing'})`);
});
