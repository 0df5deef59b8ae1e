/**
 * OpenFlow controller targets as ovs-vsctl set-controller writes them: active `tcp:IP[:PORT]`
 * (port 6653 by default) or `unix:/ABSOLUTE/PATH`, and passive `ptcp:[PORT][:IP]` (the switch
 * listens; port 6653 and every address by default, as OVS). Parsed here, below both the config
 * file and the OpenFlow service, so both accept exactly the same text.
 */
import * as net from 'net';

export type ControllerTargetSpec = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string } | { kind: 'ptcp'; host: string; port: number };

export const OFP_TCP_PORT = 6653;

export function parseControllerTarget(text: string): ControllerTargetSpec {
  const tcp = /^tcp:(\[[^\]]+\]|[^:\[]+)(?::(\d{1,5}))?$/.exec(text);
  if (tcp) {
    const host = tcp[1].replace(/^\[|\]$/g, '');
    const port = tcp[2] === undefined ? OFP_TCP_PORT : Number(tcp[2]);
    if (net.isIP(host) === 0) throw new Error(`controller '${text}': '${host}' is not an IP address`);
    if (port < 1 || port > 65535) throw new Error(`controller '${text}': port ${port} is out of range`);
    return { kind: 'tcp', host, port };
  }
  const ptcp = /^ptcp:(\d{1,5})?(?::(\[[^\]]+\]|[^:\[]+))?$/.exec(text);
  if (ptcp) {
    const host = ptcp[2] === undefined ? '0.0.0.0' : ptcp[2].replace(/^\[|\]$/g, '');
    const port = ptcp[1] === undefined ? OFP_TCP_PORT : Number(ptcp[1]);
    if (net.isIP(host) === 0) throw new Error(`controller '${text}': '${host}' is not an IP address`);
    if (port < 1 || port > 65535) throw new Error(`controller '${text}': port ${port} is out of range`);
    return { kind: 'ptcp', host, port };
  }
  const unix = /^unix:(\/.+)$/.exec(text);
  if (unix) return { kind: 'unix', path: unix[1] };
  throw new Error(`controller '${text}': expected tcp:IP[:PORT], unix:/ABSOLUTE/PATH or ptcp:[PORT][:IP]`);
}

export type FailMode = 'standalone' | 'secure';
export const FAIL_MODES: readonly FailMode[] = ['standalone', 'secure'];
