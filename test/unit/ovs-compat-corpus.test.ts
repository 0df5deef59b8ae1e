/**
 * Acceptance over the ovs-ofctl compatibility corpus (Neutron agent and firewall flows): how many
 * of the flow lines tvs installs, split by whether they need connection tracking in the flow
 * tables (lines without actions are filters, used to select). Counted, not assumed: the
 * figures are printed as test comments for the issue notes.
 * The corpus lives outside the repository; set TVS_OVS_COMPAT to its directory (default
 * ../shared/ovs-compat next to the checkout). Skipped when it is absent.
 */
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PacketArena } from '../../src/packet/arena';
import { FlowPipeline } from '../../src/flow/pipeline';

const DIR = process.env.TVS_OVS_COMPAT ?? resolve(__dirname, '../../../../shared/ovs-compat');
const FILES = ['firewall.flows', 'agent-ofctl.flows', 'agent-native.flows', 'agent-dumps.flows'];

/** Lines that need conntrack in the flow tables (issue item 1), which tvs does not have yet. */
const NEEDS_CT = /(^|[,\s])ct_(state|zone|mark|label|nw_src|nw_dst|nw_proto|tp_src|tp_dst)=|(^|[,=:\s])ct\(|ct_clear|,ct\)/;

interface Tally {
  total: number;
  ok: number;
  failures: string[];
}

function tallyFile(text: string): { ct: Tally; plain: Tally; conj: Tally; conjAll: number } {
  const names = new Map<string, number>();
  const arena = new PacketArena({ slots: 8, slotSize: 2048 });
  // Every port name the flows mention exists on the bridge (numbered in order of appearance).
  const p = new FlowPipeline({
    arena,
    resolvePort: (n) => {
      if (!names.has(n)) names.set(n, 100 + names.size);
      return names.get(n)!;
    },
    portName: () => undefined,
  });
  const mk = (): Tally => ({ total: 0, ok: 0, failures: [] });
  const r = { ct: mk(), plain: mk(), conj: mk(), conjAll: 0 };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const ct = NEEDS_CT.test(line);
    const bucket = ct ? r.ct : r.plain;
    if (/conjunction\(|conj_id=/.test(line)) r.conjAll++;
    const conj = !ct && /conjunction\(|conj_id=/.test(line);
    bucket.total++;
    if (conj) r.conj.total++;
    try {
      // A line without actions is a del-flows/dump-flows filter (`cookie=X/-1,...`): select with it.
      if (/(^|[\s,])actions?=/.test(line)) p.addFlow(line);
      else p.select(line);
      bucket.ok++;
      if (conj) r.conj.ok++;
    } catch (e) {
      bucket.failures.push(`${line}\n    -> ${(e as Error).message}`);
      if (conj) r.conj.failures.push(`${line}\n    -> ${(e as Error).message}`);
    }
  }
  return r;
}

const pct = (x: Tally): string => (x.total === 0 ? '-' : `${x.ok}/${x.total} (${((100 * x.ok) / x.total).toFixed(1)}%)`);

t.test('ovs-compat corpus: flow lines tvs installs, by file, needs-ct vs not', { skip: existsSync(DIR) ? false : `corpus not found at ${DIR} (set TVS_OVS_COMPAT)` }, async (t) => {
  const all = { ct: { total: 0, ok: 0 }, plain: { total: 0, ok: 0 } };
  for (const f of FILES) {
    const path = join(DIR, f);
    if (!existsSync(path)) {
      t.comment(`${f}: missing`);
      continue;
    }
    const r = tallyFile(readFileSync(path, 'utf8'));
    t.comment(`${f}: needs ct ${pct(r.ct)}; no ct ${pct(r.plain)}; of which conjunction/conj_id ${pct(r.conj)} (${r.conjAll} such lines in all)`);
    for (const x of r.plain.failures.slice(0, 40)) t.comment(`  refused (no ct): ${x}`);
    all.ct.total += r.ct.total;
    all.ct.ok += r.ct.ok;
    all.plain.total += r.plain.total;
    all.plain.ok += r.plain.ok;
    // The conjunction flows that need no conntrack must all install (this engine has them).
    t.same(r.conj.failures, [], `${f}: every conjunction/conj_id flow without ct installs`);
  }
  t.comment(`all files: needs ct ${pct({ ...all.ct, failures: [] })}; no ct ${pct({ ...all.plain, failures: [] })}`);
  t.ok(all.ct.total + all.plain.total > 0, 'the corpus has flow lines');
});
