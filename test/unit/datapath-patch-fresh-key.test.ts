/**
 * Crossing a patch port starts a fresh pipeline, as OVS's patch_port_output does: the frame
 * enters the peer's bridge with tunnel metadata, metadata, every register and the conntrack
 * state cleared (bridge.ts input, packet/parse.ts clearPatchWords). Bridge A sets all of them
 * and sends the frame across; bridge B sends it to `clean` only when each of them is zero again,
 * else to `dirty`.
 */
import t from 'tap';
import { Switch } from '../../src/datapath/switch';
import { MemoryPort } from '../../src/io/memory-port';
import { udpFrame } from '../../src/wire/frames';

t.test('a frame crossing a patch port arrives with tunnel metadata, metadata, registers and ct state cleared', async (t) => {
  const sw = new Switch({ clock: () => 1000, arena: { slots: 256, slotSize: 2048 + 128 } });
  t.teardown(() => sw.stop());
  sw.addBridge('bra');
  sw.addBridge('brb');
  const inp = sw.addPort('bra', 'in', { type: 'memory' }).io as MemoryPort;
  sw.addPort('bra', 'pa', { type: 'patch', peer: 'pb' });
  sw.addPort('brb', 'pb', { type: 'patch', peer: 'pa' });
  const clean = sw.addPort('brb', 'clean', { type: 'memory' }).io as MemoryPort;
  const dirty = sw.addPort('brb', 'dirty', { type: 'memory' }).io as MemoryPort;
  const a = sw.flows('bra');
  a.delFlows();
  const regs = Array.from({ length: 8 }, (_, i) => `set_field:${0x1000 + i}->reg${i}`).join(',');
  a.addFlow(`priority=10,ip,in_port=in,actions=set_field:0x1234->tun_id,set_field:10.9.9.9->tun_dst,set_field:0xabcdef0123->metadata,${regs},ct(zone=7,table=1)`);
  a.addFlow('table=1,priority=10,actions=output:pa');
  const b = sw.flows('brb');
  b.delFlows();
  const zero = Array.from({ length: 8 }, (_, i) => `reg${i}=0`).join(',');
  b.addFlow(`priority=10,ip,in_port=pb,tun_id=0,tun_dst=0.0.0.0,metadata=0,${zero},ct_state=-trk,ct_zone=0,actions=output:clean`);
  b.addFlow('priority=5,in_port=pb,actions=output:dirty');
  sw.start();
  const f = udpFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipSrc: '10.0.0.1', ipDst: '10.0.0.2', dport: 9 });
  for (let i = 0; i < 3; i++) inp.inject(f);
  sw.runUntilIdle();
  t.equal(clean.takeTransmitted().length, 3, 'every frame matched the all-cleared flow on the other bridge');
  t.equal(dirty.takeTransmitted().length, 0, 'none kept a word set on the first bridge');
});
