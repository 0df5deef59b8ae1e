/**
 * ControlServer limits in-process with small settings, so each runs in milliseconds: a reply
 * queue bound that disconnects a client that does not read (while a reading client is served),
 * the connection limit, read-ahead backpressure keeping order, a streamed reply that fails
 * part-way closing the connection, and the counters in the metrics text.
 */
import t from 'tap';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { ControlServer, StreamedReply, jsonArrayPieces, type Handler } from '../../src/control/server';
import { ControlConnection, request } from '../../src/control/client';
import { renderMetrics } from '../../src/control/metrics';
import { Switch } from '../../src/datapath/switch';
import type { Teardownable } from '../../lab/netns';

const big = Array.from({ length: 20_000 }, (_, i) => ({ i, pad: 'x'.repeat(100) })); // ~2.4 MB of JSON

async function setup(t: Teardownable, handlers: Record<string, Handler>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-limits-'));
  const sock = path.join(dir, 'c.sock');
  const server = new ControlServer(sock, handlers, {
    limits: { maxConnections: 3, maxQueuedReplyBytes: 64 * 1024, stallTimeoutMs: 300, maxPipelined: 4 },
  });
  await server.listen();
  t.teardown(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await server.close();
  });
  return { sock, server };
}

t.test('a client that does not read is disconnected at the queue bound; readers are served', async (t) => {
  const { sock, server } = await setup(t, {
    big: () => new StreamedReply(jsonArrayPieces(big, (x) => x, 200)),
    ping: () => 'pong',
  });
  const hog = net.connect(sock);
  hog.on('error', () => {});
  await new Promise((r) => hog.once('connect', r));
  hog.pause();
  hog.write('{"cmd":"big"}\n'.repeat(20));
  // A reader gets the whole streamed reply meanwhile.
  const r = (await request(sock, 'big')) as { i: number }[];
  t.equal(r.length, big.length);
  t.equal(r[19_999].i, 19_999);
  // The count comes first, the socket's close event a moment later: wait for both.
  for (let i = 0; i < 100 && (server.counters.slow_clients === 0 || server.counters.connections !== 0); i++) await new Promise((res) => setTimeout(res, 50));
  t.equal(server.counters.slow_clients, 1, 'the non-reading client was disconnected');
  t.equal(server.counters.connections, 0);
  t.equal(await request(sock, 'ping'), 'pong');
});

t.test('connection limit: refused with a message, counted; slots come back', async (t) => {
  const { sock, server } = await setup(t, { ping: () => 'pong' });
  const held = await Promise.all([0, 1, 2].map(() => ControlConnection.open(sock)));
  await t.rejects(request(sock, 'ping'), /too many control connections \(max 3\)/);
  t.equal(server.counters.refused_connections, 1);
  held[0].close();
  await new Promise((r) => setTimeout(r, 50));
  t.equal(await request(sock, 'ping'), 'pong');
  held.slice(1).forEach((c) => c.close());
});

t.test('pipelined requests past the read-ahead bound wait, and are answered in order', async (t) => {
  let running = 0;
  let maxRunning = 0;
  const { sock } = await setup(t, {
    slow: async (a) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 2));
      running--;
      return a.n;
    },
  });
  const c = await ControlConnection.open(sock);
  t.teardown(() => c.close());
  const results = await Promise.all(Array.from({ length: 50 }, (_, n) => c.call('slow', { n })));
  t.same(results, Array.from({ length: 50 }, (_, n) => n), 'every reply, in order');
  t.equal(maxRunning, 1, 'one request at a time per client');
});

t.test('a streamed reply that fails part-way closes the connection; the server goes on', async (t) => {
  const { sock, server } = await setup(t, {
    broken: () =>
      new StreamedReply(
        (function* () {
          yield '[1';
          throw new Error('state vanished');
        })(),
      ),
    ping: () => 'pong',
  });
  await t.rejects(request(sock, 'broken'), /closed the connection before answering/);
  t.equal(server.counters.stream_errors, 1);
  t.equal(await request(sock, 'ping'), 'pong');
});

t.test('control counters in the metrics', async (t) => {
  const sw = new Switch({ clock: () => 0, arena: { slots: 64, slotSize: 2048 + 128 } });
  const text = renderMetrics(sw, () => ({ connections: 2, accepted: 9, refused_connections: 3, slow_clients: 1, oversized_requests: 4, too_deep_requests: 5, bad_requests: 6, stream_errors: 0 }));
  t.match(text, /^tvs_control_connections\{\} 2$/m);
  t.match(text, /^tvs_control_refused_connections_total\{\} 3$/m);
  t.match(text, /^tvs_control_slow_clients_total\{\} 1$/m);
  t.match(text, /^tvs_control_refused_requests_total\{reason="too_deep"\} 5$/m);
  t.match(text, /# TYPE tvs_control_slow_clients_total counter/);
  t.notMatch(text, /tvs_helper_threads/, 'no helper figures unless the daemon gives them');
});

t.test('helper-thread priority in the metrics', async (t) => {
  const sw = new Switch({ clock: () => 0, arena: { slots: 64, slotSize: 2048 + 128 } });
  const text = renderMetrics(sw, undefined, () => ({ nice: 19, lowered: 11, idle: 9, failed: 1, threads: 10 }));
  t.match(text, /^tvs_helper_threads\{\} 10$/m);
  t.match(text, /^tvs_helper_threads_nice\{\} 19$/m);
  t.match(text, /^tvs_helper_threads_lowered_total\{\} 11$/m);
  t.match(text, /^tvs_helper_threads_failed_total\{\} 1$/m);
  t.match(text, /^tvs_helper_threads_sched_idle_total\{\} 9$/m);
  t.match(text, /# TYPE tvs_helper_threads_lowered_total counter/);
  t.match(text, /# TYPE tvs_helper_threads_sched_idle_total counter/);
});
