/**
 * Packet capture: frames crossing a port in both directions, written as pcap and decoded by
 * tshark (a real reader), VLAN tags as on the wire. Memory ports; tshark from Debian.
 */
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { pcapFile } from '../../src/control/pcap';
import { arpRequest, udpFrame } from '../../src/wire/frames';
import { haveCmd } from '../../lab/netns';

t.test('capture both directions of a trunk port, read back by tshark', { skip: haveCmd('tshark') ? false : 'needs tshark (make test installs it)' }, async (t) => {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  const vm = sw.addPort('br0', 'vm1', { type: 'memory', tag: 5 }).io as MemoryPort;
  const trunk = sw.addPort('br0', 'trunk', { type: 'memory' }).io as MemoryPort;
  const done = sw.capture('br0', 'trunk', { count: 2, seconds: 5, direction: 'both' });
  vm.inject(arpRequest('02:00:00:00:00:01', '10.0.0.1', '10.0.0.2'));
  sw.runUntilIdle();
  trunk.inject(udpFrame({ dst: '02:00:00:00:00:01', src: '02:00:00:00:00:02', ipSrc: '10.0.0.2', ipDst: '10.0.0.1', dport: 53, vid: 5 }));
  sw.runUntilIdle();
  const frames = await done;
  t.same(frames.map((f) => f.dir), ['out', 'in']);
  t.equal(sw.bridge('br0').port('trunk')!.taps, null, 'the tap is removed once the count is reached');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-pcap-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'c.pcap');
  fs.writeFileSync(file, pcapFile(frames));
  const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'vlan.id', '-e', 'eth.src', '-e', 'arp.dst.proto_ipv4', '-e', 'udp.dstport'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 30_000,
  });
  const rows = out.trim().split('\n').map((l) => l.split('\t'));
  t.same(rows[0], ['5', '02:00:00:00:00:01', '10.0.0.2', ''], 'ARP left the trunk tagged VLAN 5');
  t.same(rows[1], ['5', '02:00:00:00:00:02', '', '53'], 'the tagged UDP reply came in on the trunk');
  vm.takeTransmitted();
});

t.test('capture times out with what it has, and validates its arguments', async (t) => {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('br0');
  sw.addPort('br0', 'p1', { type: 'memory' });
  const r = await sw.capture('br0', 'p1', { count: 10, seconds: 0.1, direction: 'in' });
  t.same(r, []);
  t.throws(() => sw.capture('br0', 'nope', { count: 1, seconds: 1, direction: 'in' }), /no port 'nope'/);
  t.throws(() => sw.capture('br0', 'p1', { count: 0, seconds: 1, direction: 'in' }), /count must be/);
});
