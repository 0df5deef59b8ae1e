/**
 * Open vSwitch's own `ovs-ofctl -O OpenFlow13` programs tvs bridges over their management
 * sockets (DIR/BR.mgmt), and the flows take effect on the wire. Two "nodes" live in one daemon:
 * br-int-a/br-eth-a and br-int-b/br-eth-b, joined Neutron-style by patch ports, the two
 * br-eth bridges joined by a patch "wire" that carries provider VLANs. The VLAN translation
 * flows (local 1 <-> provider 101 <-> local 5) come in through `ovs-ofctl add-flows`, so a ping
 * between namespaces crosses only if the OpenFlow messages meant exactly what ovs-ofctl said.
 */
import t from 'tap';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Lab } from '../../lab/netns';
import { startDaemon, tvsOk, run, pingEach, pingNone } from '../../lab/daemon';
import { mgmtOfctlSkipReason, mgmtTarget, ofctl13 as ofctl } from '../helpers/mgmt-ofctl';
import { startCapture } from '../helpers/capture';

const why = mgmtOfctlSkipReason();

t.test('ovs-ofctl -O OpenFlow13 against tvs management sockets', { skip: why || false }, async (t) => {
  const lab = Lab.create(t);
  const d = await startDaemon(t);
  const mgmt = (br: string) => mgmtTarget(d.control, br);
  // Every echo must cross (each has its own reply deadline), or none may within the wait.
  const ping = async (ns: string, ip: string, count = 3) => {
    const r = await pingEach(ns, ip, count);
    t.comment(r.summary);
    return r.loss;
  };
  const answered = async (ns: string, ip: string) => {
    const r = await pingNone(ns, ip);
    t.comment(r.summary);
    return r.answered;
  };

  const cmds: string[][] = [
    ['add-br', 'br-int-a'],
    ['add-br', 'br-eth-a'],
    ['add-br', 'br-int-b'],
    ['add-br', 'br-eth-b'],
    ['add-port', 'br-int-a', 'int-a', 'type=patch', 'peer=phy-a'],
    ['add-port', 'br-eth-a', 'phy-a', 'type=patch', 'peer=int-a'],
    ['add-port', 'br-int-b', 'int-b', 'type=patch', 'peer=phy-b'],
    ['add-port', 'br-eth-b', 'phy-b', 'type=patch', 'peer=int-b'],
    ['add-port', 'br-eth-a', 'wire-a', 'type=patch', 'peer=wire-b'],
    ['add-port', 'br-eth-b', 'wire-b', 'type=patch', 'peer=wire-a'],
  ];
  // Tenant 1: vm1 (node a, local 1) and vm3 (node b, local 5), provider VLAN 101.
  // Tenant 2: vm4 (node b, local 7), provider VLAN 102, same subnet as tenant 1.
  const vms: Record<string, { ns: string; ip: string; dev: string }> = {};
  for (const [name, br, tag, ip] of [['vm1', 'br-int-a', 1, '10.231.1.1'], ['vm3', 'br-int-b', 5, '10.231.1.3'], ['vm4', 'br-int-b', 7, '10.231.1.4']] as const) {
    const ns = lab.netns(`tvn${name}`);
    const v = lab.veth({ ns, address: `${ip}/24` });
    cmds.push(['add-port', br, v.host, `tag=${tag}`]);
    vms[name] = { ns, ip, dev: v.peer };
  }
  for (const c of cmds) await tvsOk(d.control, c);

  await t.test('management sockets exist next to the control socket, mode 0600', async (t) => {
    for (const br of ['br-int-a', 'br-eth-a', 'br-int-b', 'br-eth-b']) {
      const st = fs.statSync(mgmt(br).slice(5));
      t.ok(st.isSocket(), `${br}.mgmt is a socket`);
      t.equal(st.mode & 0o777, 0o600, `${br}.mgmt is 0600`);
    }
  });

  await t.test('show lists the ports by name and number', async (t) => {
    const out = await ofctl(['show', mgmt('br-int-a')]);
    t.match(out, /OFPT_FEATURES_REPLY \(OF1\.3\).*dpid:[0-9a-f]{16}/);
    t.match(out, /n_tables:254, n_buffers:0/);
    t.match(out, / 1\(int-a\): addr:/);
    t.match(out, / 2\(tvnh[0-9a-z]+\): addr:/);
  });

  // The Neutron agent's VLAN translation flows, as ovs-ofctl add-flows reads them from a file.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvs-of-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const flowFile = (name: string, lines: string[]) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, lines.join('\n') + '\n');
    return f;
  };
  const ethFlows = (phy: string, local: number[], provider: number[]) => [
    ...local.map((l, i) => `cookie=0x1234,table=0,priority=4,in_port=${phy},dl_vlan=${l},actions=mod_vlan_vid:${provider[i]},NORMAL`),
    `cookie=0x99,table=0,priority=2,in_port=${phy},actions=drop`,
    'cookie=0x99,table=0,priority=0,actions=NORMAL',
  ];
  const intFlows = (int: string, local: number[], provider: number[]) => [
    ...local.map((l, i) => `cookie=0x1234,table=0,priority=3,in_port=${int},dl_vlan=${provider[i]},actions=mod_vlan_vid:${l},NORMAL`),
    `cookie=0x99,table=0,priority=2,in_port=${int},actions=drop`,
    'cookie=0x99,table=0,priority=0,actions=NORMAL',
  ];
  await ofctl(['add-flows', mgmt('br-eth-a'), flowFile('eth-a', ethFlows('phy-a', [1], [101]))]);
  await ofctl(['add-flows', mgmt('br-int-a'), flowFile('int-a', intFlows('int-a', [1], [101]))]);
  await ofctl(['add-flows', mgmt('br-eth-b'), flowFile('eth-b', ethFlows('phy-b', [5, 7], [101, 102]))]);
  await ofctl(['add-flows', mgmt('br-int-b'), flowFile('int-b', intFlows('int-b', [5, 7], [101, 102]))]);

  await t.test('flows added over OpenFlow forward and isolate on the wire', async (t) => {
    t.equal(await ping(vms.vm1.ns, vms.vm3.ip), 0, 'tenant 1 crosses: local 1 -> provider 101 -> local 5');
    t.equal(await answered(vms.vm1.ns, vms.vm4.ip), 0, 'tenant 1 cannot reach tenant 2 on the same subnet');
  });

  await t.test('one rule model: OpenFlow flows in tvs dump-flows, tvs flows in OpenFlow dump-flows', async (t) => {
    const tvsDump = await tvsOk(d.control, ['dump-flows', 'br-eth-a']);
    const line = tvsDump.split('\n').find((l) => l.includes('dl_vlan=1'));
    t.match(line, /cookie=0x1234, .*n_packets=[1-9]\d*, .*priority=4,in_port="?phy-a"?,dl_vlan=1 actions=set_field:4197->vlan_vid,NORMAL/, `tvs sees the OpenFlow flow with its cookie and counters: ${line}`);
    await tvsOk(d.control, ['add-flow', 'br-eth-a', 'cookie=0x77,table=3,priority=9,udp,tp_dst=53,actions=load:0x5->NXM_NX_REG0[0..7],output:wire-a']);
    const ofDump = await ofctl(['dump-flows', mgmt('br-eth-a')]);
    // tvs add-flow is an OpenFlow 1.0 add, which OVS stores with reset_counts and shows over
    // OpenFlow 1.3 (OVS 3.1: `ovs-ofctl add-flow` then `ovs-ofctl -O OpenFlow13 dump-flows`
    // prints "n_bytes=0, reset_counts priority=..."); a flow added over OpenFlow 1.3 has none.
    t.match(ofDump, /cookie=0x77, .*table=3, n_packets=0, n_bytes=0, reset_counts priority=9,udp,tp_dst=53 actions=load:0x5->NXM_NX_REG0\[0\.\.7\],output:2/, 'the tvs flow in an OpenFlow FLOW stats reply, with reset_counts');
    t.match(ofDump, /cookie=0x1234, .*n_packets=[1-9]\d*, n_bytes=\d+, priority=4,in_port=1,dl_vlan=1 actions=set_field:4197->vlan_vid,NORMAL/, 'the OpenFlow 1.3 flow without');
    t.notMatch(await tvsOk(d.control, ['dump-flows', 'br-eth-a']), /reset_counts/, 'tvs dump-flows (the OpenFlow 1.0 view) leaves it out, as OVS does');
    const agg = await ofctl(['dump-aggregate', mgmt('br-eth-a')]);
    t.match(agg, /flow_count=4/);
    const cookieOnly = await ofctl(['dump-flows', mgmt('br-eth-a'), 'cookie=0x99/-1']);
    t.equal(cookieOnly.split('\n').filter((l) => l.includes('cookie=')).length, 2, 'cookie mask filter in FLOW stats');
  });

  await t.test('mod-flows --strict changes actions; the wire follows', async (t) => {
    await ofctl(['--strict', 'mod-flows', mgmt('br-eth-b'), 'table=0,priority=4,in_port=phy-b,dl_vlan=5,actions=mod_vlan_vid:999,NORMAL']);
    t.equal(await answered(vms.vm1.ns, vms.vm3.ip), 0, 'a wrong provider VLAN on node b breaks tenant 1');
    t.match(await tvsOk(d.control, ['dump-flows', 'br-eth-b']), /dl_vlan=5 actions=set_field:5095->vlan_vid,NORMAL/);
    await ofctl(['--strict', 'mod-flows', mgmt('br-eth-b'), 'table=0,priority=4,in_port=phy-b,dl_vlan=5,actions=mod_vlan_vid:101,NORMAL']);
    t.equal(await ping(vms.vm1.ns, vms.vm3.ip), 0, 'restored');
  });

  await t.test('a modify that selects no flow: over OpenFlow 1.3 nothing is added (as OVS); tvs mod-flows adds it, as ovs-ofctl mod-flows over OpenFlow 1.0 does', async (t) => {
    await tvsOk(d.control, ['add-br', 'br-om']);
    t.teardown(() => tvsOk(d.control, ['del-br', 'br-om']));
    await ofctl(['del-flows', mgmt('br-om')]);
    await ofctl(['mod-flows', mgmt('br-om'), 'priority=7,ip,nw_dst=10.250.0.1,actions=drop']);
    await ofctl(['--strict', 'mod-flows', mgmt('br-om'), 'priority=7,ip,nw_dst=10.250.0.1,actions=drop']);
    const flowLines = (dump: string) => dump.split('\n').filter((l) => l.includes('cookie='));
    t.same(flowLines(await ofctl(['dump-flows', mgmt('br-om')])), [], 'OpenFlow 1.3 MODIFY and MODIFY_STRICT added nothing');
    await tvsOk(d.control, ['mod-flows', 'br-om', 'cookie=0x5,priority=7,ip,nw_dst=10.250.0.1,actions=drop']);
    const added = flowLines(await ofctl(['dump-flows', mgmt('br-om')]));
    t.equal(added.length, 1, added.join('\n'));
    t.match(added[0], /^ cookie=0x5, duration=[\d.]+s, table=0, n_packets=0, n_bytes=0, priority=7,ip,nw_dst=10\.250\.0\.1 actions=drop$/, 'tvs mod-flows added the flow');
  });

  await t.test('a flow replaced by an OpenFlow add keeps its last-used time: the idle timeout is not restarted, the duration is (as OVS)', async (t) => {
    await tvsOk(d.control, ['add-br', 'br-idle']);
    t.teardown(() => tvsOk(d.control, ['del-br', 'br-idle']));
    const target = mgmt('br-idle');
    await ofctl(['del-flows', target]);
    const t0 = Date.now();
    await ofctl(['add-flow', target, 'cookie=0x1,idle_timeout=6,priority=9,ip,nw_dst=10.250.0.2,actions=drop']);
    await ofctl(['add-flow', target, 'cookie=0x1,idle_timeout=6,priority=9,ip,nw_dst=10.250.0.3,actions=drop']);
    const added = Date.now();
    await new Promise((res) => setTimeout(res, added + 4000 - Date.now()));
    // Unused for 4 s: a replacing add (same match and priority) and a modify.
    const modStart = Date.now();
    await ofctl(['add-flow', target, 'cookie=0x2,idle_timeout=6,priority=9,ip,nw_dst=10.250.0.2,actions=drop']);
    await ofctl(['--strict', 'mod-flows', target, 'priority=9,ip,nw_dst=10.250.0.3,actions=drop']);
    const dumpStart = Date.now();
    const dump = await ofctl(['dump-flows', target]);
    const tvsDump = await tvsOk(d.control, ['dump-flows', 'br-idle']);
    const replacedAt = Date.now() - t0;
    // OpenFlow 1.3 FLOW stats carry no ages (ovs-ofctl prints none, as against OVS); tvs
    // dump-flows prints them as ovs-ofctl does over OpenFlow 1.0: idle_age since the last use
    // (the first add: a replacement keeps it), hard_age only where it differs from the
    // duration (the modified flow, not the replaced one).
    t.notMatch(dump, /idle_age|hard_age/, 'no ages over OpenFlow 1.3');
    const secs = (ms: number) => Math.floor(ms / 1000);
    const idle = `(?:${[...new Set([secs(dumpStart - added), secs(Date.now() - t0)])].join('|')})`;
    const hard = `(?:${[...new Set([0, secs(Date.now() - modStart)])].join('|')})`;
    t.match(tvsDump, new RegExp(`cookie=0x2, duration=[01](\\.\\d+)?s, table=0, n_packets=0, n_bytes=0, idle_timeout=6, idle_age=${idle}, priority=9,ip,nw_dst=10\\.250\\.0\\.2 actions=drop`), `the replaced flow: idle_age from the first add, no hard_age\n${tvsDump}`);
    t.match(tvsDump, new RegExp(`cookie=0x1, duration=[45](\\.\\d+)?s, table=0, n_packets=0, n_bytes=0, idle_timeout=6, idle_age=${idle}, hard_age=${hard}, priority=9,ip,nw_dst=10\\.250\\.0\\.3 actions=drop`), 'the modified flow: hard_age from the modify');
    // Both are still there (an idle timeout of 6 s cannot have passed yet), so they are the replacements.
    t.ok(replacedAt < 5500, `the replacement and the dump were done ${replacedAt} ms in, before the 6 s idle timeout`);
    const dur = (nw: string) => Number(new RegExp(`cookie=0x[0-9a-f]+, duration=([\\d.]+)s, [^\\n]*nw_dst=${nw.replace(/\./g, '\\.')} `).exec(dump)?.[1] ?? NaN);
    t.ok(dur('10.250.0.2') < 2, `the replacing add's duration restarted: ${dur('10.250.0.2')} s\n${dump}`);
    t.ok(dur('10.250.0.3') >= 3.9, `the modify kept the duration: ${dur('10.250.0.3')} s`);
    // Idle since they were first added: gone 6 s after that (+ the 1 s housekeeping tick), not
    // 6 s after the replacement (which would be 10 s in).
    let goneAt = -1;
    while (goneAt < 0 && Date.now() - t0 < 12_000) {
      if (!/nw_dst=10\.250\.0\.[23] /.test(await ofctl(['dump-flows', target]))) goneAt = Date.now() - t0;
      else await new Promise((res) => setTimeout(res, 200));
    }
    t.ok(goneAt >= 6000 && goneAt < 8500, `both expired ${goneAt} ms after the first add (idle since then)`);
  });

  await t.test('del-flows --strict and cookie masks', async (t) => {
    // --strict with the wrong priority deletes nothing.
    await ofctl(['--strict', 'del-flows', mgmt('br-eth-a'), 'cookie=0x1234/-1,table=0,priority=5,in_port=phy-a,dl_vlan=1']);
    t.equal(await ping(vms.vm1.ns, vms.vm3.ip, 2), 0, 'still forwarding');
    await ofctl(['--strict', 'del-flows', mgmt('br-eth-a'), 'cookie=0x1234/-1,table=0,priority=4,in_port=phy-a,dl_vlan=1']);
    t.equal(await answered(vms.vm1.ns, vms.vm3.ip), 0, 'the translation flow is gone: the drop flow catches local VLAN 1');
    // Cookie mask: every 0x12xx flow on br-eth-b, nothing else.
    await ofctl(['del-flows', mgmt('br-eth-b'), 'cookie=0x1200/0xff00']);
    const left = await tvsOk(d.control, ['dump-flows', 'br-eth-b']);
    t.notMatch(left, /cookie=0x1234/);
    t.equal(left.split('\n').filter((l) => l.includes('cookie=0x99')).length, 2, 'the 0x99 flows stay');
  });

  await t.test('dump-ports, dump-tables', async (t) => {
    const ports = await ofctl(['dump-ports', mgmt('br-int-a')]);
    t.match(ports, /OFPST_PORT reply \(OF1\.3\).*: 2 ports/);
    t.match(ports, /port\s+2: rx pkts=[1-9]\d*, bytes=[1-9]\d*/);
    const tables = await ofctl(['dump-tables', mgmt('br-int-a')]);
    t.match(tables, /OFPST_TABLE reply \(OF1\.3\)/);
    t.match(tables, /table 0:\s*\n\s*active=3, lookup=\d+, matched=\d+/);
  });

  await t.test('ovs-ofctl packet-out with a rewriting action list: the frame arrives as the actions made it', async (t) => {
    // UDP 10.231.1.9 -> vm1, from in_port CONTROLLER: set eth_src, push VLAN 100, out of vm1's
    // port (ofport 2 of br-int-a, after the patch port).
    const frame = 'ffffffffffff' + '020000000009' + '0800' + '4500001c0001000040110000' + '0ae70109' + '0ae70101' + '303930390008' + '0000';
    const cap = await startCapture(vms.vm1.ns, vms.vm1.dev, 'ether src 02:aa:bb:cc:dd:ee', 1);
    await ofctl(['packet-out', mgmt('br-int-a'), `in_port=controller packet=${frame} actions=set_field:02:aa:bb:cc:dd:ee->eth_src,push_vlan:0x8100,set_field:4196->vlan_vid,output:2`]);
    t.match(await cap.done, /02:aa:bb:cc:dd:ee > ff:ff:ff:ff:ff:ff, ethertype 802\.1Q \(0x8100\), length \d+: vlan 100, p 0, ethertype IPv4/, 'rewritten and tagged on the wire');
  });

  await t.test('garbage on a management socket: an ERROR, the connection closed, the datapath unaffected', async (t) => {
    const sock = net.connect(mgmt('br-int-b').slice(5));
    const got: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      sock.on('data', (c) => got.push(c));
      sock.on('close', () => resolve());
      sock.on('error', reject);
      sock.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      setTimeout(() => reject(new Error('the switch did not close the connection within 20 s')), 20_000).unref();
    });
    const all = Buffer.concat(got);
    // Our HELLO (type 0), then an ERROR (type 1) of type HELLO_FAILED.
    t.equal(all[1], 0, 'hello first');
    const err = all.subarray(all.readUInt16BE(2));
    t.equal(err[1], 1, 'then an error');
    t.equal(err.readUInt16BE(8), 0, 'OFPET_HELLO_FAILED');
    t.ok(d.alive(), 'the daemon is alive');
    t.equal(await answered(vms.vm3.ns, vms.vm4.ip), 0, 'isolation still holds');
    const shown = await ofctl(['show', mgmt('br-int-b')]);
    t.match(shown, /n_tables:254/, 'the socket still serves new connections');
  });
  await t.test('set-controller ptcp:PORT:127.0.0.1: ovs-ofctl reaches the bridge over loopback TCP', async (t) => {
    const port = 20000 + ((process.pid + 4099) % 20000);
    await tvsOk(d.control, ['set-controller', 'br-eth-a', `ptcp:${port}:127.0.0.1`]);
    let flows = '';
    for (let i = 0; i < 50 && flows === ''; i++) {
      const r = await run(['ovs-ofctl', '-O', 'OpenFlow13', 'dump-flows', `tcp:127.0.0.1:${port}`], 20_000);
      if (r.code === 0) flows = r.stdout;
      else await new Promise((res) => setTimeout(res, 100));
    }
    t.match(flows, /cookie=0x99, .*priority=2,in_port=1 actions=drop/, 'the bridge\'s flows, read over TCP');
    t.match(await tvsOk(d.control, ['show']), /Controller "ptcp:\d+:127\.0\.0\.1"/, 'show lists the passive target');
    await tvsOk(d.control, ['del-controller', 'br-eth-a']);
    const after = await run(['ovs-ofctl', '-O', 'OpenFlow13', 'dump-flows', `tcp:127.0.0.1:${port}`], 20_000);
    t.not(after.code, 0, 'del-controller closed the listener');
  });
});
