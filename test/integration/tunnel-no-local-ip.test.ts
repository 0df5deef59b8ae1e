/**
 * A VXLAN port without local_ip (optional, as in OVS): the kernel picks the source address from
 * the route to remote_ip. Against the Linux kernel's own vxlan device as the far end (lab/netns.ts
 * kernelVxlanPeer):
 *
 *   nsH (10.236.0.1) ── veth ── [tvs in nsT: br-tun] ── vxlan port (no local_ip) ──┐
 *                                 underlay 10.237.0.1/24 (veth)                  │ UDP 4789, VNI 200
 *   nsK: underlay 10.237.0.2/24 ── vxlan device id 200 (10.236.0.2) ─────────────┘
 *
 * Proof on the wire: the port is made, pings cross both ways, and tcpdump on the far end's
 * underlay sees VNI 200 sent from the address the route gave (10.237.0.1).
 */
import t from 'tap';
import { isRoot, haveCmd, kernelVxlanPeer, Lab } from '../../lab/netns';
import { startDaemon, tvsOk, pingEach } from '../../lab/daemon';
import { startCapture, TUNNELED_ICMP4 } from '../helpers/capture';
import { bindingAvailable } from '../../src/io/binding';

const why = !isRoot()
  ? 'needs root: creates namespaces, veth and vxlan devices'
  : !bindingAvailable()
    ? 'native addon not built (run make)'
    : !haveCmd('tcpdump') || !haveCmd('ping')
      ? 'needs tcpdump and ping (make test installs them)'
      : '';

t.test('vxlan port without local_ip: the route picks the source', { skip: why || false }, async (t) => {
  const lab = Lab.create(t);
  const { nsT, nsK, nsH, underlay: ul, tenant: ten } = kernelVxlanPeer(lab, { prefix: 'tvnl', vni: 200, underlay: '10.237.0', tenant: '10.236.0' });
  const d = await startDaemon(t, [], { ns: nsT });
  const c = (...args: string[]) => tvsOk(d.control, args);
  await c('add-br', 'br-tun');
  await c('add-port', 'br-tun', ten.host);
  await c('add-port', 'br-tun', 'vxlan-nolocal', 'type=vxlan', 'remote_ip=10.237.0.2', 'key=200');

  const cap = await startCapture(nsK, ul.peer, `${TUNNELED_ICMP4.vxlan} and src host 10.237.0.1`, 3, 15);
  const p = await pingEach(nsH, '10.236.0.2', 3);
  t.equal(p.loss, 0, `ping through the tunnel: ${p.summary}`);
  const out = await cap.done;
  t.match(out, /10\.237\.0\.1\.\d+ > 10\.237\.0\.2\.4789: VXLAN, flags \[I\] \(0x08\), vni 200/, `tcpdump: VNI 200 from the route's source address:\n${out}`);
  const back = await pingEach(nsK, '10.236.0.1', 2);
  t.equal(back.loss, 0, `and from the far side: ${back.summary}`);
});
