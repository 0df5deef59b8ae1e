/**
 * `tvs trace --hex` of a frame the parse checks drop (too short for its headers) says which
 * check, by the drop reason's name that dump-ports and the metrics count it under, not by its
 * number (no root: memory ports only).
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startDaemon, tvs } from '../../lab/daemon';

const cfg = { bridges: [{ name: 'br0', ports: [{ name: 'm1', type: 'memory' }, { name: 'm2', type: 'memory' }] }] };

t.test('trace --hex: a frame the parse checks drop, named by its drop reason', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-cli-trace-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'tvs.json');
  fs.writeFileSync(file, JSON.stringify(cfg));
  const d = await startDaemon(t, ['--config', file]);
  const eth = 'ffffffffffff020000000001';
  const cases: [string, string][] = [
    [`${eth}0800450000`, 'ipv4_truncated'], // IPv4 EtherType, 3 bytes of header
    ['ffffffffffff0200', 'runt'], // 8 bytes: not even an Ethernet header
    [`${eth}86dd6000`, 'ipv6_truncated'],
  ];
  for (const [hex, reason] of cases) {
    const r = await tvs(d.control, ['trace', 'br0', '--hex', hex, 'm1']);
    t.equal(r.code, 1, `trace of ${hex.length / 2} bytes refused`);
    t.match(r.stderr, new RegExp(`trace: the frame fails the parse checks: ${reason} \\(.+\\); the switch drops it, counted as drop reason ${reason}`), r.stderr.trim());
    t.notMatch(r.stderr, /reason id/, 'no bare id');
  }
});
