/** The conntrack action in flow text: `ct(...)` with its `nat(...)` and `exec(...)` arguments. */
import type { Match } from '../match';
import * as F from '../fields';
import type { Action, CtNat } from '../actions';
import { N_TABLES } from '../table';
import { parseLoad, parseSetField } from './field-writes';
import { parseSubfield } from './subfields';
import { err, FlowSyntaxError, splitTop, tokenize, type Token } from './tokens';

/**
 * `ct(commit,force,table=T,zone=N|zone=FIELD[a..b],nat[(...)],exec(...))` as OVS parses it
 * (ofp-actions.c parse_CT): the match must be IP or IPv6; exec() only writes ct_mark/ct_label
 * and needs commit; nat(src|dst=...) needs commit; a zone subfield is 16 bits wide.
 */
export function parseCt(tok: Token, m: Match): Action {
  const a: Extract<Action, { type: 'ct' }> = { type: 'ct', commit: false, force: false, table: 255, zone: 0, zoneSrc: null, nat: null, exec: [] };
  const v = tok.hasValue ? tok.value : '';
  const at = (off: number): number => tok.valCol + off;
  const fail = (msg: string, off: number): FlowSyntaxError => new FlowSyntaxError(`ct: ${msg}`, at(off), 'ct');
  for (const { text, at: off } of splitTop(v)) {
    const eq = text.indexOf('=');
    const paren = text.indexOf('(');
    const isKv = eq >= 0 && (paren < 0 || eq < paren);
    const name = (isKv ? text.slice(0, eq) : paren >= 0 ? text.slice(0, paren) : text).trim().toLowerCase();
    const arg = isKv ? text.slice(eq + 1).trim() : null;
    switch (name) {
      case 'commit':
        a.commit = true;
        break;
      case 'force':
        a.force = true;
        break;
      case 'table': {
        if (arg === null || !/^(0x[0-9a-f]+|[0-9]+)$/i.test(arg)) throw fail(`table needs a number (table=T), got '${text}'`, off);
        const t = arg.toLowerCase().startsWith('0x') ? parseInt(arg.slice(2), 16) : Number(arg);
        if (!(t < N_TABLES)) throw fail(`invalid table ${arg} (0..${N_TABLES - 1})`, off);
        a.table = t;
        break;
      }
      case 'zone': {
        if (arg === null || arg === '') throw fail('zone needs a value (zone=N or zone=NXM_NX_REGn[a..b])', off);
        if (/^(0x[0-9a-f]+|[0-9]+)$/i.test(arg)) {
          const z = arg.toLowerCase().startsWith('0x') ? parseInt(arg.slice(2), 16) : Number(arg);
          if (!(z <= 0xffff)) throw fail(`zone ${arg} is out of range (0..65535)`, off);
          a.zone = z;
          a.zoneSrc = null;
        } else {
          const sf = parseSubfield(arg, { ...tok, valCol: at(off + 5) });
          if (sf.nbits !== 16) throw fail(`zone=${arg}: a zone subfield must be 16 bits wide, not ${sf.nbits} (e.g. NXM_NX_REG6[0..15])`, off);
          if (sf.field.bits > 64) throw fail(`zone=${arg}: cannot read the zone from ${sf.field.nxm}`, off);
          a.zoneSrc = sf;
          a.zone = 0;
        }
        break;
      }
      case 'nat': {
        if (isKv) throw fail(`invalid argument '${text}'`, off);
        const inner = paren >= 0 ? (text.endsWith(')') ? text.slice(paren + 1, -1) : null) : '';
        if (inner === null) throw fail(`unbalanced parentheses in '${text}'`, off);
        a.nat = parseNat(inner, (msg) => fail(msg, off));
        break;
      }
      case 'exec': {
        if (paren < 0 || isKv || !text.endsWith(')')) throw fail('exec takes a parenthesised action list: exec(set_field:V->ct_mark)', off);
        const inner = text.slice(paren + 1, -1);
        for (const t2 of tokenize(inner, at(off + paren + 1) - 1)) {
          const k = t2.key.toLowerCase();
          let x: Action;
          if (k === 'set_field' && t2.hasValue) x = parseSetField(t2.value, t2, m, true);
          else if (k === 'load' && t2.hasValue) x = parseLoad(t2.value, t2, m, true);
          else if (k === 'nat') {
            // OVS also accepts nat inside exec(); it means the same.
            a.nat = parseNat(t2.hasValue ? t2.value : '', (msg) => err(`ct: ${msg}`, t2));
            continue;
          } else throw err(`ct action doesn't support nested action ${t2.key}`, t2, false);
          const f = x.type === 'set_field' ? (x.field === 'vlan_vid' ? null : x.field) : x.type === 'load' ? x.dst.field : null;
          if (f === null || !f.ctOnly) throw err(`ct action doesn't support nested modification of ${f === null ? 'vlan_vid' : f.name}`, t2);
          a.exec.push(x);
        }
        break;
      }
      case 'alg':
        throw fail('alg= (FTP/TFTP helpers) is not supported', off);
      default:
        throw fail(`invalid argument '${text}'`, off);
    }
  }
  const t = m.dlType;
  if (t !== F.ETH_TYPE_IP && t !== F.ETH_TYPE_IPV6) {
    throw err("ct requires ip or ipv6 in the match (add 'ip,'), as OVS does (OFPBAC_MATCH_INCONSISTENT)", tok, false);
  }
  if (a.nat !== null && a.nat.addrMin !== 0 && t !== F.ETH_TYPE_IP) {
    // OVS check_NAT: the range's family must be the match's. tvs has IPv4 ranges only.
    throw err('ct: a nat() address range is IPv4 and needs ip in the match (IPv6 connections are tracked, not translated), as OVS does (OFPBAC_MATCH_INCONSISTENT)', tok, false);
  }
  if (a.exec.length > 0 && !a.commit) throw err('ct: exec() needs commit (a connection is only written when committed)', tok, false);
  if (a.nat !== null && a.nat.kind !== null && !a.commit) throw err('ct: nat(src=...|dst=...) needs commit (the translation is set up when the connection is committed)', tok, false);
  return a;
}

/** The inside of `nat(...)` ('' for bare `nat`): src|dst[=A[-B][:P[-Q]]], persistent, hash, random. */
function parseNat(args: string, fail: (msg: string) => Error): CtNat {
  const n: CtNat = { kind: null, addrMin: 0, addrMax: 0, portMin: 0, portMax: 0, flags: [] };
  if (args.trim() === '') return n;
  for (const part of args.split(',').map((x) => x.trim())) {
    if (part === 'persistent' || part === 'hash' || part === 'random') {
      if (!n.flags.includes(part)) n.flags.push(part);
      continue;
    }
    const mm = /^(src|dst)(?:=(.*))?$/.exec(part);
    if (!mm) throw fail(`invalid nat argument '${part}' (src=..., dst=..., persistent, hash, random)`);
    if (n.kind !== null) throw fail('nat takes one of src or dst');
    n.kind = mm[1] as 'src' | 'dst';
    const range = mm[2];
    if (range === undefined || range === '') continue;
    if (range.startsWith('[')) throw fail(`IPv6 nat ranges are not supported ('${range}')`);
    const r = /^(\d+\.\d+\.\d+\.\d+)(?:-(\d+\.\d+\.\d+\.\d+))?(?::(\d+)(?:-(\d+))?)?$/.exec(range);
    if (!r) throw fail(`invalid nat range "${range}" (A[-B][:P[-Q]])`);
    try {
      n.addrMin = F.parseIpText(r[1]);
      n.addrMax = r[2] !== undefined ? F.parseIpText(r[2]) : 0;
    } catch (e) {
      throw fail((e as Error).message);
    }
    if (n.addrMax !== 0 && n.addrMax < n.addrMin) throw fail(`invalid nat range "${range}"`);
    if (r[3] !== undefined) {
      n.portMin = Number(r[3]);
      n.portMax = r[4] !== undefined ? Number(r[4]) : 0;
      if (n.portMin < 1 || n.portMin > 65535 || n.portMax > 65535 || (n.portMax !== 0 && n.portMax < n.portMin)) throw fail(`invalid nat range "${range}"`);
    }
  }
  return n;
}
