/**
 * Wake-ahead (native/src/spinner.c, "Latency"; native/src/wakeahead.c): for periodic traffic the
 * addon wakes itself just before the next expected frame and polls for it. Checked on the wire:
 * pings 2 ms apart cross a switch in this process (two AF_PACKET ports on veths to two
 * namespaces), the addon learns their period and its predicted polls catch echoes; once the
 * pings stop it makes at most one more poll (the miss that stops it) and then sleeps; with a
 * budget of 0 it never polls. Root only.
 */
import t from 'tap';
import { setTimeout as sleep } from 'timers/promises';
import { bindingAvailable, loadBinding } from '../../src/io/binding';
import { setWakeAhead, DEFAULT_WAKE_AHEAD_US } from '../../src/io/native-port';
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

const NET = '10.214.0';

t.test('wake-ahead: periodic pings are caught by predicted polls; idle, it stops', { skip }, async (t) => {
  const binding = loadBinding();
  t.teardown(() => setWakeAhead(DEFAULT_WAKE_AHEAD_US));
  t.throws(() => binding.pollWakeAhead!(-1), /0\.\.1000000/, 'a negative budget is refused');
  t.throws(() => binding.pollWakeAhead!(Number.NaN), /0\.\.1000000/, 'NaN is refused');
  t.throws(() => setWakeAhead(2e6), /0\.\.1000000/, 'too large a budget is refused before the addon');

  const lab = Lab.create(t);
  const h1 = lab.netns('tvnwa1');
  const h2 = lab.netns('tvnwa2');
  const v1 = lab.veth({ ns: h1, address: `${NET}.1/24` });
  const v2 = lab.veth({ ns: h2, address: `${NET}.2/24` });
  const sw = startAfpacketBridge(t, 0, v1.host, v2.host);
  t.equal(binding.pollWakeAhead!().wakeAheadUs, DEFAULT_WAKE_AHEAD_US, 'on by default, with the default budget');

  // 300 echoes 2 ms apart (-w, not -W: see poll-spin.test.ts). By design the addon holds every
  // predicted poll while this process waits for its CPU (spinner.c, ahead_arm: a timer wakeup on a
  // busy CPU only adds lag), so a run in which the previous test's processes were still exiting
  // (CI: OVS right before this file) can catch nothing: such a run, and only such a run (every
  // poll held, none started), is repeated, at most three times in all.
  let before = binding.pollWakeAhead!();
  let r = await nsRun(h1, ['ping', '-c', '300', '-i', '0.002', '-w', '15', `${NET}.2`]);
  let during = binding.pollWakeAhead!();
  for (let attempt = 1; attempt < 3 && during.caught === before.caught && during.missed === before.missed && during.held > before.held; attempt++) {
    t.comment(`run ${attempt}: every predicted poll held (CPU contended: ${during.held - before.held} held), again after 2 s`);
    await sleep(2000);
    before = binding.pollWakeAhead!();
    r = await nsRun(h1, ['ping', '-c', '300', '-i', '0.002', '-w', '15', `${NET}.2`]);
    during = binding.pollWakeAhead!();
  }
  t.equal(pingLoss(r.stdout), 0, `every echo crossed both ways: ${r.stdout.split('\n').find((l) => l.includes('loss')) ?? r.stderr}`);
  t.ok(during.caught > before.caught, `predicted polls caught echoes (${during.caught - before.caught} caught, ${during.missed - before.missed} missed, ${during.held - before.held} held, period ${during.periodUs} µs, lead ${during.leadUs} µs)`);
  t.ok(during.periodUs > 1800 && during.periodUs < 2200, `the period learnt is the pings' 2 ms (${during.periodUs} µs)`);
  t.ok(during.leadUs > 0 && during.leadUs <= DEFAULT_WAKE_AHEAD_US, `the lead is within the budget (${during.leadUs} µs)`);
  const polled = during.polledMs - before.polledMs;
  t.ok(polled < 0.25 * 300 * 2, `the polls took at most a quarter of the time the pings ran (${polled.toFixed(1)} ms of ~600)`);

  // Traffic stopped: at most one poll more (the one whose frame never came), then none. A stray
  // frame (the namespaces' IPv6 router solicitations) is no period.
  await sleep(100);
  const settled = binding.pollWakeAhead!();
  await sleep(1000);
  const idle = binding.pollWakeAhead!();
  t.ok(idle.polledMs - settled.polledMs < 0.5, `idle: no predicted polls (${(idle.polledMs - settled.polledMs).toFixed(3)} ms in a second)`);
  t.equal(idle.caught + idle.missed, settled.caught + settled.missed, 'idle: no predicted poll started');

  // Budget 0: pings still cross, and nothing polls ahead.
  setWakeAhead(0);
  sw.stop();
  startAfpacketBridge(t, 0, v1.host, v2.host);
  t.equal(binding.pollWakeAhead!().wakeAheadUs, 0, 'budget 0 reached the addon');
  const s0 = binding.pollWakeAhead!();
  const r0 = await nsRun(h1, ['ping', '-c', '100', '-i', '0.002', '-w', '10', `${NET}.2`]);
  t.equal(pingLoss(r0.stdout), 0, 'with wake-ahead off every echo crossed too');
  const e0 = binding.pollWakeAhead!();
  t.equal(e0.polledMs, s0.polledMs, 'budget 0: no time spent in predicted polls');
  t.equal(e0.caught + e0.missed, s0.caught + s0.missed, 'budget 0: no predicted poll started');
});
