/**
 * What `npm pack` ships is what runs: the compiled JavaScript and its declarations (main, types,
 * the `tvs` bin), the built N-API addon with its sources to rebuild it, and the QEMU ifup/ifdown
 * scripts users point QEMU at; no TypeScript source, tests, benches or demos. npm itself is the
 * peer: `npm pack --dry-run --json` lists the files it would put in the tarball.
 */
import t from 'tap';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const ADDON = 'native/build/Release/tvs_native.node';

/** Relative modules compiled JavaScript requires (tsc emits require("./x") for imports). */
function requiresOf(js: string): string[] {
  return [...js.matchAll(/\brequire\(\s*["'](\.[^"']+)["']\s*\)/g)].map((m) => m[1]);
}

function packed(): Set<string> {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  const [pack] = JSON.parse(out) as { files: { path: string }[] }[];
  return new Set(pack.files.map((f) => f.path));
}

t.test('npm pack: what runs, nothing that does not', async (t) => {
  const files = packed();
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { main: string; types: string; bin: Record<string, string> };
  for (const f of [pkg.main, pkg.types, ...Object.values(pkg.bin)]) t.ok(files.has(f), `${f} (package.json main/types/bin) is packed`);
  t.ok(files.has('scripts/tvs-ifup') && files.has('scripts/tvs-ifdown'), 'the QEMU ifup/ifdown scripts are packed');
  t.ok(files.has('native/binding.gyp') && files.has('native/src/addon.c'), 'the addon sources (to rebuild it) are packed');
  if (fs.existsSync(path.join(ROOT, ADDON))) t.ok(files.has(ADDON), 'the built addon is packed (N-API: one build runs on every Node >= 20)');
  const source = [...files].filter((f) => (f.endsWith('.ts') && !f.endsWith('.d.ts')) || f.endsWith('.js.map') || /^(test|bench|lab|dist\/test|dist\/bench|dist\/lab|dist\/scripts)\//.test(f) || /^scripts\/.*\.(ts|js)$/.test(f));
  t.same(source, [], 'no TypeScript source, source maps, tests, benches or demos');

  // Every file the packed JavaScript requires is in the package too.
  const missing: string[] = [];
  for (const f of files) {
    if (!f.endsWith('.js')) continue;
    for (const spec of requiresOf(fs.readFileSync(path.join(ROOT, f), 'utf8'))) {
      const base = path.posix.join(path.posix.dirname(f), spec);
      if (![base, `${base}.js`, `${base}/index.js`].some((c) => files.has(c))) missing.push(`${f} -> ${spec}`);
    }
  }
  t.same(missing, [], 'every relative require of the packed JavaScript resolves inside the package');
  const binding = fs.readFileSync(path.join(ROOT, 'dist/src/io/binding.js'), 'utf8');
  t.match(binding, /'\.\.\/\.\.\/\.\.\/native\/build\/Release\/tvs_native\.node'/, 'the addon is loaded from the packed path');
});
