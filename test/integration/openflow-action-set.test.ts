/**
 * The OpenFlow 1.3 action set programmed by Open vSwitch's own `ovs-ofctl -O OpenFlow13` over a
 * bridge's management socket, checked on the wire: two namespaces on one tvs bridge, forwarded
 * only by outputs written with write_actions and run when the pipeline ends. The reply
 * direction's set also holds dec_ttl, so the pinging host sees TTL 63; a clear_actions flow in
 * the later table stops the pings; deleting it lets them through again.
 */
import t from 'tap';
import { Lab } from '../../lab/netns';
import { startDaemon, tvsOk, pingEach, pingNone } from '../../lab/daemon';
import { mgmtOfctlSkipReason, mgmtTarget, ofctl13 as ofctl } from '../helpers/mgmt-ofctl';

const why = mgmtOfctlSkipReason();

t.test('write_actions / clear_actions from ovs-ofctl take effect on the wire', { skip: why || false }, async (t) => {
  const lab = Lab.create(t);
  const d = await startDaemon(t);
  const mgmt = mgmtTarget(d.control, 'br-as');
  const nsA = lab.netns('tvasa');
  const nsB = lab.netns('tvasb');
  const a = lab.veth({ ns: nsA, address: '10.232.0.1/24' });
  const b = lab.veth({ ns: nsB, address: '10.232.0.2/24' });
  await tvsOk(d.control, ['add-br', 'br-as']);
  await tvsOk(d.control, ['add-port', 'br-as', a.host]);
  await tvsOk(d.control, ['add-port', 'br-as', b.host]);
  await ofctl(['del-flows', mgmt]);
  await ofctl(['add-flow', mgmt, `table=0,priority=10,in_port=${a.host},actions=write_actions(output:${b.host}),goto_table:1`]);
  await ofctl(['add-flow', mgmt, `table=0,priority=10,in_port=${b.host},actions=write_actions(dec_ttl,output:${a.host}),goto_table:1`]);
  await ofctl(['add-flow', mgmt, 'table=1,priority=0,actions=write_metadata:0x1']);

  const ping = (count: number) => pingEach(nsA, '10.232.0.2', count);

  await t.test('dump-flows prints the instructions as ovs-ofctl wrote them', async (t) => {
    const out = await ofctl(['--no-names', 'dump-flows', mgmt]);
    t.match(out, /priority=10,in_port=1 actions=write_actions\(output:2\),goto_table:1/);
    t.match(out, /priority=10,in_port=2 actions=write_actions\(dec_ttl,output:1\),goto_table:1/);
  });

  await t.test('pings cross through the action set; the reply was decremented by it', async (t) => {
    const r = await ping(3);
    t.equal(r.loss, 0, r.summary);
    const out = r.replies.join('\n');
    t.match(out, /ttl=63/, 'the reply left through write_actions(dec_ttl,output) with TTL 63');
    t.notMatch(out, /ttl=64/);
  });

  await t.test('clear_actions in the later table empties the set: nothing crosses', async (t) => {
    await ofctl(['add-flow', mgmt, 'table=1,priority=5,icmp,actions=clear_actions']);
    const none = await pingNone(nsA, '10.232.0.2');
    t.equal(none.answered, 0, none.summary);
    const dump = await tvsOk(d.control, ['dump-flows', 'br-as']);
    t.match(dump, /n_packets=[1-9]\d*, .*priority=5,icmp actions=clear_actions/, dump);
    await ofctl(['--strict', 'del-flows', mgmt, 'table=1,priority=5,icmp']);
    const again = await ping(2);
    t.equal(again.loss, 0, `through again once the clear_actions flow is gone: ${again.summary}`);
  });
});
