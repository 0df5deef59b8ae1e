/**
 * The 'nat' scenario's router for Open vSwitch: the same router tvs runs (`add-router r1`, a
 * tenant port 10.222.1.1 and a gateway port 10.222.2.1, floating IP 10.222.2.50 for h1), written
 * as OpenFlow flows the way an OVS user writes a router without a kernel namespace — the shape of
 * OVN's logical router pipeline (lr_in_admission → lr_in_ip_routing → lr_in_arp_resolve, with
 * dnat_and_snat as conntrack NAT) and of Neutron's ARP responder.
 *
 * What both switches do per packet, so the comparison is fair:
 *   - the hosts resolve the gateway address and the floating IP by ARP (nothing static on them):
 *     the router answers for its own addresses and, on the gateway network, for the floating IP;
 *   - to the floating IP (the load and the ping, h2 → 10.222.2.50): DNAT to h1 through a
 *     connection (tvs: its NAT session; OVS: a conntrack entry), h1's replies un-DNATed, so h2
 *     sees the floating IP as their source;
 *   - from h1 outward (the back-ping h1 → h2): SNAT to the floating IP, ports kept;
 *   - then route by destination: TTL decremented, source MAC the router port's, destination MAC
 *     the next hop's.
 * Where they differ, on purpose: tvs learns the next hops' MACs by ARP (once, then a cache hit
 * per packet); here they are flows (OVN fills its MAC_Binding table through the controller, which
 * this private OVS does not have) — the per-packet work, one lookup, is the same. Neither answers
 * what the bench does not send (echo to a router address, ICMP errors, SNAT of other tenant
 * addresses to the gateway address, hairpin); OVS drops those.
 *
 * One bridge, datapath_type=netdev, p1 (h1, tenant side) and p2 (h2, external side) as access
 * ports: tvs's br-int / br-ex split carries no VLAN on the wire either (p1 is an access port), and
 * OVS folds patch ports into one datapath pass anyway.
 */

/** The routed scenario's addresses (lab.ts ADDR.nat); declared here so this file needs nothing from lab.ts. */
interface NatAddr {
  h1: string;
  gw1: string;
  h2: string;
  gw2: string;
  fip: string;
  prefix: number;
}

/** OpenFlow port numbers (ofport_request) of the two host-facing ports. */
export const ROUTER_OFPORTS = { p1: 1, p2: 2 };

/** The router ports' MACs: the ones tvs's scenario gives qr-1 and qg-1. */
export const ROUTER_MACS = { qr: '02:52:00:00:01:01', qg: '02:52:00:00:ff:01' };

/** Conntrack zone of the router's NAT (OVN gives each router its own). */
export const NAT_ZONE = 1;

/** OpenFlow tables, in the order a packet walks them. */
export const T = { admission: 0, afterCt: 10, routing: 20, arpResolve: 30 };

/** An IPv4 address as a register value (ovs-ofctl reads registers as integers only). */
function regIp(ip: string): string {
  return '0x' + ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('');
}

/** The subnet (network address/prefix) of `ip`/`prefix`. */
function subnet(ip: string, prefix: number): string {
  const n = ip.split('.').reduce((x, o) => (x << 8) | Number(o), 0) >>> 0;
  const m = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const net = (n & m) >>> 0;
  return `${[24, 16, 8, 0].map((sh) => (net >>> sh) & 255).join('.')}/${prefix}`;
}

/**
 * The answer to an ARP request for `ip`, sent back out the port it came in on: Neutron's ARP
 * responder (ovs_bridge `install_arp_responder`), with set_field in place of NXM moves and loads.
 */
function arpResponder(inPort: number, ip: string, mac: string): string {
  return (
    `table=${T.admission},priority=100,in_port=${inPort},arp,arp_op=1,arp_tpa=${ip} actions=` +
    [
      'move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]',
      `set_field:${mac}->eth_src`,
      'set_field:2->arp_op',
      'move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[]',
      'move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[]',
      `set_field:${mac}->arp_sha`,
      `set_field:${ip}->arp_spa`,
      'IN_PORT',
    ].join(',')
  );
}

/**
 * The flow set for the addresses `a` (lab.ts ADDR.nat) and the hosts' MACs (the router's static
 * neighbours): one flow per line in `ovs-ofctl add-flows` syntax, comments as `#` lines.
 * `nat: false` leaves out the two flows that open a NAT connection, to see by hand that nothing
 * crosses without them (test/integration/bench-routed-scenario.test.ts fails so).
 */
export function ovsRouterFlows(a: NatAddr, hostMacs: { h1: string; h2: string }, opts: { nat?: boolean } = {}): string[] {
  const { p1, p2 } = ROUTER_OFPORTS;
  const z = NAT_ZONE;
  const nat = opts.nat !== false;
  return [
    '# admission: ARP for the router\'s addresses, answered in place',
    arpResponder(p1, a.gw1, ROUTER_MACS.qr),
    arpResponder(p2, a.gw2, ROUTER_MACS.qg),
    '# the floating IP lives on the gateway network: the router answers for it (tvs does the same)',
    arpResponder(p2, a.fip, ROUTER_MACS.qg),
    '# IPv4 to the router port\'s MAC: through conntrack first. `nat` without arguments applies an',
    '# existing connection\'s translation (DNAT of the FIP to h1, or back to the FIP for h1\'s replies)',
    '# and recirculates, so everything after matches on the translated headers.',
    `table=${T.admission},priority=50,in_port=${p1},ip,dl_dst=${ROUTER_MACS.qr} actions=ct(zone=${z},nat,table=${T.afterCt})`,
    `table=${T.admission},priority=50,in_port=${p2},ip,dl_dst=${ROUTER_MACS.qg} actions=ct(zone=${z},nat,table=${T.afterCt})`,
    '# anything else (other MACs, other ethertypes) is not for the router',
    `table=${T.admission},priority=0 actions=drop`,

    '# after conntrack: invalid packets are dropped; a committed connection\'s packets (either',
    '# direction, already translated) and ICMP errors about one go to routing. Not `+est` alone: a',
    '# one-way stream (the UDP load) stays +new until a reply comes back, so a packet the `nat`',
    '# above translated is known by +dnat (to the FIP, or h1\'s replies after the back-ping\'s SNAT)',
    '# or +snat (h1\'s replies to a DNATed connection, h1\'s outbound connection)',
    `table=${T.afterCt},priority=100,ct_state=+trk+inv actions=drop`,
    `table=${T.afterCt},priority=90,ct_state=+trk+est,ip actions=resubmit(,${T.routing})`,
    `table=${T.afterCt},priority=90,ct_state=+trk+rel,ip actions=resubmit(,${T.routing})`,
    `table=${T.afterCt},priority=90,ct_state=+trk+dnat,ip actions=resubmit(,${T.routing})`,
    `table=${T.afterCt},priority=90,ct_state=+trk+snat,ip actions=resubmit(,${T.routing})`,
    ...(nat
      ? [
          '# a new connection to the floating IP from outside: DNAT to h1, committed, recirculated so',
          '# routing sees h1 as the destination',
          `table=${T.afterCt},priority=80,ct_state=+trk+new,in_port=${p2},ip,nw_dst=${a.fip} actions=ct(commit,zone=${z},nat(dst=${a.h1}),table=${T.routing})`,
          '# a new connection from h1 outward: SNAT to its floating IP (ports kept, as 1:1 NAT does)',
          `table=${T.afterCt},priority=80,ct_state=+trk+new,in_port=${p1},ip,nw_src=${a.h1} actions=ct(commit,zone=${z},nat(src=${a.fip}),table=${T.routing})`,
        ]
      : []),
    '# new connections to anything else from outside (tenant addresses without a FIP), or from tenant',
    '# addresses without one (tvs would SNAT those to the gateway address; the bench has none): dropped',
    `table=${T.afterCt},priority=0 actions=drop`,

    '# routing: longest prefix first (priority = prefix length, as OVN), directly connected subnets:',
    '# the next hop (reg0) is the destination itself. TTL decremented (a TTL of 1 goes to the',
    '# controller, which this OVS has not: dropped), source MAC the outgoing router port\'s.',
    `table=${T.routing},priority=${a.prefix},ip,nw_dst=${subnet(a.gw1, a.prefix)} actions=dec_ttl,set_field:${ROUTER_MACS.qr}->eth_src,move:NXM_OF_IP_DST[]->NXM_NX_REG0[],resubmit(,${T.arpResolve})`,
    `table=${T.routing},priority=${a.prefix},ip,nw_dst=${subnet(a.gw2, a.prefix)} actions=dec_ttl,set_field:${ROUTER_MACS.qg}->eth_src,move:NXM_OF_IP_DST[]->NXM_NX_REG0[],resubmit(,${T.arpResolve})`,
    `table=${T.routing},priority=0 actions=drop`,

    '# next hop → its MAC and port (OVN lr_in_arp_resolve; the neighbours are known)',
    `table=${T.arpResolve},priority=100,reg0=${regIp(a.h1)} actions=set_field:${hostMacs.h1}->eth_dst,output:${p1}`,
    `table=${T.arpResolve},priority=100,reg0=${regIp(a.h2)} actions=set_field:${hostMacs.h2}->eth_dst,output:${p2}`,
    `table=${T.arpResolve},priority=0 actions=drop`,
  ];
}
