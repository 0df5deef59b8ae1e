import t from 'tap';
import { variantFromEnv, verdicts, variantName, type Medians } from '../../bench/compare/compare';

/**
 * The comparison's second tvs ping pass (the variant): which `tvs start` arguments it runs with,
 * and that the latency goal is judged for both tvs runs, the default and the variant.
 */
t.test('variant: default --wake-ahead-us 0, TVS_BENCH_VARIANT overrides, empty turns it off, TVS_BENCH_SPIN_US is a shorthand', async (t) => {
  t.same(variantFromEnv({}), ['--wake-ahead-us', '0'], 'default: the sleeping switch');
  t.same(variantFromEnv({ TVS_BENCH_VARIANT: ' --spin-us 3000  --wake-ahead-us 0 ' }), ['--spin-us', '3000', '--wake-ahead-us', '0']);
  t.same(variantFromEnv({ TVS_BENCH_VARIANT: '' }), [], 'empty: no second pass');
  t.same(variantFromEnv({ TVS_BENCH_SPIN_US: '3000' }), ['--spin-us', '3000']);
  t.same(variantFromEnv({ TVS_BENCH_SPIN_US: '0' }), [], 'spin 0: no second pass, as before');
  t.same(variantFromEnv({ TVS_BENCH_VARIANT: '--wake-ahead-us 0', TVS_BENCH_SPIN_US: '3000' }), ['--wake-ahead-us', '0'], 'TVS_BENCH_VARIANT wins');
  t.equal(variantName(['--wake-ahead-us', '0']), 'tvs --wake-ahead-us 0');
});

t.test('verdicts: ping average and p99 goals for tvs and for its variant, steady state against OVS warm', async (t) => {
  const ovs = { pingAvgMs: 0.1, pingP99Ms: 0.2, 'warm.pingAvgMs': 0.1, 'warm.pingP99Ms': 0.2, 'udp64.deliveredPps': 1e5, tcpOffGbps: 1, tcpOnGbps: 1 };
  const tvs = {
    ...ovs,
    'udp64.lossPct': 0,
    'warm.pingAvgMs': 0.05, // 0.5×: met
    'warm.pingP99Ms': 0.1,
    idleCpuPct: 0,
    'variant.pingAvgMs': 0.09,
    'variant.pingP99Ms': 0.3,
    'variantWarm.pingAvgMs': 0.08, // 0.8×: not met
    'variantWarm.pingP99Ms': 0.25, // 1.25×: not met
    'variant.idleCpuPct': 0.1,
  };
  const m: Medians = { l2: { tvs, ovs } };
  const v = verdicts(m, 'tvs --wake-ahead-us 0');
  const row = (prefix: string) => v.find((x) => x.target.startsWith(prefix));
  const avg = row('ping average, tvs ÷');
  const p99 = row('ping p99, tvs ÷');
  const vavg = row('ping average, tvs --wake-ahead-us 0 ÷');
  const vp99 = row('ping p99, tvs --wake-ahead-us 0 ÷');
  t.ok(avg && p99 && vavg && vp99, 'both runs have both latency goal rows');
  t.equal(avg!.ratio, 0.5);
  t.equal(avg!.met, true);
  t.equal(p99!.met, true);
  t.ok(Math.abs(vavg!.ratio - 0.8) < 1e-9, `variant average 0.8× (${vavg!.ratio})`);
  t.equal(vavg!.goal, '≤ 0.6×');
  t.equal(vavg!.met, false);
  t.match(vavg!.margin, /cold start 0\.90×/, 'the variant\'s cold ratio beside its steady state');
  t.ok(Math.abs(vp99!.ratio - 1.25) < 1e-9, `variant p99 1.25× (${vp99!.ratio})`);
  t.equal(vp99!.met, false);
  t.ok(row('tvs --wake-ahead-us 0 CPU in the'), 'the variant\'s idle CPU is judged too');

  const none = verdicts({ l2: { tvs: Object.fromEntries(Object.entries(tvs).filter(([k]) => !k.startsWith('variant'))), ovs } });
  t.notOk(none.some((x) => x.target.includes('--wake-ahead-us')), 'no variant figures: no variant rows');
});
