/**
 * Port arguments in flow text: OpenFlow reserved names (NORMAL, LOCAL, ...), numbers and bridge
 * port names, and the action an output to each of them is.
 */
import * as F from '../fields';
import { outputActionFor, type Action } from '../actions';
import { OFPP_CONTROLLER, OFPP_FLOOD, OFPP_ALL, OFPP_IN_PORT, OFPP_LOCAL, OFPP_MAX, OFPP_NORMAL, OFPP_NONE, OFPP_TABLE } from '../ofport';
import type { ParseOptions } from './flow-spec';
import { err, located, type Token } from './tokens';

/** OpenFlow reserved port names as ovs-ofctl prints/accepts them. */
const RESERVED: Record<string, number> = {
  IN_PORT: OFPP_IN_PORT,
  TABLE: OFPP_TABLE,
  NORMAL: OFPP_NORMAL,
  FLOOD: OFPP_FLOOD,
  ALL: OFPP_ALL,
  CONTROLLER: OFPP_CONTROLLER,
  LOCAL: OFPP_LOCAL,
  NONE: OFPP_NONE,
  ANY: OFPP_NONE,
};
function reservedPort(v: string): number | undefined {
  return RESERVED[v.trim().toUpperCase()];
}

export function parsePortArg(v: string, tok: Token, opts: ParseOptions, role: string): number {
  const r = reservedPort(v);
  if (r !== undefined) return r;
  return located(tok, () => F.parsePort(v, opts, role));
}

/** Action for an output to `port` (see outputActionFor); a port no frame can go to is an error. */
export function outputTo(port: number, tok: Token): Action {
  const a = outputActionFor(port);
  // Port 0 is accepted as OVS 3.1 does (see F.parsePort); it sends nothing.
  if (a.type === 'output' && port >= OFPP_MAX && port !== OFPP_LOCAL) throw err(`port ${port} is not a valid output port`, tok);
  return a;
}

export function parseOutPortFilter(v: string, opts: ParseOptions): number {
  const r = reservedPort(v);
  if (r !== undefined) return r;
  return F.parsePort(v, opts, 'port for out_port');
}

/** A bare action that is a quoted port name (`"phy-br-eth1"`, as dump-flows prints it) unquoted. */
export function safeJson(s: string): string {
  try {
    return JSON.parse(s) as string;
  } catch {
    return s;
  }
}
