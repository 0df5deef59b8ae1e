import t from 'tap';
import { Logger } from '../../src/control/log';

t.test('fields holding BigInts (flow cookies, 64-bit counters) are written, not thrown on', async (t) => {
  for (const format of ['text', 'json'] as const) {
    const lines: string[] = [];
    const log = new Logger('debug', format, (l) => lines.push(l));
    log.debug('flow removed', { cookie: 0xffffffffffffffffn, stats: { packets: 3n } });
    t.equal(lines.length, 1, `${format}: one line`);
    if (format === 'json') {
      const o = JSON.parse(lines[0]);
      t.equal(o.cookie, '18446744073709551615');
      t.same(o.stats, { packets: '3' });
    } else t.match(lines[0], / DEBUG flow removed cookie="18446744073709551615" stats=\{"packets":"3"\}$/);
  }
});

t.test('below the level nothing is written', async (t) => {
  const lines: string[] = [];
  new Logger('info', 'text', (l) => lines.push(l)).debug('x', { a: 1n });
  t.same(lines, []);
});
