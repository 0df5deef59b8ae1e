/**
 * Acceptance of Neutron's openvswitch firewall flows (two VM ports on br-int and a security
 * group with remote-group conjunctions, rendered by src/neutron/firewall-flows.ts as the
 * driver renders them): a flow counts as accepted when tvs installs it AND `ovs-ofctl
 * parse-flow` (OVS 3.1) reads tvs's dump-flows line of it as the very flow it reads from the
 * original text — same table, priority, match, cookie and actions. The figure is printed.
 *
 * What is asserted, and why these thresholds:
 * - every flow that needs only features tvs has is accepted (100%): a refusal or a changed
 *   meaning there is a regression, nothing to tolerate;
 * - the flows needing conntrack (ct()/ct_state/ct_mark/ct_zone) or IPv6 fields are held to
 *   the same 100% per group once that group's feature parses on this tree; until then that
 *   group's assertion is skipped naming the missing feature (its flows are still counted);
 * - the figure, >= 95% of the whole set, is asserted once every group has landed.
 *   (Everything in this set is an L2/L3 switch flow OVS accepts, so the honest expectation is
 *   100%; 95% is the bar.)
 * Skipped when ovs-ofctl is not installed (the oracle is OVS itself).
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PacketArena } from '../../src/packet/arena';
import { FlowPipeline } from '../../src/flow/pipeline';
import { twoVmFlows } from '../fixtures/neutron-firewall';

function haveOfctl(): boolean {
  try {
    execFileSync('ovs-ofctl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** How OVS reads a flow: the text after "ADD " in parse-flow's FLOW_MOD line, or an error. */
function oracle(flow: string): { ok: true; text: string } | { ok: false; err: string } {
  try {
    const out = execFileSync('ovs-ofctl', ['parse-flow', flow], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const m = /FLOW_MOD \([^)]*\): ADD (.*)$/m.exec(out);
    return m ? { ok: true, text: m[1].trim() } : { ok: false, err: `unexpected output: ${out.trim()}` };
  } catch (e) {
    return { ok: false, err: String((e as { stderr?: string }).stderr ?? e).trim() };
  }
}

type Read = { ok: true; text: string } | { ok: false; err: string };

/**
 * oracle() for many flows in one `ovs-ofctl parse-flows` run (one process instead of hundreds);
 * when OVS refuses any line of the batch, each line is read on its own to say which.
 */
function oracleMany(flows: string[]): Read[] {
  const dir = mkdtempSync(join(tmpdir(), 'tvs-fw-'));
  try {
    const file = join(dir, 'flows');
    writeFileSync(file, flows.join('\n') + '\n');
    const out = execFileSync('ovs-ofctl', ['parse-flows', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const adds = [...out.matchAll(/FLOW_MOD \([^)]*\): ADD (.*)$/gm)].map((m) => m[1].trim());
    if (adds.length === flows.length) return adds.map((text) => ({ ok: true, text }));
  } catch {
    /* some line refused: fall through to one at a time */
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return flows.map(oracle);
}

const newPipeline = (): FlowPipeline =>
  new FlowPipeline({ arena: new PacketArena({ slots: 8, slotSize: 2048 }), resolvePort: () => -1, portName: () => undefined });

/** Which feature a flow needs beyond what tvs had before issue 13's ct/IPv6 work. */
function group(flow: string): 'ct' | 'ipv6' | 'base' {
  // A flow needing both IPv6 address fields and ct counts as IPv6: it installs once both have landed.
  if (/ipv6_|nd_target/.test(flow)) return 'ipv6';
  if (/ct_state=|ct_mark=|ct_zone=|ct\(|ct_clear/.test(flow)) return 'ct';
  if (/dl_type=0x86dd/.test(flow)) return 'ipv6';
  return 'base';
}

/** Does this tree parse the feature at all? (A probe, so a group is asserted once it lands.) */
function landed(g: 'ct' | 'ipv6' | 'base'): string | true {
  const probes: Record<string, string[]> = {
    base: [],
    ct: ['table=1,ct_state=+trk+est-rel,ct_mark=0x1,ct_zone=1,ip,actions=ct(commit,zone=NXM_NX_REG6[0..15],exec(set_field:0x1->ct_mark)),ct_clear'],
    ipv6: ['table=1,ipv6,ipv6_src=fd00::1/128,actions=drop', 'table=1,icmp6,icmp_type=136,nd_target=fe80::1,actions=drop'],
  };
  const p = newPipeline();
  for (const f of probes[g]) {
    try {
      p.addFlow(f);
    } catch (e) {
      return `${g === 'ct' ? 'ct()/ct_state/ct_mark/ct_zone' : 'IPv6 matches (ipv6_src, nd_target)'} not on this tree yet: ${(e as Error).message}`;
    }
  }
  return true;
}

t.test('Neutron openvswitch firewall flows: accepted by tvs with the same meaning as OVS 3.1', { skip: haveOfctl() ? false : 'ovs-ofctl (openvswitch-common) not installed: OVS is the oracle' }, async (t) => {
  const flows = twoVmFlows();
  t.ok(flows.length > 150, `the generator renders the two-port flow set (${flows.length} flows)`);
  const p = newPipeline();
  const tally = { base: { n: 0, ok: 0, bad: [] as string[] }, ct: { n: 0, ok: 0, bad: [] as string[] }, ipv6: { n: 0, ok: 0, bad: [] as string[] } };
  const wants = oracleMany(flows);
  const dumps: { g: (typeof tally)['base']; want: string; dumped: string }[] = [];
  flows.forEach((f, i) => {
    const g = tally[group(f)];
    g.n++;
    const want = wants[i];
    if (!want.ok) {
      // OVS refusing the driver's own flow would be a generator bug: fail loudly.
      t.fail(`OVS refuses a generated flow: ${f}\n  ${want.err}`);
      return;
    }
    let dumped: string;
    try {
      const { rule } = p.addFlow(f);
      dumped = p.formatInstalled(rule) ?? '';
    } catch (e) {
      g.bad.push(`refused: ${f}\n      ${(e as Error).message}`);
      return;
    }
    dumps.push({ g, want: want.text, dumped: dumped.trim() });
  });
  const gots = oracleMany(dumps.map((d) => d.dumped));
  dumps.forEach(({ g, want, dumped }, i) => {
    const got = gots[i];
    if (!got.ok) g.bad.push(`printed back as a line OVS refuses: ${dumped}\n      ${got.err}`);
    else if (got.text !== want) g.bad.push(`meaning differs:\n      OVS reads the flow as  ${want}\n      OVS reads tvs's dump   ${got.text}`);
    else g.ok++;
  });
  const pct = (ok: number, n: number): string => `${ok}/${n} (${n === 0 ? '-' : ((100 * ok) / n).toFixed(1)}%)`;
  const all = { n: tally.base.n + tally.ct.n + tally.ipv6.n, ok: tally.base.ok + tally.ct.ok + tally.ipv6.ok };
  t.comment(`accepted with the same meaning: ${pct(all.ok, all.n)} — base ${pct(tally.base.ok, tally.base.n)}, needs conntrack ${pct(tally.ct.ok, tally.ct.n)}, needs IPv6 ${pct(tally.ipv6.ok, tally.ipv6.n)}`);
  for (const [name, g] of Object.entries(tally)) for (const b of g.bad.slice(0, 12)) t.comment(`  [${name}] ${b}`);

  let allLanded = true;
  for (const name of ['base', 'ct', 'ipv6'] as const) {
    const l = landed(name);
    const g = tally[name];
    if (l !== true) {
      allLanded = false;
      t.test(`${name} flows: all accepted with the same meaning`, { skip: l }, async () => {});
      continue;
    }
    t.equal(g.ok, g.n, `${name} flows: all accepted with the same meaning (${pct(g.ok, g.n)})`);
  }
  if (allLanded) t.ok(all.ok / all.n >= 0.95, `the issue's bar: >= 95% of the firewall's flows (${pct(all.ok, all.n)})`);
  else t.test(`>= 95% of the firewall's flows (issue 13's bar)`, { skip: `conntrack or IPv6 matches not on this tree yet; now ${pct(all.ok, all.n)}` }, async () => {});
});
