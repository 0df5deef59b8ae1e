/**
 * ofproto/trace for the flow tables: run one frame through the real lookup and the real
 * compiled plans, with an ExecTracer that records every table visited, the rule matched (or
 * the miss) and every action run, and a recording BridgeOps that captures each output's frame
 * bytes instead of sending them. It enters through the pipeline's own `decide` (= `process`
 * without committing), so counters, table stats and the EMC are left untouched and the path is
 * forwarding's. Imports point one way: trace uses the pipeline, the pipeline knows no trace.
 *
 * Input is either raw frame bytes + in_port, or a flowspec (`in_port=1,dl_vlan=5,ip,nw_dst=..`)
 * from which a frame is synthesized (registers/metadata in the spec are loaded into the key).
 */
import { Batch } from '../packet/batch';
import * as K from '../packet/flow-key';
import { PARSE_DROPS, parseSlot } from '../packet/parse';
import type { BridgeOps, PacketInReason } from './bridge-ops';
import { checksum, pseudoSumV4, pseudoSumV6 } from '../wire/checksum';
import { describeFrame } from '../wire/describe';
import { FLOW_DROPS } from './flow-drops';
import type { ExecTracer } from './exec-hooks';
import { parseFlow } from './ofctl-parse';
import { formatAction, formatIp, formatMatch, formatPort, type PortNamer } from './ofctl-format';
import type { FlowPipeline } from './pipeline';
import type { Match } from './match';

export type TraceInput = { flow: string } | { frame: Uint8Array; inPort: number };

export type TraceStep =
  | { kind: 'lookup'; depth: number; table: number; rule: string | null; priority?: number; cookie?: string }
  | { kind: 'action'; depth: number; action: string }
  | { kind: 'event'; depth: number; text: string };

export interface TraceOutput {
  /** 'output' (to `port`), 'normal', 'flood', 'all', 'controller' or 'drop'. */
  kind: 'output' | 'normal' | 'flood' | 'all' | 'controller' | 'drop';
  port?: number;
  portName?: string;
  reason?: string;
  /** The frame exactly as it would leave. */
  frame: Buffer;
  headers: string;
}

export interface TraceResult {
  inPort: number;
  /** The tunnel metadata the frame arrived with (`tun_id=0x3e9,tun_src=..,tun_dst=..`), or ''. */
  tunnel: string;
  frame: Buffer;
  headers: string;
  steps: TraceStep[];
  outputs: TraceOutput[];
  /** Human-readable multi-line rendering (what `tvs trace` prints). */
  text: string;
}

export interface TraceContext {
  resolvePort(name: string): number;
  portName(ofport: number): string | undefined;
  /**
   * What the bridge's NORMAL would do with the frame in `slot` (its VLAN, the learned port or
   * the flood's ports and tags), as lines under the NORMAL action; the bridge supplies it, as
   * the flow tables know no L2. The slot stays the trace's.
   */
  explainNormal?(slot: number): string[];
}

/** ofproto/trace of `input` through pipeline `p` (port names from `ctx`, default the pipeline's). */
export function runTrace(p: FlowPipeline, input: TraceInput, ctx: TraceContext = p.names): TraceResult {
  const a = p.arena;
  const x = p.exec;
  let frame: Uint8Array;
  let inPort: number;
  let spec: Match | undefined;
  if ('flow' in input) {
    const fs = parseFlow(input.flow, 'match', ctx);
    spec = fs.match;
    frame = synthesizeFrame(spec);
    inPort = spec.value[K.K_IN_PORT];
  } else {
    frame = input.frame;
    inPort = input.inPort;
  }
  const slot = a.allocFrom(frame);
  if (slot < 0) throw new Error('trace: no free packet slot (or frame too large)');
  const perr = parseSlot(a, slot, inPort);
  if (perr >= 0) {
    a.release(slot);
    // By the reason's name, as dump-ports and the metrics count the drop: an id means nothing to a user.
    const reason = PARSE_DROPS.reasons[perr];
    throw new Error(`trace: the frame fails the parse checks: ${reason} (${PARSE_DROPS.text[reason]}); the switch drops it, counted as drop reason ${reason}`);
  }
  const k = slot << K.KEY_SHIFT;
  if (spec !== undefined) {
    a.keyTail[slot] = 1; // metadata, registers and tunnel words are in the key's tail
    for (let w = K.K_METADATA_HI; w < K.K_REG0 + 8; w++) a.key[k + w] = spec.value[w];
    // tun_id/tun_src/tun_dst in the flowspec: the frame "arrived by a tunnel" with them.
    let tun = 0;
    for (let w = K.K_TUN_ID_HI; w <= K.K_TUN_DST; w++) tun |= a.key[k + w] = spec.value[w];
    if (tun !== 0) a.key[k + K.K_TUN_FLAGS] |= K.TUN_PRESENT;
  }
  const tunnel = tunnelText(a.key, k);
  const names: PortNamer = (n) => ctx.portName(n);
  const steps: TraceStep[] = [];
  const outputs: TraceOutput[] = [];
  // Depth of the last action run: NORMAL's explanation goes under it.
  let actionDepth = 0;
  const tracer: ExecTracer = {
    lookup(table, rid, _slot, depth) {
      const r = rid >= 0 ? x.rules[rid] : undefined;
      steps.push(
        r === undefined
          ? { kind: 'lookup', depth, table, rule: null }
          : { kind: 'lookup', depth, table, rule: formatMatch(r.match, r.priority, names) || '(match all)', priority: r.priority, cookie: '0x' + r.cookie.toString(16) },
      );
    },
    action(rid, pc, _slot, depth) {
      actionDepth = depth;
      const r = x.rules[rid];
      const i = r ? r.pcs.indexOf(pc) : -1;
      if (r && i >= 0) steps.push({ kind: 'action', depth, action: formatAction(r.actions[i], names) });
    },
    event(text, depth) {
      steps.push({ kind: 'event', depth, text });
    },
    actionSet(act, depth) {
      steps.push({ kind: 'action', depth, action: `action set: ${formatAction(act, names)}` });
    },
  };
  const rec = (kind: TraceOutput['kind'], s: number, port?: number, reason?: string): void => {
    const f = a.frame(s);
    outputs.push({ kind, port, portName: port === undefined ? undefined : ctx.portName(port), reason, frame: f, headers: describeFrame(f) });
    a.release(s);
  };
  const ops: BridgeOps = {
    name: 'trace',
    arena: a,
    output: (s, port) => rec('output', s, port),
    normal: (s) => {
      const lines = ctx.explainNormal?.(s) ?? [];
      for (const text of lines) steps.push({ kind: 'event', depth: actionDepth, text });
      rec('normal', s, undefined, lines.length > 0 ? lines.join('; ') : undefined);
    },
    flood: (s, all) => rec(all ? 'all' : 'flood', s),
    controller: (s, _t, _c, reason: PacketInReason) => rec('controller', s, undefined, reason),
    drop: (s, reason) => rec('drop', s, undefined, FLOW_DROPS.reasons[reason] ?? String(reason)),
    ofportByName: (n) => ctx.resolvePort(n),
    portName: (n) => ctx.portName(n),
    inPort: (s) => a.key[s << K.KEY_SHIFT],
  };

  // The pipeline's own entry (process), in its decide-only mode: counters, table stats, drop
  // counters and the EMC stay as they were.
  const batch = new Batch(1);
  batch.push(slot);
  p.decide(batch, ops, tracer);
  const f = Buffer.from(frame);
  const result: TraceResult = { inPort, tunnel, frame: f, headers: describeFrame(f), steps, outputs, text: '' };
  result.text = renderTrace(result, names);
  return result;
}

/** Tunnel metadata of the key at key[k..] as match text, '' when the frame came by no tunnel. */
function tunnelText(key: Uint32Array, k: number): string {
  if ((key[k + K.K_TUN_FLAGS] & K.TUN_PRESENT) === 0) return '';
  const id = (BigInt(key[k + K.K_TUN_ID_HI]) << 32n) | BigInt(key[k + K.K_TUN_ID_LO]);
  return `tun_id=0x${id.toString(16)},tun_src=${formatIp(key[k + K.K_TUN_SRC])},tun_dst=${formatIp(key[k + K.K_TUN_DST])}`;
}

function renderTrace(r: TraceResult, names: PortNamer): string {
  const lines: string[] = [`Flow: in_port=${formatPort(r.inPort, names)}${r.tunnel ? ',' + r.tunnel : ''} ${r.headers}`, ''];
  for (const s of r.steps) {
    const ind = '    '.repeat(s.depth);
    if (s.kind === 'lookup') {
      lines.push(`${ind}${s.table}. ${s.rule === null ? 'No match.' : `${s.rule}, cookie ${s.cookie}`}`);
    } else if (s.kind === 'action') lines.push(`${ind}    ${s.action}`);
    else lines.push(`${ind}    -> ${s.text}`);
  }
  lines.push('', 'Outputs:');
  if (r.outputs.length === 0) lines.push('  (none)');
  for (const o of r.outputs) {
    const what =
      o.kind === 'output' ? `output ${formatPort(o.port!, names)}` : o.kind === 'drop' ? `drop (${o.reason})` : o.kind === 'controller' ? `controller (${o.reason})` : o.reason ? `${o.kind.toUpperCase()} (${o.reason})` : o.kind.toUpperCase();
    lines.push(`  ${what}: ${o.headers}`);
  }
  return lines.join('\n');
}

/** Build a minimal frame that has the field values of `m` (wildcarded fields are zero). */
export function synthesizeFrame(m: Match): Uint8Array {
  const v = m.value;
  const b = new Uint8Array(128);
  const w16 = (p: number, x: number): void => {
    b[p] = (x >>> 8) & 0xff;
    b[p + 1] = x & 0xff;
  };
  const w32 = (p: number, x: number): void => {
    w16(p, x >>> 16);
    w16(p + 2, x & 0xffff);
  };
  w16(0, v[K.K_DL_DST_HI]);
  w32(2, v[K.K_DL_DST_LO]);
  w16(6, v[K.K_DL_SRC_HI]);
  w32(8, v[K.K_DL_SRC_LO]);
  let p = 12;
  if (m.mask[K.K_VLAN_TCI] & 0x1000 && v[K.K_VLAN_TCI] & 0x1000) {
    w16(p, 0x8100);
    w16(p + 2, v[K.K_VLAN_TCI] & ~0x1000 & 0xffff);
    p += 4;
  }
  const type = m.dlType >= 0 ? m.dlType : 0x05ff;
  w16(p, type === 0x05ff ? 0x0000 : type);
  const l3 = p + 2;
  let end = l3;
  const proto = v[K.K_NW_PROTO];
  if (type === 0x0800 || type === 0x86dd) {
    const v6 = type === 0x86dd;
    const hl = v6 ? 40 : 20;
    const l4 = l3 + hl;
    let l4len = 0;
    if (proto === 6) {
      w16(l4, v[K.K_TP_SRC]);
      w16(l4 + 2, v[K.K_TP_DST]);
      b[l4 + 12] = 0x50;
      b[l4 + 13] = 0x02; // SYN
      w16(l4 + 14, 0xffff);
      l4len = 20;
    } else if (proto === 17) {
      w16(l4, v[K.K_TP_SRC]);
      w16(l4 + 2, v[K.K_TP_DST]);
      w16(l4 + 4, 8);
      l4len = 8;
    } else if (proto === 1 || proto === 58) {
      b[l4] = v[K.K_TP_SRC];
      b[l4 + 1] = v[K.K_TP_DST];
      l4len = 8;
    }
    if (v6) {
      b[l3] = 0x60 | (v[K.K_NW_TOS] >>> 4);
      b[l3 + 1] = (v[K.K_NW_TOS] & 0x0f) << 4;
      w16(l3 + 4, l4len);
      b[l3 + 6] = proto;
      b[l3 + 7] = m.mask[K.K_NW_TTL] ? v[K.K_NW_TTL] : 64;
    } else {
      b[l3] = 0x45;
      b[l3 + 1] = v[K.K_NW_TOS];
      w16(l3 + 2, 20 + l4len);
      b[l3 + 8] = m.mask[K.K_NW_TTL] ? v[K.K_NW_TTL] : 64;
      b[l3 + 9] = proto;
      w32(l3 + 12, v[K.K_NW_SRC]);
      w32(l3 + 16, v[K.K_NW_DST]);
      w16(l3 + 10, checksum(b, l3, 20));
    }
    if (l4len > 0) {
      const ps = proto === 1 ? 0 : v6 ? pseudoSumV6(b, l3, proto, l4len) : pseudoSumV4(b, l3, proto, l4len);
      const off = proto === 6 ? 16 : proto === 17 ? 6 : 2;
      let c = checksum(b, l4, l4len, ps);
      if (proto === 17 && c === 0) c = 0xffff;
      w16(l4 + off, c);
    }
    end = l4 + l4len;
  } else if (type === 0x0806) {
    w16(l3, 1);
    w16(l3 + 2, 0x0800);
    b[l3 + 4] = 6;
    b[l3 + 5] = 4;
    w16(l3 + 6, m.mask[K.K_NW_PROTO] ? proto : 1);
    w16(l3 + 8, v[K.K_ARP_SHA_HI]);
    w32(l3 + 10, v[K.K_ARP_SHA_LO]);
    w32(l3 + 14, v[K.K_NW_SRC]);
    w16(l3 + 18, v[K.K_ARP_THA_HI]);
    w32(l3 + 20, v[K.K_ARP_THA_LO]);
    w32(l3 + 24, v[K.K_NW_DST]);
    end = l3 + 28;
  }
  return b.slice(0, Math.max(60, end));
}
