import t from 'tap';
import { PacketArena } from '../../src/packet/arena';
import { FlowPipeline } from '../../src/flow/pipeline';
import { FlowSyntaxError, parseFlow } from '../../src/flow/ofctl-parse';
import { flowAges, formatActions, formatMatch, formatFlowEntry, formatRule, formatPortName } from '../../src/flow/ofctl-format';
import { compile } from '../../src/flow/actions';
import * as A from '../../src/flow/actions';

const PORTS: Record<string, number> = { 'phy-br-eth1': 1, 'int-br-eth1': 2, tap1: 3, eth1: 4, 'patch-tun': 5, qvo1234: 6 };
const opts = { resolvePort: (n: string) => PORTS[n] ?? -1 };
const names = (o: number) => Object.keys(PORTS).find((k) => PORTS[k] === o);

function pipeline() {
  let now = 5000;
  const arena = new PacketArena({ slots: 8, slotSize: 4096 });
  const p = new FlowPipeline({ arena, clock: () => now, resolvePort: opts.resolvePort, portName: names });
  return { p, advance: (ms: number) => (now += ms) };
}

/** [input match text, canonical formatted text] — OVS match_format output. */
const MATCHES: [string, string][] = [
  ['', ''],
  ['priority=0', 'priority=0'],
  ['priority=32768', ''],
  ['in_port=1', 'in_port="phy-br-eth1"'],
  ['in_port=tap1', 'in_port=tap1'],
  ['in_port=9', 'in_port=9'],
  ['in_port=LOCAL', 'in_port=LOCAL'],
  ['in_port=0', 'in_port=0'], // OVS 3.1 parse-flow accepts it (matches no port)
  ['dl_src=00:11:22:33:44:55', 'dl_src=00:11:22:33:44:55'],
  ['dl_dst=01:00:00:00:00:00/01:00:00:00:00:00', 'dl_dst=01:00:00:00:00:00/01:00:00:00:00:00'],
  ['dl_type=0x88cc', 'dl_type=0x88cc'],
  ['dl_type=0x0800', 'ip'],
  ['dl_vlan=1', 'dl_vlan=1'],
  ['dl_vlan=0xffff', 'vlan_tci=0x0000'],
  ['dl_vlan_pcp=5', 'dl_vlan_pcp=5'],
  ['dl_vlan=10,dl_vlan_pcp=3', 'dl_vlan=10,dl_vlan_pcp=3'],
  ['vlan_tci=0x0000/0x1fff', 'vlan_tci=0x0000/0x1fff'],
  ['vlan_tci=0x1005/0x1fff', 'dl_vlan=5'],
  ['vlan_tci=0x1000/0x1000', 'vlan_tci=0x1000/0x1000'],
  ['ip,nw_src=10.0.0.0/8', 'ip,nw_src=10.0.0.0/8'],
  ['ip,nw_dst=10.1.2.3', 'ip,nw_dst=10.1.2.3'],
  ['ip,nw_dst=10.1.2.3/255.0.255.0', 'ip,nw_dst=10.0.2.0/255.0.255.0'],
  ['nw_src=192.168.0.1/24,ip', 'ip,nw_src=192.168.0.0/24'],
  ['ip,nw_proto=47', 'ip,nw_proto=47'],
  ['ip,nw_tos=184', 'ip,nw_tos=184'],
  ['ip,nw_ttl=1', 'ip,nw_ttl=1'],
  ['tcp', 'tcp'],
  ['tcp,tp_dst=80', 'tcp,tp_dst=80'],
  ['udp,tp_src=0x100/0xff00', 'udp,tp_src=0x100/0xff00'],
  ['tcp,tcp_dst=443', 'tcp,tp_dst=443'],
  ['icmp,icmp_type=8,icmp_code=0', 'icmp,icmp_type=8,icmp_code=0'],
  ['arp', 'arp'],
  ['arp,arp_op=1,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/24', 'arp,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/24,arp_op=1'],
  ['arp,nw_dst=10.0.0.5', 'arp,arp_tpa=10.0.0.5'],
  ['arp,arp_sha=fa:16:3e:00:00:01,arp_tha=00:00:00:00:00:00', 'arp,arp_sha=fa:16:3e:00:00:01,arp_tha=00:00:00:00:00:00'],
  ['metadata=0x5', 'metadata=0x5'],
  ['metadata=0/0xff', 'metadata=0/0xff'],
  ['metadata=0x100000001', 'metadata=0x100000001'],
  ['reg0=5', 'reg0=0x5'],
  ['reg7=0', 'reg7=0'],
  ['reg3=0x10/0xf0', 'reg3=0x10/0xf0'],
  ['ipv6', 'ipv6'],
  ['tcp6,tp_dst=22', 'tcp6,tp_dst=22'],
  ['udp6', 'udp6'],
  ['icmp6,icmp_type=135', 'icmp6,icmp_type=135'],
  ['ipv6,nw_proto=58', 'icmp6'],
  ['priority=4,in_port=1,dl_vlan=1', 'priority=4,in_port="phy-br-eth1",dl_vlan=1'],
  ['tcp,in_port=3,reg1=1,metadata=2,dl_vlan=3,dl_src=00:00:00:00:00:01,nw_src=1.2.3.4,tp_dst=80', 'tcp,reg1=0x1,metadata=0x2,in_port=tap1,dl_vlan=3,dl_src=00:00:00:00:00:01,nw_src=1.2.3.4,tp_dst=80'],
];

t.test('match round-trip (text → match → OVS format → same match)', async (t) => {
  for (const [input, want] of MATCHES) {
    const s = parseFlow(input, 'match', opts);
    const got = formatMatch(s.match, s.priority ?? 32768, names);
    t.equal(got, want, input || '(empty)');
    const back = parseFlow(got, 'match', opts);
    t.ok(back.match.equals(s.match), `${input}: reparse gives the same match`);
  }
});

/** [input actions, canonical formatted text, compiled plan]. */
const ACTIONS: [string, string, number[]][] = [
  ['drop', 'drop', []],
  ['output:3', 'output:tap1', [A.OP_OUTPUT, 3]],
  ['3', 'output:tap1', [A.OP_OUTPUT, 3]],
  ['output:9', 'output:9', [A.OP_OUTPUT, 9]],
  ['output:phy-br-eth1', 'output:"phy-br-eth1"', [A.OP_OUTPUT, 1]],
  ['output:"phy-br-eth1"', 'output:"phy-br-eth1"', [A.OP_OUTPUT, 1]],
  ['tap1', 'output:tap1', [A.OP_OUTPUT, 3]],
  ['in_port', 'IN_PORT', [A.OP_IN_PORT]],
  ['output:in_port', 'IN_PORT', [A.OP_IN_PORT]],
  ['normal', 'NORMAL', [A.OP_NORMAL]],
  ['FLOOD,ALL', 'FLOOD,ALL', [A.OP_FLOOD, A.OP_ALL]],
  ['LOCAL', 'LOCAL', [A.OP_OUTPUT, 0xfffe]],
  ['controller', 'CONTROLLER:65535', [A.OP_CONTROLLER, 65535]],
  ['controller:128', 'CONTROLLER:128', [A.OP_CONTROLLER, 128]],
  ['controller(max_len=64)', 'CONTROLLER:64', [A.OP_CONTROLLER, 64]],
  ['mod_vlan_vid:101,NORMAL', 'mod_vlan_vid:101,NORMAL', [A.OP_SET_VLAN_VID, 101, A.OP_NORMAL]],
  ['mod_vlan_pcp:5,1', 'mod_vlan_pcp:5,output:"phy-br-eth1"', [A.OP_SET_VLAN_PCP, 5, A.OP_OUTPUT, 1]],
  ['strip_vlan,1', 'strip_vlan,output:"phy-br-eth1"', [A.OP_STRIP_VLAN, A.OP_OUTPUT, 1]],
  ['pop_vlan,1', 'pop_vlan,output:"phy-br-eth1"', [A.OP_STRIP_VLAN, A.OP_OUTPUT, 1]],
  ['push_vlan:0x8100,set_field:4097->vlan_vid,NORMAL', 'push_vlan:0x8100,set_field:4097->vlan_vid,NORMAL', [A.OP_PUSH_VLAN, 0x8100, A.OP_SET_VLAN_VID_SF, 4097, A.OP_NORMAL]],
  ['push_vlan:0x88a8,1', 'push_vlan:0x88a8,output:"phy-br-eth1"', [A.OP_PUSH_VLAN, 0x88a8, A.OP_OUTPUT, 1]],
  ['set_field:fa:16:3e:00:00:01->eth_src,1', 'set_field:fa:16:3e:00:00:01->eth_src,output:"phy-br-eth1"', [A.OP_SET_ETH_SRC, 0xfa16, 0x3e000001 | 0, A.OP_OUTPUT, 1]],
  ['set_field:5->reg0,1', 'set_field:0x5->reg0,output:"phy-br-eth1"', [A.OP_LOAD, 18, 0, -1, 0, 5, A.OP_OUTPUT, 1]],
  ['set_field:0x1/0xff->metadata,1', 'set_field:0x1/0xff->metadata,output:"phy-br-eth1"', [A.OP_LOAD, 17, 0, 0xff, 0, 1, A.OP_OUTPUT, 1]],
  ['mod_dl_src:00:00:00:00:00:01,mod_dl_dst:00:00:00:00:00:02,1', 'mod_dl_src:00:00:00:00:00:01,mod_dl_dst:00:00:00:00:00:02,output:"phy-br-eth1"', [A.OP_SET_ETH_SRC, 0, 1, A.OP_SET_ETH_DST, 0, 2, A.OP_OUTPUT, 1]],
  ['mod_nw_src:10.0.0.1,mod_nw_dst:10.0.0.2,mod_nw_tos:16,1', 'mod_nw_src:10.0.0.1,mod_nw_dst:10.0.0.2,mod_nw_tos:16,output:"phy-br-eth1"', [A.OP_SET_IPV4_SRC, 0x0a000001, A.OP_SET_IPV4_DST, 0x0a000002, A.OP_SET_IP_DSCP, 16, A.OP_OUTPUT, 1]],
  ['mod_tp_src:1,mod_tp_dst:2,1', 'mod_tp_src:1,mod_tp_dst:2,output:"phy-br-eth1"', [A.OP_SET_L4_SRC, 1, 0, A.OP_SET_L4_DST, 2, 0, A.OP_OUTPUT, 1]],
  ['dec_ttl,1', 'dec_ttl,output:"phy-br-eth1"', [A.OP_DEC_TTL, A.OP_OUTPUT, 1]],
  // Controller ids are kept and printed back as OVS 3.1 parse-flow does (dec_ttl:5 -> dec_ttl(5)).
  ['dec_ttl(1,2),1', 'dec_ttl(1,2),output:"phy-br-eth1"', [A.OP_DEC_TTL, A.OP_OUTPUT, 1]],
  ['dec_ttl:5,1', 'dec_ttl(5),output:"phy-br-eth1"', [A.OP_DEC_TTL, A.OP_OUTPUT, 1]],
  ['dec_ttl(0),1', 'dec_ttl(0),output:"phy-br-eth1"', [A.OP_DEC_TTL, A.OP_OUTPUT, 1]],
  ['dec_ttl(1 2),1', 'dec_ttl(1,2),output:"phy-br-eth1"', [A.OP_DEC_TTL, A.OP_OUTPUT, 1]],
  ['dec_ttl(),1', 'dec_ttl,output:"phy-br-eth1"', [A.OP_DEC_TTL, A.OP_OUTPUT, 1]],
  // OVS 3.1 accepts port 0 (no port has that number: it sends nothing).
  ['output:0', 'output:0', [A.OP_OUTPUT, 0]],
  ['0', 'output:0', [A.OP_OUTPUT, 0]],
  ['resubmit:0', 'resubmit:0', [A.OP_RESUBMIT, 0, 255]],
  ['load:0x1->NXM_NX_REG0[0..3],1', 'load:0x1->NXM_NX_REG0[0..3],output:"phy-br-eth1"', [A.OP_LOAD, 18, 0, 0xf, 0, 1, A.OP_OUTPUT, 1]],
  ['load:0->reg1[],1', 'load:0->NXM_NX_REG1[],output:"phy-br-eth1"', [A.OP_LOAD, 19, 0, -1, 0, 0, A.OP_OUTPUT, 1]],
  ['load:1->NXM_NX_REG2[5],1', 'load:0x1->NXM_NX_REG2[5],output:"phy-br-eth1"', [A.OP_LOAD, 20, 0, 32, 0, 32, A.OP_OUTPUT, 1]],
  ['load:0xabc->OXM_OF_METADATA[32..47],1', 'load:0xabc->OXM_OF_METADATA[32..47],output:"phy-br-eth1"', [A.OP_LOAD, 17, 0xffff, 0, 0xabc, 0, A.OP_OUTPUT, 1]],
  ['load:5->NXM_OF_IN_PORT[],NORMAL', 'load:0x5->NXM_OF_IN_PORT[],NORMAL', [A.OP_LOAD, 0, 0, 0xffff, 0, 5, A.OP_NORMAL]],
  ['move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],IN_PORT', 'move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],IN_PORT', [A.OP_MOVE, 2, 0, 1, 0, 48, A.OP_IN_PORT]],
  ['move:reg0[0..11]->NXM_OF_VLAN_TCI[0..11],1', 'move:NXM_NX_REG0[0..11]->NXM_OF_VLAN_TCI[0..11],output:"phy-br-eth1"', [A.OP_MOVE, 18, 0, 4, 0, 12, A.OP_OUTPUT, 1]],
  ['resubmit(,2)', 'resubmit(,2)', [A.OP_RESUBMIT, -1, 2]],
  ['resubmit(1,2)', 'resubmit("phy-br-eth1",2)', [A.OP_RESUBMIT, 1, 2]],
  ['resubmit:3', 'resubmit:tap1', [A.OP_RESUBMIT, 3, 255]],
  ['resubmit(3,)', 'resubmit:tap1', [A.OP_RESUBMIT, 3, 255]],
  ['goto_table:5', 'goto_table:5', [A.OP_GOTO, 5]],
  ['write_metadata:0x1/0xf,goto_table:1', 'write_metadata:0x1/0xf,goto_table:1', [A.OP_WRITE_METADATA, 0, 1, 0, 0xf, A.OP_GOTO, 1]],
  ['write_metadata:0x10,goto_table:1', 'write_metadata:0x10,goto_table:1', [A.OP_WRITE_METADATA, 0, 16, -1, -1, A.OP_GOTO, 1]],
  ['note:00.01.ab,NORMAL', 'note:00.01.ab,NORMAL', [A.OP_NORMAL]],
];

t.test('action round-trip and compiled plans (ofp-actions.at style)', async (t) => {
  for (const [input, want, plan] of ACTIONS) {
    const s = parseFlow(`table=0,ip,eth_type=0x800,actions=${input}`, 'add', opts);
    t.equal(formatActions(s.actions!, names), want, input);
    t.same(Array.from(compile(s.actions!).plan), plan, `${input}: plan`);
    const back = parseFlow(`ip,actions=${want}`, 'add', opts);
    t.same(formatActions(back.actions!, names), want, `${input}: reparse`);
  }
});

t.test('resubmit(,T,ct) round-trips through parse and format and installs (its lookup: flow-ct.test.ts)', async (t) => {
  // OVS keeps the ct flavour (NXAST_RESUBMIT_TABLE_CT).
  for (const [input, want] of [['resubmit(,2,ct)', 'resubmit(,2,ct)'], ['resubmit(1,2,ct)', 'resubmit("phy-br-eth1",2,ct)'], ['resubmit(3,,ct)', 'resubmit(tap1,,ct)']]) {
    const s = parseFlow(`ip,actions=${input}`, 'add', opts);
    t.equal(formatActions(s.actions!, names), want, input);
    t.equal(formatActions(parseFlow(`ip,actions=${want}`, 'add', opts).actions!, names), want, `${input}: reparse`);
  }
  const { p } = pipeline();
  p.addFlow('ip,actions=resubmit(,2,ct)');
  t.match(p.formatFlows(), /ip actions=resubmit\(,2,ct\)\n$/);
  t.same(compile(parseFlow('ip,actions=resubmit(,2,ct)', 'add', opts).actions!).plan, [A.OP_RESUBMIT_CT, -1, 2]);
});

t.test('in_port=0 and output:0 install (as OVS 3.1) and send nothing', async (t) => {
  const { p } = pipeline();
  p.addFlow('priority=5,in_port=0,actions=output:0');
  t.match(p.formatFlows(), /priority=5,in_port=0 actions=output:0/);
});

t.test('set_field to L4 fields', async (t) => {
  const s = parseFlow('tcp,actions=set_field:8080->tcp_dst,set_field:10.1.1.1->ip_dst,NORMAL', 'add', opts);
  t.equal(formatActions(s.actions!), 'set_field:8080->tcp_dst,set_field:10.1.1.1->ip_dst,NORMAL');
  t.same(Array.from(compile(s.actions!).plan), [A.OP_SET_L4_DST, 8080, 6, A.OP_SET_IPV4_DST, 0x0a010101, A.OP_NORMAL]);
});

/** [flow text, expected message (without the "flow: " prefix), field]. */
const ERRORS: [string, string, string][] = [
  ['priority=4,in_port=1,nw_sr=10.0.0.1,actions=drop', "column 22: unknown field 'nw_sr' (did you mean nw_src?)", 'nw_sr'],
  ['priority=4,in_port=1,dl_vlan=1,nw_src=10.0.0.1,actions=drop', "column 32: nw_src requires ip or arp (add 'ip,')", 'nw_src'],
  ['tp_dst=80,actions=drop', "column 1: tp_dst requires tcp, udp or sctp (add 'tcp,' or 'udp,')", 'tp_dst'],
  ['ip,icmp_type=8,actions=drop', "column 4: icmp_type requires icmp (add 'icmp,')", 'icmp_type'],
  ['arp_sha=00:00:00:00:00:01,actions=drop', "column 1: arp_sha requires arp (add 'arp,')", 'arp_sha'],
  ['in_port=nosuch,actions=drop', "column 9: in_port: unknown port 'nosuch'", 'in_port'],
  ['ip,arp,actions=drop', 'column 4: arp: arp conflicts with an earlier field of this match', 'arp'],
  ['dl_vlan=5000,actions=drop', 'column 9: dl_vlan: dl_vlan 5000 is out of range (0..4095, or 0xffff for no tag)', 'dl_vlan'],
  ['ip,nw_src=10.0.0.300,actions=drop', "column 11: nw_src: '10.0.0.300' is not an IPv4 address (octet 300 > 255)", 'nw_src'],
  ['dl_type=0x800', "column 14: missing 'actions=' (use actions=drop to drop)", 'actions'],
  ['in_port=1,actions=outptu:2', "column 19: unknown action 'outptu' (did you mean output?)", 'outptu'],
  ['in_port=1,actions=mod_vlan_vid:4096', 'column 32: mod_vlan_vid: VLAN id 4096 is out of range (0..4095)', 'mod_vlan_vid'],
  ['in_port=1,actions=load:0x1->NXM_NX_REG9[]', "column 24: unknown field 'NXM_NX_REG9' (did you mean NXM_NX_REG0?)", 'load'],
  ['in_port=1,actions=load:0x100->NXM_NX_REG0[0..7]', 'column 24: value 0x100 does not fit in 8 bits', 'load'],
  ['in_port=1,actions=move:NXM_OF_ETH_SRC[]->NXM_NX_REG0[]', 'column 24: move: source has 48 bits but destination 32', 'move'],
  ['in_port=1,actions=load:1->NXM_OF_IP_SRC[]', "column 24: load: ip_src requires ip or ipv6 (add 'ip,') in the match", 'load'],
  ['table=3,actions=goto_table:2', 'column 28: goto_table:2 must go to a later table than 3 (use resubmit(,2) to go back)', 'goto_table'],
  ['actions=goto_table:2,1', 'column 9: goto_table must be the last action', 'goto_table'],
  ['actions=drop,1', "column 9: 'drop' must be the only action", 'drop'],
  ['table=255,actions=drop', 'column 7: table 255 is out of range (0..254)', 'table'],
  ['actions=push_vlan:0x800', 'column 19: push_vlan: ethertype 0x800 is not 0x8100 or 0x88a8', 'push_vlan'],
  ['ip,nw_tos=3,actions=drop', 'column 11: nw_tos: nw_tos 3 has ECN bits set (must be a multiple of 4)', 'nw_tos'],
  // Arguments are never silently dropped: an unknown one is an error at its column.
  ['actions=resubmit(,2,xyz)', "column 21: resubmit: unknown argument 'xyz' (the third argument can only be ct)", 'resubmit'],
  ['actions=resubmit(,2,ct,x)', "column 24: resubmit takes (port,table[,ct]); extra argument 'x'", 'resubmit'],
  ['actions=dec_ttl(1,x)', "column 19: dec_ttl: 'x' is not a controller id (a number 0..65535)", 'dec_ttl'],
  ['actions=dec_ttl:70000', 'column 17: dec_ttl: controller id 70000 is out of range (0..65535)', 'dec_ttl'],
  // The refused port number is named for what it is.
  ['actions=output:65280', 'column 16: output: port 65280 is not a valid output port', 'output'],
  ['in_port=65280,actions=drop', 'column 9: in_port: port 65280 is not a valid input port', 'in_port'],
  ['actions=resubmit(65280,1)', 'column 18: resubmit: port 65280 is not a valid port for resubmit', 'resubmit'],
];

t.test('errors name the field and the column', async (t) => {
  for (const [text, msg, field] of ERRORS) {
    try {
      parseFlow(text, 'add', opts);
      t.fail(`${text}: no error`);
    } catch (e) {
      t.ok(e instanceof FlowSyntaxError, text);
      const fe = e as FlowSyntaxError;
      t.equal(fe.message, `flow: ${msg}`, text);
      t.equal(fe.field, field, `${text}: field`);
    }
  }
  t.throws(() => parseFlow('in_port=1,actions=drop', 'match', opts), /actions are not allowed/);
});

t.test('addFlows errors say line and column, and install nothing', async (t) => {
  const { p } = pipeline();
  t.throws(() => p.addFlows('priority=1,actions=NORMAL\n# comment\n\nip,tp_dst=80,actions=drop\n'), {
    message: "line 4, column 4: tp_dst requires tcp, udp or sctp (add 'tcp,' or 'udp,')",
  });
  t.ok(p.isEmpty);
});

t.test('warnings for known traps', async (t) => {
  const w = (s: string) => parseFlow(s, 'add', opts).warnings;
  t.same(w('in_port=1,actions=mod_vlan_vid:5,output:2'), []);
  t.match(w('in_port=1,actions=output:2,mod_vlan_vid:5'), [/column 28: 'mod_vlan_vid' comes after the last output/]);
  t.match(w('in_port=1,actions=mod_vlan_vid:5'), [/never output the packet/]);
  t.same(w('in_port=1,actions=drop'), []);
  t.same(w('in_port=1,actions=load:1->NXM_NX_REG0[],resubmit(,1)'), [], 'modify before resubmit is fine');
  t.match(w('in_port=1,actions=output:1'), [/column 19: output:1 is the input port .*use in_port/]);
});

t.test('dump-flows format reads back unchanged', async (t) => {
  const { p, advance } = pipeline();
  p.addFlow('table=0,priority=4,in_port=phy-br-eth1,dl_vlan=1,idle_timeout=10,actions=mod_vlan_vid:101,NORMAL');
  p.addFlow('cookie=0x9fa2c1,table=23,priority=0,actions=drop');
  p.addFlow('table=0,send_flow_rem,hard_timeout=300,tcp,nw_dst=10.0.0.0/24,tp_dst=22,actions=CONTROLLER:65535');
  advance(12345);
  const text = p.formatFlows();
  t.equal(
    text,
    [
      ' cookie=0x0, duration=12.345s, table=0, n_packets=0, n_bytes=0, hard_timeout=300, send_flow_rem tcp,nw_dst=10.0.0.0/24,tp_dst=22 actions=CONTROLLER:65535',
      ' cookie=0x0, duration=12.345s, table=0, n_packets=0, n_bytes=0, idle_timeout=10, priority=4,in_port="phy-br-eth1",dl_vlan=1 actions=mod_vlan_vid:101,NORMAL',
      ' cookie=0x9fa2c1, duration=12.345s, table=23, n_packets=0, n_bytes=0, priority=0 actions=drop',
      '',
    ].join('\n'),
  );
  // Replay the dump into a fresh pipeline: identical rules.
  const q = pipeline();
  q.p.addFlows(text);
  q.advance(12345);
  t.equal(q.p.formatFlows(), text);
  t.equal(formatRule(p.dumpFlows()[1].rule, names), 'table=0,idle_timeout=10,priority=4,in_port="phy-br-eth1",dl_vlan=1 actions=mod_vlan_vid:101,NORMAL');
  t.equal(formatFlowEntry({ ...p.dumpFlows()[2], durationMs: 3000 }), ' cookie=0x9fa2c1, duration=3s, table=23, n_packets=0, n_bytes=0, priority=0 actions=drop');
});

t.test('idle_age and hard_age as ovs-ofctl dump-flows prints them from an NXST_FLOW reply (OVS 3.1)', async (t) => {
  // Whole seconds, rounded down (ofproto age_secs).
  t.equal(flowAges({ durationMs: 2210, idleMs: 2210, hardMs: 2210 }), 'idle_age=2, ', 'never modified: hard_age equals the duration, not printed');
  t.equal(flowAges({ durationMs: 999, idleMs: 999, hardMs: 999 }), 'idle_age=0, ');
  // A modify keeps the duration and restarts hard_age (OVS: "duration=2.164s, ..., idle_age=2, hard_age=0,").
  t.equal(flowAges({ durationMs: 2164, idleMs: 2164, hardMs: 5 }), 'idle_age=2, hard_age=0, ');
  t.equal(flowAges({ durationMs: 118_126, idleMs: 2000, hardMs: 17_999 }), 'idle_age=2, hard_age=17, ');
  // A replacing add: new duration, old last-used time (OVS: "duration=0.005s, ..., idle_age=2,").
  t.equal(flowAges({ durationMs: 5, idleMs: 2164, hardMs: 5 }), 'idle_age=2, ');
  // Compared in whole seconds: 2.9 s vs 2.0 s is the same second.
  t.equal(flowAges({ durationMs: 2900, idleMs: 0, hardMs: 2000 }), 'idle_age=0, ');
  t.equal(flowAges({ durationMs: 3000, idleMs: 0, hardMs: 2999 }), 'idle_age=0, hard_age=2, ');
  // Capped at 65534 (16 bits on the wire, 0 meaning unknown): an old unmodified flow shows
  // hard_age=65534 beside its real duration (a Neutron node: "duration=221031.310s, ...,
  // idle_age=20, hard_age=65534,").
  t.equal(flowAges({ durationMs: 221_031_310, idleMs: 20_400, hardMs: 221_031_310 }), 'idle_age=20, hard_age=65534, ');
  t.equal(flowAges({ durationMs: 65_534_999, idleMs: 65_534_999, hardMs: 65_534_999 }), 'idle_age=65534, ', '65534 s: not capped yet');
  t.equal(flowAges({ durationMs: 65_535_000, idleMs: 65_535_000, hardMs: 65_535_000 }), 'idle_age=65534, hard_age=65534, ', '65535 s: both capped, hard_age now differs');
  t.equal(flowAges({ durationMs: 0, idleMs: -5, hardMs: -5 }), 'idle_age=0, ', 'a clock step back prints 0');
});

t.test('port names are quoted as OVS namemap_put_name does', async (t) => {
  t.equal(formatPortName('tap1'), 'tap1');
  t.equal(formatPortName('qvo1234'), 'qvo1234');
  t.equal(formatPortName('phy-br-eth1'), '"phy-br-eth1"');
  t.equal(formatPortName('1abc'), '"1abc"');
  t.equal(formatPortName('a_b'), '"a_b"');
});

// A dump from a Neutron node (openvswitch agent, OVS 2.17/3.x style, some with idle_age).
const NEUTRON_DUMP = `
 cookie=0x5f1c2d9b6a3e4f10, duration=86351.712s, table=0, n_packets=1234, n_bytes=98765, idle_age=3, priority=65535,dl_vlan=4095 actions=drop
 cookie=0x5f1c2d9b6a3e4f10, duration=86351.702s, table=0, n_packets=10, n_bytes=600, priority=4,in_port="phy-br-eth1",dl_vlan=1 actions=mod_vlan_vid:101,resubmit(,60)
 cookie=0x5f1c2d9b6a3e4f10, duration=86351.699s, table=0, n_packets=0, n_bytes=0, priority=3,in_port="int-br-eth1",vlan_tci=0x0000/0x1fff actions=push_vlan:0x8100,set_field:4097->vlan_vid,resubmit(,60)
 cookie=0x5f1c2d9b6a3e4f10, duration=86351.693s, table=0, n_packets=77, n_bytes=4620, idle_age=86000, hard_age=65534, priority=2,in_port="phy-br-eth1" actions=drop
 cookie=0x5f1c2d9b6a3e4f10, duration=86351.690s, table=0, n_packets=3, n_bytes=180, priority=0 actions=resubmit(,60)
 cookie=0x5f1c2d9b6a3e4f10, duration=86351.720s, table=23, n_packets=0, n_bytes=0, priority=0 actions=drop
 cookie=0x5f1c2d9b6a3e4f10, duration=86351.700s, table=24, n_packets=0, n_bytes=0, priority=2,arp,in_port=qvo1234,arp_spa=10.0.0.5 actions=resubmit(,25)
 cookie=0x5f1c2d9b6a3e4f10, duration=86351.700s, table=24, n_packets=0, n_bytes=0, priority=0 actions=drop
 cookie=0x5f1c2d9b6a3e4f10, duration=86351.700s, table=25, n_packets=0, n_bytes=0, priority=2,in_port=qvo1234,dl_src=fa:16:3e:12:34:56 actions=resubmit(,60)
 cookie=0x5f1c2d9b6a3e4f10, duration=86351.700s, table=60, n_packets=90, n_bytes=5400, priority=3 actions=NORMAL
 cookie=0x5f1c2d9b6a3e4f10, duration=86351.700s, table=71, n_packets=0, n_bytes=0, priority=95,icmp6,reg5=0x6,in_port=6,icmp_type=135 actions=resubmit(,94)
 cookie=0x5f1c2d9b6a3e4f10, duration=86351.700s, table=71, n_packets=0, n_bytes=0, priority=65,ip,reg5=0x6,in_port=6,dl_src=fa:16:3e:12:34:56,nw_src=10.0.0.5 actions=ct(table=72,zone=NXM_NX_REG6[0..15])
`;

t.test('a Neutron dump-flows text replays through addFlows', async (t) => {
  const { p } = pipeline();
  const res = p.addFlows(NEUTRON_DUMP);
  t.equal(res.added.length, 12);
  t.equal(p.ruleCount, 12);
  const dump = p.formatFlows();
  t.match(dump, /table=0, n_packets=0, n_bytes=0, priority=4,in_port="phy-br-eth1",dl_vlan=1 actions=mod_vlan_vid:101,resubmit\(,60\)/);
  t.match(dump, /priority=65535,dl_vlan=4095 actions=drop/);
  t.match(dump, /priority=3,in_port="int-br-eth1",vlan_tci=0x0000\/0x1fff actions=push_vlan:0x8100,set_field:4097->vlan_vid,resubmit\(,60\)/);
  t.match(dump, /priority=95,icmp6,reg5=0x6,in_port=qvo1234,icmp_type=135 actions=resubmit\(,94\)/);
  t.match(dump, /priority=65,ip,reg5=0x6,in_port=qvo1234,dl_src=fa:16:3e:12:34:56,nw_src=10\.0\.0\.5 actions=ct\(table=72,zone=NXM_NX_REG6\[0\.\.15\]\)/);
  t.equal(p.dumpFlows('cookie=0x5f1c2d9b6a3e4f10/-1'.replace('-1', '0xffffffffffffffff')).length, 12);
});

t.test('add-flows lines: trailing comments and ovs-ofctl keywords (checked against OVS 3.1)', async (t) => {
  const { p } = pipeline();
  const r = p.addFlows(
    [
      'priority=5,in_port=1,actions=output:2 # trailing comment',
      '  # full-line comment',
      'add priority=2,actions=drop',
      'add,priority=3,actions=drop',
      '\tadd\tpriority=4,actions=drop',
      'priority=6,ip,actions=drop#no space before the comment',
      'priority=7,arp,actions=drop',
    ].join('\n'),
  );
  t.equal(r.added.length, 6);
  const dump = () => p.formatFlows(undefined, { names: false }).replace(/ cookie=0x0, duration=0s, table=0, n_packets=0, n_bytes=0, /g, '');
  t.equal(dump(), 'priority=7,arp actions=drop\npriority=6,ip actions=drop\npriority=5,in_port=1 actions=output:2\npriority=4 actions=drop\npriority=3 actions=drop\npriority=2 actions=drop\n');
  const r2 = p.addFlows(
    ['modify_strict priority=3 actions=output:2', 'delete_strict priority=4', 'delete ip', 'modify in_port=1,actions=output:3 # covers only the in_port=1 flow', 'delete_strict priority=7,arp'].join('\n'),
  );
  t.same([r2.added.length, r2.modified, r2.deleted], [0, 2, 3]);
  t.equal(dump(), 'priority=5,in_port=1 actions=output:3\npriority=3 actions=output:2\npriority=2 actions=drop\n');
  t.same(p.addFlows('delete').deleted, 3, 'a bare delete removes every flow');
  t.ok(p.isEmpty);
});

t.test('add-flows keyword errors are located and change nothing', async (t) => {
  const { p } = pipeline();
  p.addFlow('priority=1,actions=NORMAL');
  const cases: [string, string][] = [
    // OVS: "unknown keyword priority" — only delete_strict selects by priority.
    ['delete priority=4', 'line 1, column 8: priority selects only with delete_strict (a non-strict delete matches every priority)'],
    // OVS: "unknown keyword actions".
    ['delete_strict priority=7,actions=drop', 'line 1, column 26: actions are not allowed here (a match only)'],
    // OVS: "must specify an action".
    ['modify priority=2', "line 1, column 18: missing 'actions=' (use actions=drop to drop)"],
    ['add priority=2,actions=drop\nmodify ip,nw_sr=1.2.3.4,actions=drop # comment', "line 2, column 11: unknown field 'nw_sr' (did you mean nw_src?)"],
    // Not a keyword: parsed as a flow, so the error names it as a field.
    ['mod priority=2,actions=NORMAL', "line 1, column 1: unknown field 'mod'"],
  ];
  for (const [text, msg] of cases) t.throws(() => p.addFlows(text), { message: msg }, text);
  t.equal(p.ruleCount, 1, 'nothing applied');
});
