"""Neutron's OVS agent, VLAN part, as its native (os-ken) OpenFlow driver programs br-int and a
physical bridge: the same parser classes, OXM matches, priorities, tables and Nicira actions as
neutron/plugins/ml2/drivers/openvswitch/agent/openflow/native/br_int.py and br_phys.py
(setup_default_table, drop_port, provision_local_vlan, install_dscp_marking_rule,
setup_local_egress_flows). One instance per node, as the agent runs one controller per node.

The bridge is told apart by its patch port, as the agent names them: br-int holds
'int-<phys bridge>', the physical bridge 'phy-<phys bridge>'.

Configuration (JSON file named by TVS_NEUTRON_CONF):
  {"cookie": 4660, "int_peer": "int-br-eth1", "phy_peer": "phy-br-eth1",
   "networks": [{"lvid": 1, "segmentation_id": 101}, {"lvid": 3, "segmentation_id": null}],
   "vm_ports": [{"port": "tvn...", "lvid": 1, "dscp": 10}]}
Run: TVS_NEUTRON_CONF=conf.json /usr/bin/python3 /usr/bin/osken-manager \
       --ofp-listen-host 127.0.0.1 --ofp-tcp-listen-port P neutron_vlan.py
"""
import json
import os

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.ofproto import ofproto_v1_3

# neutron_lib.plugins.ml2.ovs_constants
LOCAL_SWITCHING = 0
CANARY_TABLE = 23
ARP_SPOOF_TABLE = 24
LOCAL_EGRESS_TABLE = 30
LOCAL_IP_TABLE = 31
PACKET_RATE_LIMIT = 59
TRANSIENT_TABLE = 60
TRANSIENT_EGRESS_TABLE = 61
DEAD_VLAN_TAG = 4095
OPENFLOW_MAX_PRIORITY = 65535


class NeutronVlanAgent(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        with open(os.environ['TVS_NEUTRON_CONF']) as f:
            self.conf = json.load(f)
        self.cookie = self.conf.get('cookie', 0)

    # ------------------------------------------------------------ ovs_bridge.py helpers

    def install_instructions(self, dp, instructions, table_id=0, priority=0, match=None, **match_kwargs):
        ofpp = dp.ofproto_parser
        if match is None:
            match = ofpp.OFPMatch(**match_kwargs)
        dp.send_msg(ofpp.OFPFlowMod(dp, table_id=table_id, cookie=self.cookie, match=match,
                                    priority=priority, instructions=instructions))

    def install_apply_actions(self, dp, actions, **kw):
        ofp, ofpp = dp.ofproto, dp.ofproto_parser
        self.install_instructions(dp, [ofpp.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)], **kw)

    def install_normal(self, dp, table_id=0, priority=0, **kw):
        ofp, ofpp = dp.ofproto, dp.ofproto_parser
        self.install_apply_actions(dp, [ofpp.OFPActionOutput(ofp.OFPP_NORMAL, 0)], table_id=table_id, priority=priority, **kw)

    def install_goto(self, dp, dest_table_id, table_id=0, priority=0, **kw):
        ofpp = dp.ofproto_parser
        self.install_instructions(dp, [ofpp.OFPInstructionGotoTable(table_id=dest_table_id)], table_id=table_id, priority=priority, **kw)

    def install_drop(self, dp, table_id=0, priority=0, **kw):
        self.install_instructions(dp, [], table_id=table_id, priority=priority, **kw)

    def delete_flows(self, dp):
        ofp, ofpp = dp.ofproto, dp.ofproto_parser
        dp.send_msg(ofpp.OFPFlowMod(dp, command=ofp.OFPFC_DELETE, table_id=ofp.OFPTT_ALL,
                                    out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY, match=ofpp.OFPMatch()))

    # ------------------------------------------------------------ connection

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def switch_features(self, ev):
        dp = ev.msg.datapath
        dp.send_msg(dp.ofproto_parser.OFPPortDescStatsRequest(dp, 0))

    @set_ev_cls(ofp_event.EventOFPPortDescStatsReply, MAIN_DISPATCHER)
    def port_desc(self, ev):
        dp = ev.msg.datapath
        ports = {p.name.decode() if isinstance(p.name, bytes) else p.name: p.port_no for p in ev.msg.body}
        if self.conf['int_peer'] in ports:
            self.setup_int_br(dp, ports)
        elif self.conf['phy_peer'] in ports:
            self.setup_phys_br(dp, ports)
        else:
            self.logger.info('UNKNOWN BRIDGE dpid=%016x ports=%s', dp.id, sorted(ports))
            return
        dp.send_msg(dp.ofproto_parser.OFPBarrierRequest(dp))

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def barrier(self, ev):
        self.logger.info('PROGRAMMED dpid=%016x', ev.msg.datapath.id)

    @set_ev_cls(ofp_event.EventOFPErrorMsg, MAIN_DISPATCHER)
    def error(self, ev):
        m = ev.msg
        self.logger.info('OFPT_ERROR type=%d code=%d', m.type, m.code)

    # ------------------------------------------------------------ br-int (br_int.py)

    def setup_int_br(self, dp, ports):
        ofp, ofpp = dp.ofproto, dp.ofproto_parser
        self.delete_flows(dp)
        # setup_default_table
        self.install_drop(dp, table_id=CANARY_TABLE)
        self.install_goto(dp, dest_table_id=PACKET_RATE_LIMIT)
        self.install_goto(dp, dest_table_id=TRANSIENT_TABLE, table_id=PACKET_RATE_LIMIT)
        self.install_normal(dp, table_id=TRANSIENT_TABLE, priority=3)
        self.install_drop(dp, table_id=ARP_SPOOF_TABLE)
        self.install_drop(dp, table_id=LOCAL_SWITCHING, priority=OPENFLOW_MAX_PRIORITY,
                          vlan_vid=ofp.OFPVID_PRESENT | DEAD_VLAN_TAG)
        self.install_normal(dp, table_id=TRANSIENT_EGRESS_TABLE, priority=3)
        self.install_goto(dp, dest_table_id=PACKET_RATE_LIMIT, table_id=LOCAL_EGRESS_TABLE)
        self.install_goto(dp, dest_table_id=PACKET_RATE_LIMIT, table_id=LOCAL_IP_TABLE)
        # drop_port: nothing enters from the physical network unless a local VLAN claims it
        int_ofport = ports[self.conf['int_peer']]
        self.install_drop(dp, table_id=LOCAL_SWITCHING, priority=2, in_port=int_ofport)
        # provision_local_vlan
        for net in self.conf['networks']:
            lvid, seg = net['lvid'], net['segmentation_id']
            if seg is None:
                vlan_vid = ofp.OFPVID_NONE
                actions = [ofpp.OFPActionPushVlan()]
            else:
                vlan_vid = seg | ofp.OFPVID_PRESENT
                actions = []
            actions += [ofpp.OFPActionSetField(vlan_vid=lvid | ofp.OFPVID_PRESENT)]
            instructions = [ofpp.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions),
                            ofpp.OFPInstructionGotoTable(table_id=PACKET_RATE_LIMIT)]
            self.install_instructions(dp, instructions, priority=3,
                                      match=ofpp.OFPMatch(in_port=int_ofport, vlan_vid=vlan_vid))
        for vm in self.conf.get('vm_ports', []):
            port = ports.get(vm['port'])
            if port is None:
                self.logger.info('NO PORT %s', vm['port'])
                continue
            # setup_local_egress_flows: reg6 = the port's local VLAN, resubmit to LOCAL_IP_TABLE
            self.install_goto(dp, table_id=LOCAL_SWITCHING, priority=8, in_port=port, dest_table_id=LOCAL_EGRESS_TABLE)
            actions = [ofpp.OFPActionSetField(reg6=vm['lvid']),
                       ofpp.NXActionResubmitTable(in_port=port, table_id=LOCAL_IP_TABLE)]
            self.install_instructions(dp, [ofpp.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)],
                                      table_id=LOCAL_EGRESS_TABLE, priority=10, in_port=port)
            if 'dscp' in vm:
                # install_dscp_marking_rule: mark, flag in reg2, resubmit through table 0 again
                actions = [ofpp.OFPActionSetField(reg2=1),
                           ofpp.OFPActionSetField(ip_dscp=vm['dscp']),
                           ofpp.NXActionResubmit(in_port=port)]
                inst = [ofpp.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)]
                self.install_instructions(dp, inst, table_id=0, priority=65535, in_port=port, reg2=0, eth_type=0x0800)
                self.install_instructions(dp, inst, table_id=0, priority=65535, in_port=port, reg2=0, eth_type=0x86DD)
        self.logger.info('BR-INT dpid=%016x ports=%s', dp.id, sorted(ports))

    # ------------------------------------------------------------ physical bridge (br_phys.py)

    def setup_phys_br(self, dp, ports):
        ofp, ofpp = dp.ofproto, dp.ofproto_parser
        self.delete_flows(dp)
        self.install_normal(dp)
        phy_ofport = ports[self.conf['phy_peer']]
        self.install_drop(dp, table_id=0, priority=2, in_port=phy_ofport)
        for net in self.conf['networks']:
            lvid, seg = net['lvid'], net['segmentation_id']
            match = ofpp.OFPMatch(in_port=phy_ofport, vlan_vid=lvid | ofp.OFPVID_PRESENT)
            if seg is None:
                actions = [ofpp.OFPActionPopVlan()]
            else:
                actions = [ofpp.OFPActionSetField(vlan_vid=seg | ofp.OFPVID_PRESENT)]
            actions += [ofpp.OFPActionOutput(ofp.OFPP_NORMAL, 0)]
            self.install_apply_actions(dp, actions, table_id=0, priority=4, match=match)
        self.logger.info('BR-PHYS dpid=%016x ports=%s', dp.id, sorted(ports))
