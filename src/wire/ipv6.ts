/**
 * IPv6 fixed header (RFC 8200 §3) and the extension headers the parse pass walks to reach the
 * upper-layer protocol (hop-by-hop, routing, destination options, AH, fragment), as OVS's
 * `parse_ipv6_ext_hdrs` does.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |Version| Traffic Class |           Flow Label                  |  0-3
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |         Payload Length        |  Next Header  |   Hop Limit   |  4-7
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                      Source Address (8-23)                    |
 *   |                   Destination Address (24-39)                 |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

export const VER_TC_FLOW = 0; // 0-3
export const PAYLOAD_LEN = 4; // 4-5
export const NEXT_HEADER = 6; // 6
export const HOP_LIMIT = 7; // 7
export const SRC = 8; // 8-23
export const DST = 24; // 24-39
export const HEADER_LEN = 40;

/** Next Header values of the extension headers that are walked (RFC 8200 §4, RFC 4302). */
export const NH_HOPOPTS = 0;
export const NH_ROUTING = 43;
export const NH_FRAGMENT = 44;
export const NH_AH = 51;
export const NH_DSTOPTS = 60;

/**
 * Generic extension header (hop-by-hop, routing, destination options): Next Header, then
 * Hdr Ext Len in 8-octet units not counting the first 8. AH counts in 4-octet units minus 2.
 *
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  Next Header  |  Hdr Ext Len  |  ...     0-1
 */
export const EXT_NEXT = 0;
export const EXT_LEN = 1;
export const EXT_MIN_LEN = 8;

/**
 * Fragment header (RFC 8200 §4.5), 8 octets:
 *   | Next Header | Reserved | Fragment Offset (13 bits) |Res|M|  | Identification (4-7) |
 */
export const FRAG_OFFLG = 2; // 2-3: offset << 3 | res(2) | M
export const FRAG_HEADER_LEN = 8;
export const FRAG_OFFSET_MASK = 0xfff8;
export const FRAG_MORE = 0x0001;

/** Is `nh` an extension header the parse pass walks over? */
export function isExtHeader(nh: number): boolean {
  return nh === NH_HOPOPTS || nh === NH_ROUTING || nh === NH_DSTOPTS || nh === NH_FRAGMENT || nh === NH_AH;
}

/** Length in bytes of the (non-fragment) extension header at p whose type is `nh`. */
export function extLen(b: Uint8Array, p: number, nh: number): number {
  return nh === NH_AH ? (b[p + EXT_LEN] + 2) << 2 : (b[p + EXT_LEN] + 1) << 3;
}

/** Where `skipExtHeaders` stopped: the upper-layer protocol and the offset of its header. */
export const upper = { nh: 0, p: 0 };

/**
 * Walk the extension headers of the IPv6 packet at `ip` (ending at `end`) to the upper-layer
 * header, as the parse pass does (at most `maxHeaders`): fills `upper`. False when a header is
 * cut short, the chain is longer than `maxHeaders`, or the packet is a fragment (as OVS's
 * conntrack refuses a fragment quoted by an ICMPv6 error) — what a quoted datagram must not be. Never reads past `end`.
 */
export function skipExtHeaders(b: Uint8Array, ip: number, end: number, maxHeaders: number): boolean {
  let p = ip + HEADER_LEN;
  let nh = b[ip + NEXT_HEADER];
  for (let n = 0; isExtHeader(nh); n++) {
    if (n === maxHeaders || end - p < EXT_MIN_LEN) return false;
    // A fragment header with offset 0 and no more fragments (an atomic fragment) is no fragment.
    if (nh === NH_FRAGMENT && fragOffLg(b, p) !== 0) return false;
    const hl = nh === NH_FRAGMENT ? FRAG_HEADER_LEN : extLen(b, p, nh);
    if (hl > end - p) return false;
    nh = b[p + EXT_NEXT];
    p += hl;
  }
  upper.nh = nh;
  upper.p = p;
  return true;
}

/** The 16-bit fragment offset/flags word of the fragment header at p. */
export function fragOffLg(b: Uint8Array, p: number): number {
  return (b[p + FRAG_OFFLG] << 8) | b[p + FRAG_OFFLG + 1];
}

/** Address word `i` (0..3, most significant first) of the 16-byte address at p. */
export function addrWord(b: Uint8Array, p: number, i: number): number {
  const q = p + (i << 2);
  return ((b[q] << 24) | (b[q + 1] << 16) | (b[q + 2] << 8) | b[q + 3]) >>> 0;
}
/** Write address word `i` (0..3) of the 16-byte address at p. */
export function setAddrWord(b: Uint8Array, p: number, i: number, v: number): void {
  const q = p + (i << 2);
  b[q] = v >>> 24;
  b[q + 1] = (v >>> 16) & 0xff;
  b[q + 2] = (v >>> 8) & 0xff;
  b[q + 3] = v & 0xff;
}
export function setFlowLabel(b: Uint8Array, ip: number, label: number): void {
  b[ip + 1] = (b[ip + 1] & 0xf0) | ((label >>> 16) & 0x0f);
  b[ip + 2] = (label >>> 8) & 0xff;
  b[ip + 3] = label & 0xff;
}

export const OK = 0;
export const ERR_TRUNCATED = 1;
export const ERR_VERSION = 2;
export const ERR_PAYLOAD_LEN = 3;

export function check(b: Uint8Array, ip: number, avail: number): number {
  if (avail < HEADER_LEN) return ERR_TRUNCATED;
  if (b[ip] >>> 4 !== 6) return ERR_VERSION;
  // Payload length 0 means a jumbogram (RFC 2675) — accept; otherwise it must fit.
  if (HEADER_LEN + payloadLen(b, ip) > avail) return ERR_PAYLOAD_LEN;
  return OK;
}

export function trafficClass(b: Uint8Array, ip: number): number {
  return ((b[ip] & 0x0f) << 4) | (b[ip + 1] >>> 4);
}
/** The traffic class straddles bytes 0-1: vvvvTTTT TTTTffff. */
export function setTrafficClass(b: Uint8Array, ip: number, tc: number): void {
  b[ip] = (b[ip] & 0xf0) | ((tc >>> 4) & 0x0f);
  b[ip + 1] = (b[ip + 1] & 0x0f) | ((tc & 0x0f) << 4);
}
export function flowLabel(b: Uint8Array, ip: number): number {
  return ((b[ip + 1] & 0x0f) << 16) | (b[ip + 2] << 8) | b[ip + 3];
}
export function payloadLen(b: Uint8Array, ip: number): number {
  return (b[ip + PAYLOAD_LEN] << 8) | b[ip + PAYLOAD_LEN + 1];
}
export function nextHeader(b: Uint8Array, ip: number): number {
  return b[ip + NEXT_HEADER];
}
export function hopLimit(b: Uint8Array, ip: number): number {
  return b[ip + HOP_LIMIT];
}
export function setHopLimit(b: Uint8Array, ip: number, v: number): void {
  b[ip + HOP_LIMIT] = v;
}

/** Text form of the 16-byte address at p (no zero compression; used by traces only). */
export function formatAddr6(b: Uint8Array, p: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(((b[p + i] << 8) | b[p + i + 1]).toString(16));
  return parts.join(':');
}

export interface Ipv6Header {
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  nextHeader: number;
  hopLimit: number;
  src: string;
  dst: string;
}
export function parseIpv6(b: Uint8Array, ip = 0): Ipv6Header {
  if (check(b, ip, b.length - ip) !== OK) throw new Error('ipv6: malformed header');
  return {
    trafficClass: trafficClass(b, ip),
    flowLabel: flowLabel(b, ip),
    payloadLength: payloadLen(b, ip),
    nextHeader: nextHeader(b, ip),
    hopLimit: hopLimit(b, ip),
    src: formatAddr6(b, ip + SRC),
    dst: formatAddr6(b, ip + DST),
  };
}

/**
 * An IPv6 address in any RFC 4291 §2.2 text form (full, `::`-compressed, with an embedded
 * dotted IPv4 tail) → its four 32-bit words, most significant first. Throws on anything else
 * (control plane only: flow text, configuration).
 */
export function parseAddr6Words(text: string): [number, number, number, number] {
  const t = text.trim();
  const bad = (why: string): Error => new Error(`'${text}' is not an IPv6 address (${why})`);
  if (!/^[0-9a-fA-F:.]+$/.test(t)) throw bad('only hex digits, ":" and an IPv4 tail are allowed');
  const halves = t.split('::');
  if (halves.length > 2) throw bad('"::" more than once');
  const groups = (s: string): number[] => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    parts.forEach((p, i) => {
      if (p.includes('.')) {
        if (i !== parts.length - 1) throw bad('an IPv4 part must come last');
        const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(p);
        if (!m || m.slice(1).some((o) => Number(o) > 255)) throw bad(`bad IPv4 part '${p}'`);
        out.push((Number(m[1]) << 8) | Number(m[2]), (Number(m[3]) << 8) | Number(m[4]));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) throw bad(p === '' ? 'empty group' : `bad group '${p}'`);
        out.push(parseInt(p, 16));
      }
    });
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  let g: number[];
  if (halves.length === 2) {
    if (head.length + tail.length > 7) throw bad('too many groups around "::"');
    g = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    if (head.length !== 8) throw bad('8 groups needed without "::"');
    g = head;
  }
  return [0, 1, 2, 3].map((i) => ((g[2 * i] << 16) | g[2 * i + 1]) >>> 0) as [number, number, number, number];
}

/**
 * Four address words → text as glibc's inet_ntop prints it (what OVS prints): lower-case hex,
 * the longest run of two or more zero groups (the first on a tie) as `::`, and `::a.b.c.d` /
 * `::ffff:a.b.c.d` for IPv4-compatible and IPv4-mapped addresses.
 */
export function formatAddr6Words(w0: number, w1: number, w2: number, w3: number): string {
  const w = [w0, w1, w2, w3];
  const g: number[] = [];
  for (const x of w) g.push(x >>> 16, x & 0xffff);
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) best = -1;
  const v4 = (): string => `${g[6] >>> 8}.${g[6] & 0xff}.${g[7] >>> 8}.${g[7] & 0xff}`;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (best >= 0 && i >= best && i < best + bestLen) {
      if (i === best) s += ':';
      continue;
    }
    if (i !== 0) s += ':';
    if (i === 6 && best === 0 && (bestLen === 6 || (bestLen === 5 && g[5] === 0xffff))) {
      s += v4();
      break;
    }
    s += g[i].toString(16);
  }
  if (best >= 0 && best + bestLen === 8) s += ':';
  return s;
}
