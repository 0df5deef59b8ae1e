/** Prometheus metrics: a scrape over HTTP on loopback shows the counters the traffic moved. */
import t from 'tap';
import * as http from 'http';
import { AddressInfo } from 'net';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { serveMetrics } from '../../src/control/metrics';
import { udpFrame } from '../../src/wire/frames';

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

t.test('scrape', async (t) => {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  const p1 = sw.addPort('br0', 'p1', { type: 'memory' }).io as MemoryPort;
  sw.addPort('br0', 'p2', { type: 'memory' });
  sw.flows('br0').addFlow('cookie=0x2a,priority=7,in_port=p1,actions=output:p2');
  const f = udpFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipSrc: '10.0.0.1', ipDst: '10.0.0.2' });
  for (let i = 0; i < 5; i++) p1.inject(f);
  p1.inject(Buffer.from('0011', 'hex')); // a runt: counted as a parse drop
  sw.runUntilIdle();
  const server = await serveMetrics(sw, '127.0.0.1:0');
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const r = await get(`http://127.0.0.1:${port}/metrics`);
  t.equal(r.status, 200);
  t.match(r.body, /# TYPE tvs_port_rx_packets_total counter/);
  t.match(r.body, /tvs_port_rx_packets_total\{bridge="br0",port="p1",ofport="1"\} 6/);
  t.match(r.body, /tvs_port_tx_packets_total\{bridge="br0",port="p2",ofport="2"\} 5/);
  t.match(r.body, new RegExp(`tvs_flow_bytes_total\\{bridge="br0",table="0",priority="7",cookie="0x2a"\\} ${5 * f.length}`));
  t.match(r.body, /tvs_bridge_drops_total\{bridge="br0",reason="runt"\} 1/);
  t.equal((await get(`http://127.0.0.1:${port}/other`)).status, 404);
  await t.rejects(serveMetrics(sw, 'nonsense'), /expected HOST:PORT/);
});
