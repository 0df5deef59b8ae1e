/**
 * The layering rule, checked on the source tree itself: imports point one way,
 *   wire <- packet <- {flow, l2, l3, io} <- datapath <- control <- cli
 * (a folder may import its own files and any LOWER layer; the four middle stages do not import
 * each other), and no files of src/ import each other in a loop. Type-only and lazy (require /
 * import()) imports count: they tie the files together just the same. Around src/, the tree's
 * folders point one way too: src/ imports nothing outside itself, lab/ (what tests and benches
 * share) only src/, and benches and scripts never import test code.
 */
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const SRC = path.join(ROOT, 'src');

/**
 * Layer of each top-level folder of src/ (higher imports lower). src/index.ts is the public face,
 * above all. neutron/ writes the flows Neutron's agents would send a switch: a client of the
 * switch like the CLI, so nothing below the public face may import it.
 */
const LAYER: Record<string, number> = { wire: 0, packet: 1, flow: 2, l2: 2, l3: 2, io: 2, datapath: 3, control: 4, openflow: 4, cli: 5, neutron: 5, '.': 6 };

/**
 * Cycles tolerated for now, each with the reason. Keep this empty: an entry is a debt with a
 * name on it, removed when the code is.
 */
const PENDING_CYCLES: string[][] = [];

type Graph = Map<string, string[]>;

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Relative module specifiers a TypeScript file imports (static, type-only, re-export, require, import()). */
export function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const specs: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\b(?:require|import)\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (let m = re.exec(code); m !== null; m = re.exec(code)) if (m[1].startsWith('.')) specs.push(m[1]);
  return specs;
}

/** Files (relative to ROOT, posix) that `abs` imports with a relative specifier, resolved to .ts files. */
function resolvedImports(abs: string): string[] {
  const to = new Set<string>();
  for (const spec of importsOf(fs.readFileSync(abs, 'utf8'))) {
    const base = path.resolve(path.dirname(abs), spec);
    const hit = [base + '.ts', path.join(base, 'index.ts')].find((c) => fs.existsSync(c));
    if (hit) to.add(path.relative(ROOT, hit).split(path.sep).join('/'));
  }
  return [...to].sort();
}

/**
 * What each top-level folder may import besides itself: tests anything; benches, scripts and
 * lab/ never test code (a bench must run without the test tree, and test helpers change with the
 * tests); src/ nothing outside itself (it is the package).
 */
const MAY_IMPORT: Record<string, readonly string[]> = {
  src: [],
  lab: ['src'],
  bench: ['src', 'lab'],
  scripts: ['src', 'lab'],
  test: ['src', 'lab', 'bench', 'scripts'],
};

/** Imports across top-level folders that MAY_IMPORT does not allow: "bench/x.ts -> test/helpers/y.ts". */
export function foreignImports(files: Map<string, string[]>, may: Record<string, readonly string[]>): string[] {
  const bad: string[] = [];
  const top = (f: string) => f.slice(0, f.indexOf('/'));
  for (const [from, tos] of files) {
    for (const to of tos) if (top(to) !== top(from) && !(may[top(from)] ?? []).includes(top(to))) bad.push(`${from} -> ${to}`);
  }
  return bad;
}

/** The import graph of src/: file (relative to src/, posix) -> files it imports. */
function srcGraph(): Graph {
  const g: Graph = new Map();
  for (const abs of listFiles(SRC)) {
    const from = path.relative(SRC, abs).split(path.sep).join('/');
    const to = new Set<string>();
    for (const spec of importsOf(fs.readFileSync(abs, 'utf8'))) {
      const base = path.resolve(path.dirname(abs), spec);
      const hit = [base + '.ts', path.join(base, 'index.ts')].find((c) => fs.existsSync(c));
      if (hit && hit.startsWith(SRC + path.sep)) to.add(path.relative(SRC, hit).split(path.sep).join('/'));
    }
    g.set(from, [...to].sort());
  }
  return g;
}

function layerOf(file: string): string {
  const i = file.indexOf('/');
  return i < 0 ? '.' : file.slice(0, i);
}

/** Imports that do not point down: "a.ts -> b.ts (flow -> datapath)". */
export function upwardImports(g: Graph, layer: Record<string, number>): string[] {
  const bad: string[] = [];
  for (const [from, tos] of g) {
    const lf = layerOf(from);
    for (const to of tos) {
      const lt = layerOf(to);
      if (lf === lt) continue;
      if (layer[lf] === undefined || layer[lt] === undefined || layer[lf] <= layer[lt]) bad.push(`${from} -> ${to} (${lf} -> ${lt})`);
    }
  }
  return bad;
}

/** Every set of files that import each other in a loop (Tarjan's strongly connected components), sorted. */
export function cycles(g: Graph): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (g.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of [...g.keys()].sort()) if (!idx.has(v)) visit(v);
  return out.sort((a, b) => a[0].localeCompare(b[0]));
}

t.test('layers: the checker finds upward imports, sibling imports and cycles', async (t) => {
  t.same(importsOf(`import { a } from './a';\nimport type { B } from "../b/b";\nexport { c } from './c';\nimport {\n  d,\n} from '../d';\nconst e = require('../e/e');\ntype F = import('./f').F;\n// import { x } from './commented';\nimport * as os from 'os';`), [
    './a',
    '../b/b',
    './c',
    '../d',
    '../e/e',
    './f',
  ]);
  const g: Graph = new Map([
    ['flow/x.ts', ['datapath/y.ts', 'packet/p.ts', 'l2/n.ts']],
    ['datapath/y.ts', ['flow/x.ts', 'datapath/z.ts']],
    ['datapath/z.ts', ['datapath/y.ts']],
    ['packet/p.ts', ['wire/w.ts']],
    ['wire/w.ts', []],
    ['l2/n.ts', []],
  ]);
  t.same(upwardImports(g, LAYER), ['flow/x.ts -> datapath/y.ts (flow -> datapath)', 'flow/x.ts -> l2/n.ts (flow -> l2)']);
  t.same(cycles(g), [['datapath/y.ts', 'datapath/z.ts', 'flow/x.ts']]);
  t.same(cycles(new Map([['a.ts', ['a.ts']]])), [['a.ts']], 'a file importing itself');
});

t.test('layers: src/ imports point one way (wire <- packet <- {flow, l2, l3, io} <- datapath <- control <- cli)', async (t) => {
  const g = srcGraph();
  t.ok(g.size > 50, `read the source tree (${g.size} files)`);
  const folders = new Set([...g.keys()].map(layerOf));
  t.same([...folders].filter((f) => LAYER[f] === undefined), [], 'every folder of src/ has a layer');
  t.same(upwardImports(g, LAYER), [], 'no import points up or sideways');
});

t.test('layers: benches, scripts and lab/ import no test code; src/ nothing outside itself', async (t) => {
  t.same(
    foreignImports(new Map([['bench/b.ts', ['test/helpers/f.ts', 'src/wire/w.ts', 'lab/l.ts']], ['src/x.ts', ['lab/l.ts']], ['test/u.ts', ['bench/b.ts']]]), MAY_IMPORT),
    ['bench/b.ts -> test/helpers/f.ts', 'src/x.ts -> lab/l.ts'],
    'the checker',
  );
  const files = new Map<string, string[]>();
  for (const dir of Object.keys(MAY_IMPORT)) {
    if (!fs.existsSync(path.join(ROOT, dir))) continue;
    for (const abs of listFiles(path.join(ROOT, dir))) files.set(path.relative(ROOT, abs).split(path.sep).join('/'), resolvedImports(abs));
  }
  t.ok([...files.keys()].some((f) => f.startsWith('bench/')), 'read bench/');
  t.same(foreignImports(files, MAY_IMPORT), [], 'no import crosses the folders the wrong way');
});

t.test('layers: no files of src/ import each other in a loop', async (t) => {
  const found = cycles(srcGraph());
  const pending = new Set(PENDING_CYCLES.map((c) => c.slice().sort().join(' ')));
  t.same(
    found.filter((c) => !pending.has(c.join(' '))),
    [],
    'no cycles',
  );
  const stale = PENDING_CYCLES.filter((c) => !found.some((f) => f.join(' ') === c.slice().sort().join(' ')));
  t.same(stale, [], 'every pending cycle still exists (remove the entry when it is gone)');
});
