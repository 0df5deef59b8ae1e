"""A minimal stateful firewall as an os-ken OpenFlow 1.3 app: conntrack matches with
OFPMatch(ct_state=(value, mask), ct_zone=..., ct_mark=..., ct_label=(value, mask)) and Nicira
ct actions (NXActionCT with nested set_field to ct_mark / ct_label), the way os-ken apps and
Neutron's native driver build them.

  table 0  ip                                   -> ct(table=1, zone=Z)
  table 0  anything else (ARP)                  -> NORMAL
  table 1  ct_state=+inv+trk                    -> drop
  table 1  ct_state=+new+trk, ip, in_port=TRUSTED -> ct(commit, zone=Z, exec(ct_mark=MARK, ct_label=LABEL)), NORMAL
  table 1  ct_state=+est+trk, ct_zone=Z, ct_mark=MARK, ct_label=LABEL/0xff, ip -> NORMAL
  table 1  anything else                        -> drop

Configuration (JSON file named by TVS_CT_FW_CONF): {"trusted_port": "tvs...", "zone": 7,
"mark": 42, "label": 5}. Logs PROGRAMMED dpid=... once the switch has answered a barrier after
the flows, then FLOWSTATS priority=N match={...} for each flow of table 1 as os-ken parses the
switch's FLOW stats reply, and OFPT_ERROR type=.. code=.. for any error the switch sends.
"""
import json
import os

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.ofproto import ofproto_v1_3

ETH_IP = 0x0800
CS_NEW, CS_EST, CS_INV, CS_TRK = 0x01, 0x02, 0x10, 0x20
NX_CT_F_COMMIT = 1


class CtFirewall(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        with open(os.environ['TVS_CT_FW_CONF']) as f:
            self.conf = json.load(f)

    def flow(self, dp, table, priority, match, actions, goto=None):
        ofp, ofpp = dp.ofproto, dp.ofproto_parser
        inst = [ofpp.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)] if actions else []
        dp.send_msg(ofpp.OFPFlowMod(dp, table_id=table, priority=priority, match=match, instructions=inst))

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def switch_features(self, ev):
        dp = ev.msg.datapath
        dp.send_msg(dp.ofproto_parser.OFPPortDescStatsRequest(dp, 0))

    @set_ev_cls(ofp_event.EventOFPPortDescStatsReply, MAIN_DISPATCHER)
    def port_desc(self, ev):
        dp = ev.msg.datapath
        ofp, ofpp = dp.ofproto, dp.ofproto_parser
        ports = {p.name.decode() if isinstance(p.name, bytes) else p.name: p.port_no for p in ev.msg.body}
        trusted = ports[self.conf['trusted_port']]
        zone, mark, label = self.conf['zone'], self.conf['mark'], self.conf['label']
        normal = [ofpp.OFPActionOutput(ofp.OFPP_NORMAL, 0)]
        dp.send_msg(ofpp.OFPFlowMod(dp, command=ofp.OFPFC_DELETE, table_id=ofp.OFPTT_ALL,
                                    out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY, match=ofpp.OFPMatch()))
        self.flow(dp, 0, 100, ofpp.OFPMatch(eth_type=ETH_IP),
                  [ofpp.NXActionCT(flags=0, zone_src=None, zone_ofs_nbits=zone, recirc_table=1, alg=0, actions=[])])
        self.flow(dp, 0, 0, ofpp.OFPMatch(), normal)
        self.flow(dp, 1, 200, ofpp.OFPMatch(ct_state=(CS_INV | CS_TRK, CS_INV | CS_TRK)), [])
        commit = ofpp.NXActionCT(flags=NX_CT_F_COMMIT, zone_src=None, zone_ofs_nbits=zone, recirc_table=255, alg=0,
                                 actions=[ofpp.OFPActionSetField(ct_mark=mark), ofpp.OFPActionSetField(ct_label=label)])
        self.flow(dp, 1, 100, ofpp.OFPMatch(in_port=trusted, eth_type=ETH_IP, ct_state=(CS_NEW | CS_TRK, CS_NEW | CS_TRK)),
                  [commit] + normal)
        self.flow(dp, 1, 100, ofpp.OFPMatch(eth_type=ETH_IP, ct_state=(CS_EST | CS_TRK, CS_EST | CS_TRK), ct_zone=zone,
                                            ct_mark=mark, ct_label=(label, 0xff)), normal)
        self.flow(dp, 1, 0, ofpp.OFPMatch(), [])
        dp.send_msg(ofpp.OFPBarrierRequest(dp))

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def barrier(self, ev):
        dp = ev.msg.datapath
        self.logger.info('PROGRAMMED dpid=%016x', dp.id)
        # Read the flows back: os-ken parses the switch's own encoding of the ct matches.
        dp.send_msg(dp.ofproto_parser.OFPFlowStatsRequest(dp, table_id=1))

    @set_ev_cls(ofp_event.EventOFPFlowStatsReply, MAIN_DISPATCHER)
    def flow_stats(self, ev):
        for f in ev.msg.body:
            fields = dict(f.match.items())
            self.logger.info('FLOWSTATS priority=%d match=%s', f.priority, json.dumps(fields, sort_keys=True))

    @set_ev_cls(ofp_event.EventOFPErrorMsg, MAIN_DISPATCHER)
    def error(self, ev):
        m = ev.msg
        self.logger.info('OFPT_ERROR type=%d code=%d', m.type, m.code)
