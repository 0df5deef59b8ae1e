/**
 * Config mutation generator (no root: memory ports). A realistic config — bridges with access,
 * trunk and patch ports, VLAN-translation flows, two routers with gateway, routes, SNAT and
 * floating IPs, two DHCP networks with bindings — is mutated by a seeded generator into 240
 * variants (bad types, ranges, non-canonical and out-of-subnet addresses, broadcast/multicast
 * MACs, duplicated and swapped names, deleted keys and elements, unknown keys, deep nesting).
 * Each variant goes to a real daemon with `tvs reload FILE`; it must be either accepted or
 * refused with exit status 1 and a message that names a path in the file (`routers[0].ports[1].ip: …`).
 * After every refusal, what `tvs show`, `dump-flows`, `router-show` and `nat-show` print must be
 * identical to before (flow durations may only grow: a flow deleted and re-added would restart
 * its duration). An accepted variant is undone by reloading the base file, which must succeed.
 *
 * The verbs run through the CLI's own entry point (`main`, in this process, to keep 240 variants
 * under two minutes); the first and last snapshots also run as separate `tvs` processes.
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startDaemon, tvs } from '../../lab/daemon';
import { main } from '../../src/cli/tvs';

const VARIANTS = 220; // random ones, after the targeted ones below
const SEED = 0x7e57c0de;

const BASE = {
  macAgingSec: 300,
  bridges: [
    {
      name: 'br-int',
      macTableSize: 4096,
      ports: [
        { name: 'vm-a1', type: 'memory', tag: 1 },
        { name: 'vm-a2', type: 'memory', tag: 1 },
        { name: 'vm-b1', type: 'memory', tag: 2 },
        { name: 'int-br-eth1', type: 'patch', peer: 'phy-br-eth1' },
      ],
      flows: [
        'table=0,priority=3,in_port=int-br-eth1,dl_vlan=101,actions=mod_vlan_vid:1,NORMAL',
        'table=0,priority=3,in_port=int-br-eth1,dl_vlan=102,actions=mod_vlan_vid:2,NORMAL',
        'table=0,priority=2,in_port=int-br-eth1,actions=drop',
        'table=0,priority=0,actions=NORMAL',
      ],
    },
    {
      name: 'br-eth1',
      ports: [
        { name: 'phy-br-eth1', type: 'patch', peer: 'int-br-eth1' },
        { name: 'eth1', type: 'memory', trunks: [101, 102] },
      ],
      flows: [
        'table=0,priority=4,in_port=phy-br-eth1,dl_vlan=1,actions=mod_vlan_vid:101,NORMAL',
        'table=0,priority=4,in_port=phy-br-eth1,dl_vlan=2,actions=mod_vlan_vid:102,NORMAL',
        'table=0,priority=2,in_port=phy-br-eth1,actions=drop',
        'table=0,priority=0,actions=NORMAL',
      ],
    },
    { name: 'br-ex', ports: [{ name: 'ext', type: 'memory' }] },
  ],
  routers: [
    {
      name: 'r1',
      snat: true,
      ports: [
        { bridge: 'br-int', name: 'qr-1', mac: '02:52:00:00:01:01', ip: '10.230.71.1/24', tag: 1 },
        { bridge: 'br-int', name: 'qr-2', mac: '02:52:00:00:02:01', ip: '10.230.72.1/24', tag: 2, mtu: 1450 },
        { bridge: 'br-ex', name: 'qg-1', mac: '02:52:00:00:ff:01', ip: '203.0.113.2/24', gateway: true },
      ],
      routes: [
        { cidr: '0.0.0.0/0', via: '203.0.113.1' },
        { cidr: '10.231.0.0/16', via: '10.230.72.254' },
      ],
      floatingIps: [
        { fip: '203.0.113.50', fixed: '10.230.71.10' },
        { fip: '203.0.113.51', fixed: '10.230.72.20' },
      ],
    },
    {
      name: 'r2',
      snat: false,
      ports: [{ bridge: 'br-int', name: 'qr-3', mac: '02:52:00:00:03:01', ip: '10.230.73.1/24', tag: 3 }],
      routes: [{ cidr: '10.232.0.0/16', via: '10.230.73.254' }],
      floatingIps: [],
    },
  ],
  dhcp: [
    {
      bridge: 'br-int', tag: 1, subnet: '10.230.71.0/24', gateway: '10.230.71.1', dns: ['10.230.71.1'], mtu: 1450,
      hosts: [{ mac: '02:00:00:00:01:10', ip: '10.230.71.10' }, { mac: '02:00:00:00:01:11', ip: '10.230.71.11' }],
    },
    { bridge: 'br-int', tag: 2, subnet: '10.230.72.0/24', gateway: '10.230.72.1', leaseSec: 3600, hosts: [{ mac: '02:00:00:00:02:20', ip: '10.230.72.20' }] },
  ],
};

/** mulberry32: a small seeded PRNG, so a failing variant can be reproduced from its number. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = (string | number)[];

function paths(v: Json, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}
function get(v: Json, p: Path): Json {
  return p.reduce<Json>((o, k) => (o as Record<string | number, Json>)[k], v);
}
function set(v: Json, p: Path, x: Json | undefined): void {
  const parent = get(v, p.slice(0, -1)) as Record<string | number, Json>;
  const k = p[p.length - 1];
  if (x === undefined) {
    if (Array.isArray(parent)) parent.splice(k as number, 1);
    else delete parent[k];
  } else parent[k] = x;
}

/** A marker for a value nested `n` arrays deep, expanded in the file's text (no recursion here). */
function deep(n: number): Json {
  return `@@deep${n}@@`;
}
function toText(cfg: Json): string {
  return JSON.stringify(cfg).replace(/"@@deep(\d+)@@"/g, (_, n) => '['.repeat(Number(n)) + '1' + ']'.repeat(Number(n)));
}

/** Values that are wrong (or right) in the ways configs go wrong. */
const ODD: Json[] = [
  null, 42, -1, 0, 4096, 65536, 1.5, '', ' ', true, {}, [], { a: 1 }, [1, 2],
  '10.230.71.1/24/1', ' 10.230.71.1/24', '010.230.071.001/24', '10.230.71.1', '10.230.71.0/24', '10.230.71.255/24',
  '255.255.255.255', '0.0.0.0', '224.0.0.1', '203.0.113.2', '203.0.113.99', '10.230.71.77', '10.230.99.1/24', '10.230.72.9/23',
  'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01', '00:00:00:00:00:00', '02:52:00:00:01:01', '02:00:00:00:01:10', '02-52-00-00-01-01',
  'qr-1', 'qg-1', 'vm-a1', 'int-br-eth1', 'phy-br-eth1', 'br-int', 'br-ex', 'nosuch', 'dhcp1-br-int', 'x'.repeat(70),
  'patch', 'tap', 'internal', 'memory', 'bogus', 'priority=1,nw_src=10.0.0.1,actions=drop', 'in_port=nosuch,actions=drop', 'actions=NORMAL',
];

function mutate(base: Json, r: () => number): { cfg: Json; what: string } {
  const cfg = JSON.parse(JSON.stringify(base)) as Json;
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  // The file's own values: swapping them in makes the cross-reference mistakes (a name used
  // twice, a fixed IP that is another host's, a next hop that is an interface's address).
  const own = paths(cfg).map((p) => get(cfg, p)).filter((x) => typeof x === 'string' || typeof x === 'number');
  const n = 1 + Math.floor(r() * 2); // one or two mutations per variant
  const what: string[] = [];
  for (let i = 0; i < n; i++) {
    const every = paths(cfg).filter((q) => q.length > 0);
    const leaves = every.filter((q) => { const x = get(cfg, q); return x === null || typeof x !== 'object'; });
    const p = pick(r() < 0.8 && leaves.length ? leaves : every);
    const cur = get(cfg, p);
    const op = r();
    const where = p.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('').replace(/^\./, '');
    if (op < 0.5) {
      const x = r() < 0.5 ? pick(ODD) : pick(own);
      set(cfg, p, x);
      what.push(`${where} = ${JSON.stringify(x)}`);
    } else if (op < 0.62) {
      set(cfg, p, undefined);
      what.push(`delete ${where}`);
    } else if (op < 0.72 && typeof p[p.length - 1] === 'number') {
      const arr = get(cfg, p.slice(0, -1)) as Json[];
      arr.push(JSON.parse(JSON.stringify(cur)));
      what.push(`duplicate ${where}`);
    } else if (op < 0.8 && cur !== null && typeof cur === 'object' && !Array.isArray(cur)) {
      (cur as Record<string, Json>).colour = 'blue';
      what.push(`${where}.colour = "blue"`);
    } else if (op < 0.9 && typeof cur === 'string') {
      // A near miss: one character changed.
      const i2 = Math.floor(r() * cur.length);
      const ch = pick(['0', '1', '9', '.', '/', ':', 'f', ' ', '-']);
      const x = cur.slice(0, i2) + ch + cur.slice(i2 + 1);
      set(cfg, p, x);
      what.push(`${where} = ${JSON.stringify(x)}`);
    } else if (op < 0.95 && typeof cur === 'number') {
      const x = cur + pick([-1, 1, 4096, -cur]);
      set(cfg, p, x);
      what.push(`${where} = ${x}`);
    } else {
      set(cfg, p, deep(40 + Math.floor(r() * 5000)));
      what.push(`${where} = (deeply nested)`);
    }
  }
  return { cfg, what: what.join('; ') };
}

type Cfg = typeof BASE & { routers: (typeof BASE.routers[number] & Record<string, unknown>)[] };
/** The mistakes found by hand (each was once accepted, or half applied before being refused). */
const TARGETED: [string, (c: Cfg) => void][] = [
  ['fip is the gateway address', (c) => (c.routers[0].floatingIps[0].fip = '203.0.113.2')],
  ['fip twice', (c) => (c.routers[0].floatingIps[1].fip = '203.0.113.50')],
  ['fixed twice', (c) => (c.routers[0].floatingIps[1].fixed = '10.230.71.10')],
  ['fip outside the gateway subnet', (c) => (c.routers[0].floatingIps[0].fip = '10.9.9.9')],
  ['fip with a leading zero', (c) => (c.routers[0].floatingIps[0].fip = '203.0.113.050')],
  ['fixed outside tenant subnets', (c) => (c.routers[0].floatingIps[0].fixed = '198.51.100.7')],
  ['fip with a space', (c) => (c.routers[0].floatingIps[0].fip = ' 203.0.113.50')],
  ['dhcp host outside the subnet', (c) => (c.dhcp[0].hosts[1].ip = '10.230.72.11')],
  ['dhcp host MAC broadcast', (c) => (c.dhcp[0].hosts[1].mac = 'ff:ff:ff:ff:ff:ff')],
  ['dhcp IP bound to two MACs', (c) => (c.dhcp[0].hosts[1].ip = '10.230.71.10')],
  ['dhcp MAC bound twice', (c) => (c.dhcp[0].hosts[1].mac = '02:00:00:00:01:10')],
  ['dhcp host is the gateway', (c) => (c.dhcp[0].hosts[1].ip = '10.230.71.1')],
  ['a bridge port named like a router interface', (c) => c.bridges[2].ports.push({ name: 'qr-1', type: 'patch', peer: 'x' } as never)],
  ['a patch port that is its own peer', (c) => c.bridges[2].ports.push({ name: 'x', type: 'patch', peer: 'x' } as never)],
  ['peer: 42', (c) => ((c.bridges[0].ports[3] as Record<string, unknown>).peer = 42)],
  ['ports: null', (c) => ((c.bridges[2] as Record<string, unknown>).ports = null)],
  ['router address with two prefixes', (c) => (c.routers[0].ports[0].ip = '10.230.71.1/24/1')],
  ['router address with a space', (c) => (c.routers[0].ports[0].ip = ' 10.230.71.1/24')],
  ['router address with leading zeros', (c) => (c.routers[0].ports[0].ip = '010.230.071.001/24')],
  ['router MAC broadcast', (c) => (c.routers[0].ports[0].mac = 'ff:ff:ff:ff:ff:ff')],
  ['router MAC multicast', (c) => (c.routers[0].ports[0].mac = '01:00:5e:00:00:01')],
  ['router MAC zero', (c) => (c.routers[0].ports[0].mac = '00:00:00:00:00:00')],
  ['two router interfaces in one subnet', (c) => (c.routers[0].ports[1].ip = '10.230.71.2/24')],
  ['route via the broadcast address', (c) => (c.routers[0].routes[1].via = '255.255.255.255')],
  ['route via an unreachable next hop', (c) => (c.routers[0].routes[1].via = '10.8.0.1')],
  ['dhcp gateway outside its subnet', (c) => (c.dhcp[0].gateway = '10.230.72.1')],
  ['router defined twice', (c) => c.routers.push({ ...c.routers[1], ports: [] })],
  ['dhcp network defined twice', (c) => c.dhcp.push({ ...c.dhcp[1], hosts: [] } as never)],
  ['a deeply nested value', (c) => ((c.bridges[0].ports[0] as Record<string, unknown>).tag = deep(100_000))],
  ['an object as a tag', (c) => ((c.bridges[0].ports[0] as Record<string, unknown>).tag = { a: 1 })],
  ['a bad flow', (c) => c.bridges[1].flows!.push('priority=1,nw_src=10.0.0.1,actions=drop')],
  ['a flow naming a port that goes', (c) => { c.bridges[0].ports.splice(3, 1); c.bridges[1].ports.splice(0, 1); }],
  ['a port of a type that cannot open here (valid file, fails while applying)', (c) => (c.bridges[0].ports[2] = { name: 'vm-b1', tag: 2 } as never)],
];

/** Run the CLI's entry point in this process and capture what it prints. */
async function cli(control: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(' '));
  console.error = (...a: unknown[]) => err.push(a.join(' '));
  try {
    const code = await main(['--control', control, ...args]);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

const VIEWS: string[][] = [
  ['save-config', '@SAVED@'], // the whole state as a file: DHCP bindings and settings included
  ['show'],
  ['dump-flows', 'br-int'],
  ['dump-flows', 'br-eth1'],
  ['dump-flows', 'br-ex'],
  ['router-show', 'r1'],
  ['router-show', 'r2'],
  ['nat-show', 'r1'],
  ['nat-show', 'r2'],
];

async function state(run: (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>): Promise<string[]> {
  const views: string[] = [];
  for (const v of VIEWS) {
    if (v[0] === 'save-config') {
      const file = path.join(os.tmpdir(), `tvs-mut-saved-${process.pid}.json`);
      const r = await run(['save-config', file]);
      views.push(`$ tvs save-config (exit ${r.code})\n${r.code === 0 ? fs.readFileSync(file, 'utf8').replace(/"macAgingSec": \d+/g, '') : r.stderr}`);
      fs.rmSync(file, { force: true });
      continue;
    }
    const r = await run(v);
    views.push(`$ tvs ${v.join(' ')} (exit ${r.code})\n${r.stdout}${r.stderr}`);
  }
  return views;
}

/**
 * Same text with the flows' running figures taken out — durations, ages and the counters of traffic
 * the switch itself keeps sending (the router's ARP for its gateway reaches br-ex's default
 * flow) — and none of them went down: a re-created flow would restart them at zero.
 */
function sameState(t: { equal: (a: unknown, b: unknown, m: string) => void; fail: (m: string) => void }, before: string[], after: string[], label: string): boolean {
  for (let i = 0; i < before.length; i++) {
    if (stripRunning(before[i]) !== stripRunning(after[i])) {
      t.equal(stripRunning(after[i]), stripRunning(before[i]), `${label}: ${VIEWS[i].join(' ')} unchanged`);
      return false;
    }
    for (const field of ['duration', 'n_packets', 'n_bytes']) {
      const b = running(before[i], field);
      const a = running(after[i], field);
      if (a.some((x, k) => x + 0.0015 < b[k])) {
        t.fail(`${label}: ${VIEWS[i].join(' ')}: a flow's ${field} went down (re-created): ${b} → ${a}`);
        return false;
      }
    }
  }
  return true;
}

const RUNNING = /(duration=[\d.]+s|n_packets=\d+|n_bytes=\d+|idle_age=\d+|hard_age=\d+), /g;
function stripRunning(s: string): string {
  return s.replace(RUNNING, '');
}
function running(s: string, field: string): number[] {
  return [...s.matchAll(new RegExp(`${field}=([\\d.]+)`, 'g'))].map((m) => Number(m[1]));
}

// A path in the file: `bridges[0].ports[1].tag`, `routers[1]`, `macAgingSec`, `config`.
const PATH = /^([a-zA-Z]+(\[\d+\])*)(\.[a-zA-Z]+(\[\d+\])*)*$/;

t.test('config mutations: each variant is refused with a path, or valid; a refusal changes nothing', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-mut-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const baseFile = path.join(dir, 'base.json');
  fs.writeFileSync(baseFile, JSON.stringify(BASE, null, 2));
  const d = await startDaemon(t, ['--config', baseFile]);
  const run = (args: string[]) => cli(d.control, args);
  const spawned = (args: string[]) => tvs(d.control, args);

  let before = await state(run);
  const norm = (views: string[]) => views.map((v) => stripRunning(v).trimEnd());
  t.same(norm(await state(spawned)), norm(before), 'the CLI as a process prints what its entry point prints here');
  t.match(before[1], /Port qr-1/);
  t.match(before[5], /10\.230\.72\.1\/24 +1450 +tenant/);

  const r = rng(SEED);
  let refused = 0;
  let accepted = 0;
  const file = path.join(dir, 'variant.json');
  for (let i = 0; i < TARGETED.length + VARIANTS; i++) {
    let cfg: Json;
    let what: string;
    if (i < TARGETED.length) {
      const c = JSON.parse(JSON.stringify(BASE)) as Cfg;
      TARGETED[i][1](c);
      cfg = c as unknown as Json;
      what = TARGETED[i][0];
    } else ({ cfg, what } = mutate(BASE as unknown as Json, r));
    fs.writeFileSync(file, toText(cfg));
    const res = await run(['reload', file]);
    const label = `variant ${i} (${what})`;
    if (res.code === 0) {
      if (i < TARGETED.length) t.fail(`${label}: accepted`);
      accepted++;
      const back = await run(['reload', baseFile]);
      if (back.code !== 0) {
        t.fail(`${label}: accepted, but reloading the base file then failed: ${back.stderr}`);
        break;
      }
      before = await state(run);
      continue;
    }
    refused++;
    if (res.code !== 1) {
      t.fail(`${label}: exit ${res.code}: ${res.stderr}`);
      break;
    }
    // `tvs reload: config FILE: PATH: why` or `tvs reload: config FILE: N errors:` + `  PATH: why` lines.
    const m = /^tvs reload: config \S+: (?:(\d+) errors:\n((?: {2}.*\n?)+)|(.*))$/.exec(res.stderr.trim());
    const lines = m ? (m[1] ? m[2].trimEnd().split('\n').map((l) => l.trim()) : [m[3]]) : [];
    const pathsNamed = lines.map((l) => l.slice(0, l.indexOf(': ')));
    if (!m || lines.length === 0 || !pathsNamed.every((p) => PATH.test(p))) {
      t.fail(`${label}: refused without naming a path: ${res.stderr}`);
      break;
    }
    if (m[1] && Number(m[1]) !== lines.length) t.fail(`${label}: says ${m[1]} errors, lists ${lines.length}`);
    const after = await state(run);
    if (!sameState(t, before, after, label)) break;
  }
  t.ok(refused >= 100, `refused ${refused} of ${TARGETED.length + VARIANTS} variants`);
  t.ok(accepted >= 10, `accepted ${accepted} valid variants (and reloaded the base after each)`);
  t.same(norm(await state(spawned)), norm(await state(run)), 'final state, as separate tvs processes print it');
  t.ok(d.alive(), 'the daemon is still running');

  // A valid change of an existing DHCP network's settings is applied, not ignored.
  const changed = JSON.parse(JSON.stringify(BASE)) as Cfg;
  changed.dhcp[0].subnet = '10.230.64.0/20';
  changed.dhcp[0].dns = ['10.230.71.53'];
  changed.dhcp[0].mtu = 1400;
  fs.writeFileSync(file, JSON.stringify(changed));
  const ok = await run(['reload', file]);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /~ dhcp br-int tag=1/);
  const saved = path.join(dir, 'saved.json');
  t.equal((await run(['save-config', saved])).code, 0);
  t.match(JSON.parse(fs.readFileSync(saved, 'utf8')).dhcp.find((x: { tag: number }) => x.tag === 1), { subnet: '10.230.64.0/20', dns: ['10.230.71.53'], mtu: 1400, hosts: BASE.dhcp[0].hosts });
});
