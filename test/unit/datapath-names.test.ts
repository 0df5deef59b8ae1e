/**
 * Bridge and port names: a bridge's name is also an interface's (its LOCAL port, which OVS makes
 * for every bridge), so it follows Linux's dev_valid_name as OVS does: refused with what is wrong,
 * and a refused add-br leaves the switch as it was.
 */
import t from 'tap';
import { Switch } from '../../src/datapath/switch';
import { nameProblem } from '../../src/datapath/port-table';
import { validateConfig } from '../../src/control/config';

t.test('nameProblem: bridges as interface names, ports as before', async (t) => {
  const bad: [string, RegExp][] = [
    ['', /^invalid bridge name "": empty \(/],
    ['br:0', /^invalid bridge name "br:0": ':' is not allowed \(/],
    ['br/0', /: '\/' is not allowed/],
    ['br 0', /: a space is not allowed/],
    ['br\t0', /^invalid bridge name "br\\t0": a tab is not allowed/],
    ['br\n0', /: a newline is not allowed/],
    ['brü', /: U\+00FC is not allowed/],
    ['.', /: '\.' and '\.\.' are not interface names/],
    ['..', /: '\.' and '\.\.' are not interface names/],
    ['0123456789abcdef', /: 16 characters, at most 15 \(/],
  ];
  for (const [name, re] of bad) t.match(nameProblem('bridge', name), re, JSON.stringify(name));
  for (const name of ['br0', 'br-int', 'br.x', '...', 'a@b_c', '0123456789abcde']) t.equal(nameProblem('bridge', name), undefined, `${name} is a bridge name`);
  t.equal(nameProblem('port', 'p:1'), undefined, "a port name may have ':' (patch ports name no interface)");
  t.equal(nameProblem('port', '.'), undefined);
  t.match(nameProblem('port', 'p/1'), /^invalid port name "p\/1": '\/' is not allowed \(1-15 characters of letters, digits, '_', '\.', ':', '@', '-'\)$/);
  t.match(nameProblem('bridge', 7), /^invalid bridge name: a number, not a string/);
});

t.test('add-br refuses such a name and changes nothing', async (t) => {
  const sw = new Switch({ clock: () => 0, arena: { slots: 256, slotSize: 2048 + 128 } });
  for (const name of ['br:0', '..', 'br 0']) t.throws(() => sw.addBridge(name), /invalid bridge name/, name);
  t.equal(sw.bridges.size, 0);
});

t.test('config: the bridge name is refused with its path', async (t) => {
  t.throws(() => validateConfig({ bridges: [{ name: 'br:0' }] }), /^bridges\[0\]\.name: invalid bridge name "br:0": ':' is not allowed/);
  t.throws(() => validateConfig({ bridges: [{ name: 'br0', ports: [{ name: 'a b', type: 'memory' }] }] }), /^bridges\[0\]\.ports\[0\]\.name: invalid port name "a b": a space is not allowed/);
  t.doesNotThrow(() => validateConfig({ bridges: [{ name: 'br0', ports: [{ name: 'p:1', type: 'memory' }] }] }));
});
