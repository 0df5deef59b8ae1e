/**
 * OVS as the oracle for flow text: how `ovs-ofctl parse-flow` (OVS 3.1) reads a flow — the text
 * after "ADD " of its FLOW_MOD line. Two texts mean the same flow to OVS when these readings are
 * equal. Flows only OpenFlow 1.3 can carry (meter, some OXM-only actions) are read with
 * `-O OpenFlow13` when the default (NXM) refuses them; a comparison must then read both texts
 * the same way, so each reading says which protocol it used.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Reading = { ok: true; text: string; args: string[] } | { ok: false; err: string };

export function haveOfctl(): boolean {
  try {
    execFileSync('ovs-ofctl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function run(args: string[], flow: string): Reading {
  try {
    const out = execFileSync('ovs-ofctl', [...args, 'parse-flow', flow], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const m = /FLOW_MOD \([^)]*\)(?: \([^)]*\))?: ADD (.*)$/m.exec(out);
    return m ? { ok: true, text: m[1].trim(), args } : { ok: false, err: `unexpected output: ${out.trim()}` };
  } catch (e) {
    return { ok: false, err: String((e as { stderr?: string }).stderr ?? e).trim() };
  }
}

/** OVS's reading of one flow: NXM first, then OpenFlow 1.3 (or exactly `args` when given). */
export function ovsReads(flow: string, args?: string[]): Reading {
  if (args !== undefined) return run(args, flow);
  const r = run([], flow);
  if (r.ok || !/no usable protocol|usable protocols/.test(r.err)) return r;
  return run(['-O', 'OpenFlow13'], flow);
}

/**
 * ovsReads() for many flows with one `ovs-ofctl parse-flows` run when every line reads with the
 * default protocol; otherwise line by line.
 */
export function ovsReadsMany(flows: string[], args?: string[]): Reading[] {
  if (flows.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), 'tvs-oracle-'));
  try {
    const file = join(dir, 'flows');
    writeFileSync(file, flows.join('\n') + '\n');
    const a = args ?? [];
    const out = execFileSync('ovs-ofctl', [...a, 'parse-flows', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const adds = [...out.matchAll(/FLOW_MOD \([^)]*\)(?: \([^)]*\))?: ADD (.*)$/gm)].map((m) => m[1].trim());
    if (adds.length === flows.length) return adds.map((text) => ({ ok: true, text, args: a }));
  } catch {
    /* some line refused: fall through to one at a time */
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return flows.map((f) => ovsReads(f, args));
}
