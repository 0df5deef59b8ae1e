/**
 * Bridge names Linux and OVS refuse (a bridge's LOCAL port is an interface of that name) are
 * refused through the CLI, by add-br and in a config file, saying what is wrong, and nothing
 * changes (no root: memory ports only).
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startDaemon, tvs, tvsOk } from '../../lab/daemon';

const cfg = { bridges: [{ name: 'br0', ports: [{ name: 'm1', type: 'memory' }, { name: 'm2', type: 'memory' }] }] };

t.test('bridge names: refused with the reason, nothing changed', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-cli-names-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'tvs.json');
  fs.writeFileSync(file, JSON.stringify(cfg));
  const d = await startDaemon(t, ['--config', file]);
  const bridges = async () => (JSON.parse(await tvsOk(d.control, ['--json', 'show'])) as { name: string }[]).map((b) => b.name);

  await t.test('add-br: a name Linux would not give an interface (OVS records it, then: "could not open network device ... (Invalid argument)")', async (t) => {
    const cases: [string, RegExp][] = [
      ['br:0', /^tvs add-br: invalid bridge name "br:0": ':' is not allowed \(1-15 characters of letters, digits, '_', '\.', '@', '-', and not '\.' or '\.\.' .*\)$/m],
      ['br/0', /invalid bridge name "br\/0": '\/' is not allowed/],
      ['br 0', /invalid bridge name "br 0": a space is not allowed/],
      ['br\t0', /invalid bridge name "br\\t0": a tab is not allowed/],
      ['.', /invalid bridge name "\.": '\.' and '\.\.' are not interface names/],
      ['..', /invalid bridge name "\.\.": '\.' and '\.\.' are not interface names/],
      ['br-0123456789abc', /invalid bridge name "br-0123456789abc": 16 characters, at most 15/],
      ['', /missing argument 'bridge'/],
    ];
    for (const [name, why] of cases) {
      const r = await tvs(d.control, ['add-br', name]);
      t.equal(r.code, 1, `add-br ${JSON.stringify(name)} refused`);
      t.match(r.stderr, why, `says why: ${r.stderr.trim()}`);
    }
    t.same(await bridges(), ['br0'], 'no bridge was made');
    await tvsOk(d.control, ['add-br', 'br-0123456789ab']);
    await tvsOk(d.control, ['add-br', 'br.x@y_1']);
    t.same((await bridges()).sort(), ['br-0123456789ab', 'br.x@y_1', 'br0'], "15 characters and '.', '@', '_' are fine");
    t.equal((await tvs(d.control, ['add-port', 'br0', 'p:1', 'type=memory'])).code, 0, "a port name may still have ':' (it names no interface)");
  });

  await t.test('reload: a config with such a bridge name is refused whole', async (t) => {
    const before = await tvsOk(d.control, ['--json', 'show']);
    fs.writeFileSync(file, JSON.stringify({ bridges: [...cfg.bridges, { name: 'br:1', ports: [{ name: 'm3', type: 'memory' }] }] }));
    const r = await tvs(d.control, ['reload']);
    t.equal(r.code, 1, 'reload refused');
    t.match(r.stderr, /bridges\[1\]\.name: invalid bridge name "br:1": ':' is not allowed/, r.stderr.trim());
    t.equal(await tvsOk(d.control, ['--json', 'show']), before, 'nothing changed');
  });
});
