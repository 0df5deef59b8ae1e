/**
 * The flows Neutron's OVS agent would send a switch, as ovs-ofctl text (docs/neutron.md): its
 * openvswitch firewall driver on br-int (security groups) and its br-tun. A client of the switch:
 * nothing here imports it but the public face, src/index.ts (`neutron`).
 */
export * from './firewall-flows';
export * from './br-tun-flows';
