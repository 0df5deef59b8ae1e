/**
 * The scratch topologies the start-up warm-up (warm-up.ts) runs its frames through, one per kind
 * of forwarding a switch is set up for, so that each path's code has been compiled before the
 * first real frame takes it:
 *
 *   l2      one bridge, the default NORMAL flow, two ports (MAC learning, flooding, IPv6 multicast)
 *   fw      Neutron's openvswitch firewall in miniature: access ports on local VLAN 1, the
 *           agent's tables 0/58/59/60/71-73/81/82/91-94 with ct(table=,zone=reg6), recirculation,
 *           ct(commit,exec(set_field:->ct_mark)), ct_clear, conjunction, set_field to registers,
 *           resubmit, strip_vlan, output and NORMAL
 *   vlan    two bridges joined by a patch pair, mod_vlan_vid/strip_vlan flows on each side
 *   router  a router between an access port of an integration bridge and an external bridge,
 *           with a floating IP (DNAT in, SNAT out) and ARP answered and learnt
 *
 * Each scene's frames are a small exchange between two hosts in the order a real one would run
 * (ARP, then echo request and reply, a few new UDP/TCP connections), mostly ICMP echo since that
 * is what a latency probe sends. One host of each pair has a MAC whose low 32 bits are >= 2^31
 * (as about half of real, random MACs do): a key word V8 has seen only as a small integer is a
 * deoptimization when the first real one is not (--trace-deopt: MAC learning's learnNow, "lost
 * precision", at the first real frame, when every scratch MAC was small).
 *
 * Every address is made up for the scratch switch, and nothing here reaches a wire: buildScenes'
 * caller gives the switch an IoFactory whose afpacket ports are scratch ports (warm-up.ts).
 */
import type { Switch } from './switch';
import type { SwitchPort } from './switch-port';
import { parseFlow } from '../flow/ofctl-parse';
import { synthesizeFrame } from '../flow/trace';

/** One frame of a scene: received on `port`, built from an ovs-ofctl match. */
export interface SceneFrame {
  port: SwitchPort;
  frame: Uint8Array;
}

export interface Scene {
  name: string;
  frames: SceneFrame[];
  /**
   * What a load at the generator's maximum sends through this scene (UDP on a connection its
   * frames have set up): the warm-up's saturation episode sends these in whole bursts.
   */
  bulk: SceneFrame[];
}

const noPorts = { resolvePort: () => -1 };
function frame(match: string): Uint8Array {
  return synthesizeFrame(parseFlow(match, 'match', noPorts).match);
}

/**
 * A host-facing port. Of type afpacket, as most real ones are: the switch building the scenes
 * opens it through its own IoFactory, which makes it a scratch port (warm-up.ts), never a socket.
 */
function hostPort(sw: Switch, bridge: string, name: string, extra: { tag?: number; ofport?: number } = {}): SwitchPort {
  return sw.addPort(bridge, name, { type: 'afpacket', ...extra });
}

interface Host {
  mac: string;
  ip: string;
}

/** ARP request from `a` for `b`'s address, ARP reply from `b`, echo request and reply. */
function exchange(a: Host, b: Host, aMac = a.mac, bMac = b.mac): { arpReq: string; arpRep: string; echo: string; reply: string } {
  return {
    arpReq: `arp,dl_src=${a.mac},dl_dst=ff:ff:ff:ff:ff:ff,arp_op=1,arp_spa=${a.ip},arp_tpa=${b.ip},arp_sha=${a.mac}`,
    arpRep: `arp,dl_src=${b.mac},dl_dst=${a.mac},arp_op=2,arp_spa=${b.ip},arp_tpa=${a.ip},arp_sha=${b.mac},arp_tha=${a.mac}`,
    echo: `icmp,dl_src=${a.mac},dl_dst=${bMac},nw_src=${a.ip},nw_dst=${b.ip},icmp_type=8`,
    reply: `icmp,dl_src=${b.mac},dl_dst=${aMac},nw_src=${b.ip},nw_dst=${a.ip},icmp_type=0`,
  };
}

// ---------------------------------------------------------------- l2

function l2Scene(sw: Switch): Scene {
  sw.addBridge('warm-l2');
  const pa = hostPort(sw, 'warm-l2', 'wl2a');
  const pb = hostPort(sw, 'warm-l2', 'wl2b');
  const a = { mac: '02:00:00:00:00:0a', ip: '10.0.0.10' };
  const b = { mac: '02:00:fa:00:00:0b', ip: '10.0.0.11' };
  const x = exchange(a, b);
  const ab = `dl_src=${a.mac},dl_dst=${b.mac},nw_src=${a.ip},nw_dst=${b.ip}`;
  const ba = `dl_src=${b.mac},dl_dst=${a.mac},nw_src=${b.ip},nw_dst=${a.ip}`;
  const list: [SwitchPort, string][] = [
    [pa, x.echo],
    [pb, x.reply],
    [pa, x.echo],
    [pb, x.reply],
    [pa, x.arpReq],
    [pb, x.arpRep],
    [pa, `tcp,${ab},tp_src=40000,tp_dst=22`],
    [pb, `udp,${ba},tp_src=5353,tp_dst=40001`],
    [pa, `udp6,dl_src=${a.mac},dl_dst=33:33:00:00:00:fb,tp_src=5353,tp_dst=5353`],
    [pb, `icmp6,dl_src=${b.mac},dl_dst=${a.mac},icmp_type=128`],
  ];
  return { name: 'l2', frames: list.map(([port, m]) => ({ port, frame: frame(m) })), bulk: [{ port: pa, frame: frame(`udp,${ab},tp_src=4000,tp_dst=9`) }] };
}

// ---------------------------------------------------------------- fw

const CT = 'zone=NXM_NX_REG6[0..15]';

/** The Neutron agent's base flows and its firewall flows for ports on local VLAN 1 (a subset). */
function firewallFlows(ports: { ofport: number; mac: string; ip: string }[]): string[] {
  const f = [
    'table=0,priority=65535,dl_vlan=4095,actions=drop',
    'table=0,priority=0,actions=goto_table:58',
    'table=58,priority=0,actions=goto_table:59',
    'table=59,priority=0,actions=goto_table:60',
    'table=60,priority=1,actions=NORMAL',
    ...[71, 72, 73, 81, 82, 92, 93].map((t) => `table=${t},priority=0,actions=drop`),
    'table=71,priority=110,ct_state=+trk,actions=ct_clear,resubmit(,71)',
    'table=60,priority=2,actions=resubmit(,94)',
    'table=94,priority=1,actions=NORMAL',
    'table=91,priority=1,actions=resubmit(,94)',
    'table=72,priority=50,ct_state=+trk+inv,actions=resubmit(,93)',
    'table=82,priority=50,ct_state=+trk+inv,actions=resubmit(,93)',
  ];
  for (const { ofport: p, mac, ip } of ports) {
    f.push(
      `table=60,priority=100,in_port=${p},actions=set_field:${p}->reg5,set_field:1->reg6,resubmit(,71)`,
      `table=60,priority=90,dl_dst=${mac},dl_vlan=1,actions=set_field:${p}->reg5,set_field:1->reg6,strip_vlan,resubmit(,81)`,
      `table=71,priority=95,arp,in_port=${p},dl_src=${mac},arp_spa=${ip},reg5=${p},actions=resubmit(,94)`,
      `table=71,priority=65,ip,in_port=${p},dl_src=${mac},nw_src=${ip},reg5=${p},actions=ct(table=72,${CT})`,
      `table=71,priority=10,in_port=${p},reg5=${p},actions=ct_clear,resubmit(,93)`,
      `table=73,priority=100,dl_dst=${mac},reg6=1,actions=set_field:${p}->reg5,resubmit(,81)`,
      `table=73,priority=90,ip,ct_state=+new-est,reg5=${p},actions=ct(commit,${CT}),resubmit(,91)`,
      `table=73,priority=80,reg5=${p},actions=resubmit(,94)`,
      `table=94,priority=12,dl_dst=${mac},reg6=1,actions=output:${p}`,
      `table=94,priority=12,dl_dst=${mac},dl_vlan=1,actions=strip_vlan,output:${p}`,
      `table=81,priority=100,arp,reg5=${p},actions=output:${p}`,
      `table=81,priority=90,ip,ct_state=-trk,reg5=${p},actions=ct(table=82,${CT})`,
      `table=81,priority=80,ct_state=+trk,reg5=${p},actions=resubmit(,82)`,
    );
    // Tables 72 (egress) and 82 (ingress): the same connection-state rules, then the rules.
    for (const [t, ok] of [
      [72, 'resubmit(,94)'],
      [82, `output:${p}`],
    ] as const) {
      f.push(
        `table=${t},priority=50,ct_state=+est-rel+rpl,ct_mark=0x0,ct_zone=1,reg5=${p},actions=${ok}`,
        `table=${t},priority=50,ct_state=-new-est+rel-inv,ct_mark=0x0,ct_zone=1,reg5=${p},actions=${ok}`,
        `table=${t},priority=40,ct_state=-est,reg5=${p},actions=resubmit(,93)`,
        `table=${t},priority=40,ip,ct_state=+est,reg5=${p},actions=ct(commit,${CT},exec(set_field:0x1->ct_mark))`,
      );
    }
    f.push(
      `table=72,priority=74,ip,ct_state=+est-rel-rpl,reg5=${p},actions=resubmit(,73)`,
      `table=72,priority=74,ip,ct_state=+new-est,reg5=${p},actions=resubmit(,73)`,
    );
    // Ingress rules of the security group: ICMP and UDP 9 from its members (conjunctions: the
    // protocol is clause 2, the remote address clause 1).
    for (const [prio, est, neu, rule] of [
      [71, 18, 19, 'icmp'],
      [73, 22, 23, 'udp,tp_dst=9'],
    ] as const) {
      f.push(
        `table=82,priority=${prio},${rule},ct_state=+est-rel-rpl,reg5=${p},actions=conjunction(${est},2/2)`,
        `table=82,priority=${prio},${rule},ct_state=+new-est,reg5=${p},actions=conjunction(${neu},2/2)`,
      );
    }
    for (const [prio, est, neu] of [
      [71, 18, 19],
      [73, 22, 23],
    ] as const) {
      f.push(
        `table=82,priority=${prio},conj_id=${est},ip,ct_state=+est-rel-rpl,reg5=${p},actions=set_field:${est}->reg7,output:${p}`,
        `table=82,priority=${prio},conj_id=${neu},ip,ct_state=+new-est,reg5=${p},actions=set_field:${neu}->reg7,ct(commit,${CT}),output:${p},resubmit(,92)`,
      );
      for (const m of ports.filter((m) => m.ofport !== p)) {
        f.push(
          `table=82,priority=${prio},ip,nw_src=${m.ip}/32,ct_state=+est-rel-rpl,reg6=1,actions=conjunction(${est},1/2)`,
          `table=82,priority=${prio},ip,nw_src=${m.ip}/32,ct_state=+new-est,reg6=1,actions=conjunction(${neu},1/2)`,
        );
      }
    }
  }
  return f;
}

function firewallScene(sw: Switch): Scene {
  sw.addBridge('warm-fw');
  const a = { ofport: 3, mac: '02:00:00:00:01:0a', ip: '10.0.1.10' };
  const b = { ofport: 4, mac: '02:00:fa:00:01:0b', ip: '10.0.1.11' };
  const pa = hostPort(sw, 'warm-fw', 'wfwa', { tag: 1, ofport: a.ofport });
  const pb = hostPort(sw, 'warm-fw', 'wfwb', { tag: 1, ofport: b.ofport });
  const flows = sw.flows('warm-fw');
  flows.delFlows();
  for (const f of firewallFlows([a, b])) flows.addFlow(f);
  const x = exchange(a, b);
  const ab = `dl_src=${a.mac},dl_dst=${b.mac},nw_src=${a.ip},nw_dst=${b.ip}`;
  const list: [SwitchPort, string][] = [[pa, x.arpReq], [pb, x.arpRep]];
  // Echo request and reply mostly; new UDP connections (ct new, commit, the conjunction's
  // "new" flow) and a TCP SYN among them.
  for (let i = 0; i < 8; i++) {
    list.push([pa, x.echo], [pb, x.reply], [pa, x.echo], [pb, x.reply]);
    list.push([pa, `udp,${ab},tp_src=${40000 + i},tp_dst=9`]);
    if (i % 4 === 0) list.push([pa, `tcp,${ab},tp_src=${41000 + i},tp_dst=22`]);
  }
  return { name: 'fw', frames: list.map(([port, m]) => ({ port, frame: frame(m) })), bulk: [{ port: pa, frame: frame(`udp,${ab},tp_src=40000,tp_dst=9`) }] };
}

// ---------------------------------------------------------------- vlan

function vlanScene(sw: Switch): Scene {
  sw.addBridge('warm-va');
  sw.addBridge('warm-vb');
  const pa = hostPort(sw, 'warm-va', 'wva');
  sw.addPort('warm-va', 'wvpa', { type: 'patch', peer: 'wvpb' });
  sw.addPort('warm-vb', 'wvpb', { type: 'patch', peer: 'wvpa' });
  const pb = hostPort(sw, 'warm-vb', 'wvb');
  const fa = sw.flows('warm-va');
  const fb = sw.flows('warm-vb');
  fa.delFlows();
  fb.delFlows();
  fa.addFlow('in_port=wva,actions=mod_vlan_vid:10,output:wvpa');
  fa.addFlow('in_port=wvpa,dl_vlan=10,actions=strip_vlan,output:wva');
  fb.addFlow('in_port=wvpb,dl_vlan=10,actions=strip_vlan,output:wvb');
  fb.addFlow('in_port=wvb,actions=mod_vlan_vid:10,output:wvpb');
  const x = exchange({ mac: '02:00:00:00:02:0a', ip: '10.0.2.10' }, { mac: '02:00:fa:00:02:0b', ip: '10.0.2.11' });
  const list: [SwitchPort, string][] = [[pa, x.arpReq], [pb, x.arpRep]];
  for (let i = 0; i < 4; i++) list.push([pa, x.echo], [pb, x.reply]);
  const bulk = frame('udp,dl_src=02:00:00:00:02:0a,dl_dst=02:00:fa:00:02:0b,nw_src=10.0.2.10,nw_dst=10.0.2.11,tp_src=4000,tp_dst=9');
  return { name: 'vlan', frames: list.map(([port, m]) => ({ port, frame: frame(m) })), bulk: [{ port: pa, frame: bulk }] };
}

// ---------------------------------------------------------------- router

function routerScene(sw: Switch): Scene {
  sw.addBridge('warm-int');
  sw.addBridge('warm-ex');
  const pi = hostPort(sw, 'warm-int', 'wri', { tag: 1 });
  const pe = hostPort(sw, 'warm-ex', 'wre');
  // Both hosts' MACs and the external network's addresses (172.24.4.0/24, devstack's public
  // network) are words >= 2^31: the router code that had seen only small ones deoptimized at the
  // first real frame from a random MAC ("not a Smi": decideInput, writeAddr; --trace-deopt, the
  // routed scenario of bench/compare).
  const qr = { mac: '02:52:00:00:03:01', ip: '10.0.3.1' };
  const qg = { mac: '02:52:fa:00:04:01', ip: '172.24.4.1' };
  const vm = { mac: '02:00:fa:00:03:0a', ip: '10.0.3.10' };
  const ext = { mac: '02:00:fa:00:04:64', ip: '172.24.4.100' };
  const fip = '172.24.4.50';
  sw.l3.addRouter('warm-up');
  sw.l3.routerAddPort('warm-up', { bridge: 'warm-int', port: 'wqr', mac: qr.mac, cidr: `${qr.ip}/24`, tag: 1 });
  sw.l3.routerAddPort('warm-up', { bridge: 'warm-ex', port: 'wqg', mac: qg.mac, cidr: `${qg.ip}/24`, gateway: true });
  sw.l3.router('warm-up').addFloatingIp(fip, vm.ip);
  // The external host pings the floating IP (DNAT in), the VM answers (SNAT out); ARP for the
  // gateway addresses and the floating IP teaches the router both hosts.
  const inbound = exchange(ext, { mac: qg.mac, ip: fip });
  const vmArp = exchange(vm, qr);
  const list: [SwitchPort, string][] = [
    [pi, vmArp.arpReq],
    [pe, inbound.arpReq],
    [pe, exchange(ext, qg).arpReq],
  ];
  const echo = `icmp,dl_src=${ext.mac},dl_dst=${qg.mac},nw_src=${ext.ip},nw_dst=${fip},icmp_type=8`;
  const reply = `icmp,dl_src=${vm.mac},dl_dst=${qr.mac},nw_src=${vm.ip},nw_dst=${ext.ip},icmp_type=0`;
  for (let i = 0; i < 4; i++) list.push([pe, echo], [pi, reply]);
  // The VM's own traffic out through the floating IP (SNAT), a new UDP connection each.
  for (let i = 0; i < 2; i++) list.push([pi, `udp,dl_src=${vm.mac},dl_dst=${qr.mac},nw_src=${vm.ip},nw_dst=${ext.ip},tp_src=${42000 + i},tp_dst=53`]);
  // UDP from outside to the floating IP (DNAT: the destination rewrite with a UDP checksum) and
  // the VM's answer: without them the first such datagram deoptimized rewritePacket and
  // routeIpv4 (--trace-deopt, bench/compare routed, whose load is exactly this).
  for (let i = 0; i < 2; i++) {
    list.push([pe, `udp,dl_src=${ext.mac},dl_dst=${qg.mac},nw_src=${ext.ip},nw_dst=${fip},tp_src=${43000 + i},tp_dst=9`]);
    list.push([pi, `udp,dl_src=${vm.mac},dl_dst=${qr.mac},nw_src=${vm.ip},nw_dst=${ext.ip},tp_src=9,tp_dst=${43000 + i}`]);
  }
  const bulk = frame(`udp,dl_src=${ext.mac},dl_dst=${qg.mac},nw_src=${ext.ip},nw_dst=${fip},tp_src=43000,tp_dst=9`);
  return { name: 'router', frames: list.map(([port, m]) => ({ port, frame: frame(m) })), bulk: [{ port: pe, frame: bulk }] };
}

/**
 * What a configuration creates once traffic has run: a bridge (its flow pipeline, executor and
 * conntrack stage), two host ports and a router with a port. Why: some fields of these objects
 * start as small integers and hold doubles once frames have run (the batch clock in the conntrack
 * stage, a port's stats period), which gives their class a new map; the objects made before that
 * (all of the scenes') were recorded with the old one, so the user's first bridge or port, made
 * with the new map, generalized those fields and deoptimized the code that relied on them
 * (--trace-generalization --trace-deopt on the daemon: Bridge.input and runCt by the executor's
 * `ct`, rxBurst by the port's `statsPeriod`, at the user's add-br and add-port). Made during the
 * warm-up, after its first round, that happens there and the later rounds compile again.
 */
export function addLateObjects(sw: Switch): void {
  sw.addBridge('warm-late');
  hostPort(sw, 'warm-late', 'wlta');
  hostPort(sw, 'warm-late', 'wltb');
  sw.l3.addRouter('warm-late');
  sw.l3.routerAddPort('warm-late', { bridge: 'warm-late', port: 'wltr', mac: '02:52:00:00:05:01', cidr: '10.0.5.1/24' });
}

/**
 * Build every scene on `sw` (a scratch switch: it adds bridges, ports, flows and a router). Its
 * afpacket ports must open through an IoFactory that puts nothing on a wire.
 */
export function buildScenes(sw: Switch): Scene[] {
  return [l2Scene(sw), firewallScene(sw), vlanScene(sw), routerScene(sw)];
}
