/**
 * `tvs trace` follows a packet into the router: route, floating IP / SNAT decision, TTL, next
 * hop. Memory ports, no root; the same handler the CLI calls.
 */
import t from 'tap';
import { Switch } from '../../src/datapath/switch';
import { flowCommands } from '../../src/control/flow-commands';

function rig() {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  sw.addBridge('br-int');
  sw.addBridge('br-ex');
  sw.addPort('br-int', 'vm1', { type: 'memory', tag: 1 });
  sw.addPort('br-ex', 'ext', { type: 'memory' });
  sw.l3.addRouter('r1');
  sw.l3.routerAddPort('r1', { bridge: 'br-int', port: 'qr-1', mac: '02:52:00:00:01:01', cidr: '10.0.1.1/24', tag: 1 });
  sw.l3.routerAddPort('r1', { bridge: 'br-ex', port: 'qg-1', mac: '02:52:00:00:ff:01', cidr: '203.0.113.2/24', gateway: true });
  sw.l3.router('r1').addRoute('0.0.0.0/0', '203.0.113.1');
  return { sw, trace: flowCommands(sw).trace as (a: Record<string, unknown>) => { text: string; routing: string[][] } };
}

t.test('trace shows SNAT toward the external network', async (t) => {
  const { trace } = rig();
  const r = trace({ bridge: 'br-int', flow: 'in_port=vm1,dl_src=02:00:00:00:01:10,dl_dst=02:52:00:00:01:01,tcp,nw_src=10.0.1.10,nw_dst=198.51.100.7,tp_src=40000,tp_dst=443,nw_ttl=64' });
  const lines = r.routing.flat().join('\n');
  t.match(lines, /router r1: in qr-1, 10\.0\.1\.10 > 198\.51\.100\.7 proto 6/);
  t.match(lines, /SNAT: source → 203\.0\.113\.2 \(gateway address/);
  t.match(lines, /route: forward via 203\.0\.113\.1 dev qg-1/);
  t.match(lines, /TTL 64 → 63/);
  t.match(lines, /next hop 203\.0\.113\.1: not resolved → ARP request/);
  t.match(r.text, /router r1/, 'the CLI text includes the router part');
});

t.test('trace shows floating-IP DNAT inbound, and unsolicited drops', async (t) => {
  const { sw, trace } = rig();
  sw.l3.router('r1').addFloatingIp('203.0.113.50', '10.0.1.10');
  const inb = trace({ bridge: 'br-ex', flow: 'in_port=ext,dl_src=02:00:00:00:99:01,dl_dst=02:52:00:00:ff:01,icmp,nw_src=198.51.100.7,nw_dst=203.0.113.50,icmp_type=8,nw_ttl=60' }).routing.flat().join('\n');
  t.match(inb, /floating IP 203\.0\.113\.50 → DNAT to fixed 10\.0\.1\.10/);
  t.match(inb, /route: forward via on-link dev qr-1/);
  const uns = trace({ bridge: 'br-ex', flow: 'in_port=ext,dl_src=02:00:00:00:99:01,dl_dst=02:52:00:00:ff:01,udp,nw_src=198.51.100.7,nw_dst=10.0.1.20,tp_dst=53' }).routing.flat().join('\n');
  t.match(uns, /unsolicited/);
  // In on the gateway for an on-link external host: forwarding drops it (nat_unsolicited), and
  // trace says so (it used to claim "ARP request, packet queued").
  const back = trace({ bridge: 'br-ex', flow: 'in_port=ext,dl_src=02:00:00:00:99:01,dl_dst=02:52:00:00:ff:01,udp,nw_src=198.51.100.7,nw_dst=203.0.113.9,tp_dst=53' }).routing.flat().join('\n');
  t.match(back, /drop nat_unsolicited/);
  t.notMatch(back, /ARP request|next hop/);
  const ttl = trace({ bridge: 'br-int', flow: 'in_port=vm1,dl_src=02:00:00:00:01:10,dl_dst=02:52:00:00:01:01,udp,nw_src=10.0.1.10,nw_dst=198.51.100.7,nw_ttl=1' }).routing.flat().join('\n');
  t.match(ttl, /TTL 1 → ICMP time exceeded/);
  const other = trace({ bridge: 'br-int', flow: 'in_port=vm1,dl_src=02:00:00:00:01:10,dl_dst=02:00:00:00:01:11,ip,nw_src=10.0.1.10,nw_dst=10.0.1.11' });
  t.same(other.routing.flat(), [], 'a frame not addressed to the router has no routing part');
});
