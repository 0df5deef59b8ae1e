/**
 * Where the ovs-compat corpus (Neutron agent and firewall flows, OVS 3.1's dumps) is: it lives
 * outside the repository, in `shared/ovs-compat` beside the checkout (a CI clone has ../shared
 * next to it). A git worktree is usually not beside `shared/`, its main checkout is: so the
 * search goes on beside the main checkout (`git rev-parse --git-common-dir`'s parent), then up
 * from the checkout. TVS_OVS_COMPAT, when set, is the only place looked at.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface CorpusSearch {
  /** The corpus directory, or null when none of `looked` exists. */
  dir: string | null;
  /** The places looked at, in order (for the skip reason). */
  looked: string[];
}

/** The main checkout of the git repository `checkout` belongs to (itself unless a worktree), or null. */
function mainCheckout(checkout: string): string | null {
  try {
    const common = execFileSync('git', ['-C', checkout, 'rev-parse', '--git-common-dir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
    // Relative (".git") in the main checkout itself, absolute from a worktree.
    return common === '' ? null : dirname(resolve(checkout, common));
  } catch {
    return null; // not a git checkout (a tarball), or no git
  }
}

/** Find the corpus for the checkout at `checkout`; `env` is TVS_OVS_COMPAT's value. */
export function findOvsCompat(checkout: string, env: string | undefined = process.env.TVS_OVS_COMPAT): CorpusSearch {
  if (env !== undefined && env !== '') return { dir: existsSync(env) ? env : null, looked: [env] };
  const places = [join(dirname(checkout), 'shared', 'ovs-compat')];
  const main = mainCheckout(checkout);
  if (main !== null) places.push(join(dirname(main), 'shared', 'ovs-compat'));
  for (let d = dirname(checkout); d !== dirname(d); ) {
    d = dirname(d);
    places.push(join(d, 'shared', 'ovs-compat'));
  }
  const looked = [...new Set(places)];
  return { dir: looked.find((p) => existsSync(p)) ?? null, looked };
}

/** The skip reason of a corpus test when the corpus was not found ('' when it was). */
export function corpusSkipReason(s: CorpusSearch): string {
  return s.dir !== null ? '' : `corpus not found (looked in ${s.looked.join(', ')}; set TVS_OVS_COMPAT to its directory)`;
}
