/**
 * tsvswitch as a library: `import { Switch } from 'tsvswitch'`.
 *
 *   const sw = new Switch();
 *   sw.addBridge('br0');
 *   sw.addPort('br0', 'veth1', { type: 'afpacket' });
 *   sw.addPort('br0', 'tap0', { type: 'tap', tag: 10 });
 *   sw.start();
 */
export { Switch, SwitchOptions, PacketIn } from './datapath/switch';
export { ShowBridge, DumpPort } from './datapath/views';
export { Bridge } from './datapath/bridge';
export { SwitchPort, PortConfig, PortType } from './datapath/switch-port';
export { MemoryPort } from './io/memory-port';
export { warmUpDatapath, WarmUpOptions, WarmUpReport } from './datapath/warm-up';
export { PacketArena } from './packet/arena';
export { Batch, BURST } from './packet/batch';
export { loadConfig, validateConfig, applyConfig, SwitchConfig } from './control/config';
export { ControlServer } from './control/server';
export { switchCommands } from './control/commands';
/** The flows Neutron's OVS agent writes (security groups on br-int, br-tun), as text: docs/neutron.md. */
export * as neutron from './neutron';
