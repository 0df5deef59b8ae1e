/**
 * The wakeup path of kernel ports (native/src/spinner.c, "Latency"): after traffic the addon sweeps
 * the other AF_PACKET rings and, with a spin budget, keeps polling for a while before it sleeps.
 * Checked on the wire: pings cross a switch in this process (two AF_PACKET ports on veths to two
 * namespaces), the spin runs while they flow, and stops when they stop — the idle switch spends
 * no time spinning. Root only.
 */
import t from 'tap';
import { setTimeout as sleep } from 'timers/promises';
import { bindingAvailable, loadBinding } from '../../src/io/binding';
import { setPollSpin, DEFAULT_SPIN_US } from '../../src/io/native-port';
import { startAfpacketBridge } from '../helpers/afpacket-bridge';
import { isRoot, haveCmd, Lab } from '../../lab/netns';
import { nsRun, pingLoss } from '../../lab/daemon';

const skip = !isRoot()
  ? 'needs root: creates namespaces and veth pairs'
  : !bindingAvailable()
    ? 'native addon not built (run make)'
    : !haveCmd('ping')
      ? 'needs ping'
      : false;

const NET = '10.213.0';

t.test('spin budget: pings cross while the switch spins; idle, it stops spinning', { skip }, async (t) => {
  const binding = loadBinding();
  t.teardown(() => setPollSpin(DEFAULT_SPIN_US));
  t.throws(() => binding.pollSpin!(-1), /0\.\.1000000/, 'a negative budget is refused');
  t.throws(() => binding.pollSpin!(Number.NaN), /0\.\.1000000/, 'NaN is refused');
  t.throws(() => setPollSpin(2e6), /0\.\.1000000/, 'too large a budget is refused before the addon');

  const lab = Lab.create(t);
  const h1 = lab.netns('tvnsp1');
  const h2 = lab.netns('tvnsp2');
  const v1 = lab.veth({ ns: h1, address: `${NET}.1/24` });
  const v2 = lab.veth({ ns: h2, address: `${NET}.2/24` });
  const sw = startAfpacketBridge(t, 3000, v1.host, v2.host);
  t.equal(binding.pollSpin!().spinUs, 3000, 'the switch option reached the addon');

  const before = binding.pollSpin!().spunMs;
  // 100 echoes 2 ms apart: each wakeup predicts the next frame within the budget, so the
  // switch keeps polling between them. -w (not -W): ping waits for every reply until the
  // deadline; with -W it gives the last echo only max(2 x the slowest RTT, the interval) and
  // counts a later reply as lost.
  const r = await nsRun(h1, ['ping', '-c', '100', '-i', '0.002', '-w', '10', `${NET}.2`]);
  t.equal(pingLoss(r.stdout), 0, `every echo crossed both ways: ${r.stdout.split('\n').find((l) => l.includes('loss')) ?? r.stderr}`);
  const during = binding.pollSpin!().spunMs - before;
  t.ok(during > 0, `the switch spun while frames came (${during.toFixed(1)} ms)`);

  // Traffic stopped: the window (at most the 3 ms budget) runs out, the process sleeps. A stray
  // frame (the namespaces' IPv6 router solicitations) wakes it for one short window (50 µs) each.
  await sleep(100);
  const settled = binding.pollSpin!().spunMs;
  await sleep(1000);
  const idle = binding.pollSpin!().spunMs - settled;
  t.ok(idle < 2, `idle: at most a few short windows in a second, not a spin (${idle.toFixed(3)} ms)`);

  // Budget 0: pings still cross (the sweep after each wakeup), and nothing spins.
  setPollSpin(0);
  sw.stop();
  startAfpacketBridge(t, 0, v1.host, v2.host);
  const s0 = binding.pollSpin!().spunMs;
  const r0 = await nsRun(h1, ['ping', '-c', '50', '-i', '0.002', '-w', '10', `${NET}.2`]);
  t.equal(pingLoss(r0.stdout), 0, 'with no spin every echo crossed too');
  t.equal(binding.pollSpin!().spunMs, s0, 'budget 0: no time spent spinning');
});
