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

/** Every flow read in one `ovs-ofctl parse-flows` run, or null when OVS refuses any of them. */
function readBatch(flows: string[], args: string[]): Reading[] | null {
  const dir = mkdtempSync(join(tmpdir(), 'tvs-oracle-'));
  try {
    const file = join(dir, 'flows');
    writeFileSync(file, flows.join('\n') + '\n');
    const out = execFileSync('ovs-ofctl', [...args, 'parse-flows', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const adds = [...out.matchAll(/FLOW_MOD \([^)]*\)(?: \([^)]*\))?: ADD (.*)$/gm)].map((m) => m[1].trim());
    return adds.length === flows.length ? adds.map((text) => ({ ok: true, text, args })) : null;
  } catch {
    return null; // some line refused
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * ovsReads() for many flows: one `ovs-ofctl parse-flows` run when OVS reads them all with the
 * default protocol; otherwise the halves apart, down to single lines (so a few refused lines
 * cost a few runs each, not one run per line of the file).
 */
export function ovsReadsMany(flows: string[], args?: string[]): Reading[] {
  if (flows.length === 0) return [];
  const all = readBatch(flows, args ?? []);
  if (all !== null) return all;
  if (flows.length === 1) return [ovsReads(flows[0], args)];
  const mid = flows.length >> 1;
  return [...ovsReadsMany(flows.slice(0, mid), args), ...ovsReadsMany(flows.slice(mid), args)];
}
