/**
 * A flow match: per-word value/mask over the first MATCH_WORDS words of the flow key
 * (packet/flow-key.ts), like OVS's `struct match` = flow + wildcards. One field per word (two
 * for 48/64-bit fields) keeps matching, hashing and comparing plain loops over words.
 *
 * Invariant: value & ~mask === 0 in every word (bits outside the mask are zero), so two matches
 * are the same rule iff their words are equal.
 */
import { K_DL_TYPE, K_NW_PROTO, K_PKT_MARK } from '../packet/flow-key';

/** in_port .. pkt_mark: every word a rule can match on (the reserved word is not). */
export const MATCH_WORDS = K_PKT_MARK + 1;

/**
 * The all-ones mask of each word, by the width of the field in it (in_port and dl_type are 16
 * bits, nw_proto 8...). Exact matches always use these, so equal matches have equal masks.
 */
export const WORD_FULL: Uint32Array = Uint32Array.from([
  0xffff, 0xffff, 0xffff, 0xffffffff, 0xffff, 0xffffffff, 0xffff, 0xffffffff, // in_port..nw_src
  0xffffffff, 0xff, 0xff, 0xff, 0xffff, 0xffff, 0xffff, 0xffffffff, // nw_dst..arp_sha_lo
  0xffff, 0xffffffff, 0xff, 0xffff, 0xffff, // arp_tha..vlan_tci2, tun_flags
  0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, // ipv6_src, ipv6_dst
  0xfffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, // ipv6_label, nd_target
  0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, // tun_id, tun_src, tun_dst
  0xffffffff, 0xffffffff, // metadata
  0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, // regs
  0xffffffff, // conj_id
  0xff, 0xffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, // ct_state, ct_zone, ct_mark, ct_label
  0xffffffff, 0xffffffff, 0xff, 0xffff, 0xffff, 0xffffffff, // ct_nw_src..ct_tp_dst, pkt_mark
]);

/** MATCH_WORDS zeros, packed (no holes): what a new Match copies. */
const ZERO_WORDS: readonly number[] = Array.from({ length: MATCH_WORDS }, () => 0);

function copyWords(a: ArrayLike<number>): number[] {
  return Array.isArray(a) ? a.slice() : Array.from(a);
}

export class Match {
  // Plain arrays, not Uint32Arrays: a 120-byte typed array gets an off-heap backing store, and
  // allocating two per parsed flow halved the flow insertion rate. Values are kept >>> 0.
  readonly value: number[];
  readonly mask: number[];

  constructor(value?: ArrayLike<number>, mask?: ArrayLike<number>) {
    // slice() of a packed array is a plain copy; Array.from walks the iterator protocol (a
    // FLOW_MOD makes two Matches: the decoded one and the rule's clone).
    this.value = value ? copyWords(value) : ZERO_WORDS.slice();
    this.mask = mask ? copyWords(mask) : ZERO_WORDS.slice();
  }

  /**
   * Add `value/mask` bits to `word`. Returns false (and changes nothing) if the new bits
   * contradict bits already set by another field (e.g. `ip,arp`).
   */
  set(word: number, value: number, mask: number): boolean {
    const m = this.mask[word];
    const both = m & mask;
    if (((this.value[word] ^ value) & both) !== 0) return false;
    this.mask[word] = (m | mask) >>> 0;
    this.value[word] = (this.value[word] | (value & mask)) >>> 0;
    return true;
  }

  /** True when `word` is fully matched (every bit of its field) and equals `v`. */
  isExact(word: number, v: number): boolean {
    return this.mask[word] === WORD_FULL[word] && this.value[word] === v;
  }
  /** True when `word` is fully matched. */
  isFull(word: number): boolean {
    return this.mask[word] === WORD_FULL[word];
  }

  /** The EtherType this match requires, or -1 when dl_type is wildcarded. */
  get dlType(): number {
    return this.mask[K_DL_TYPE] === WORD_FULL[K_DL_TYPE] ? this.value[K_DL_TYPE] : -1;
  }
  /** The IP protocol / ARP opcode this match requires, or -1. */
  get nwProto(): number {
    return this.mask[K_NW_PROTO] === WORD_FULL[K_NW_PROTO] ? this.value[K_NW_PROTO] : -1;
  }

  /** Identity of the mask: rules with the same mask share a classifier subtable. */
  maskKey(): string {
    return this.mask.join(',');
  }

  equals(o: Match): boolean {
    for (let i = 0; i < MATCH_WORDS; i++) {
      if (this.value[i] !== o.value[i] || this.mask[i] !== o.mask[i]) return false;
    }
    return true;
  }

  /**
   * True when every packet matching `o` also matches this (this is the same or looser): the
   * non-strict selection of del-flows/mod-flows/dump-flows (OVS `cls_rule_is_loose_match`).
   */
  covers(o: Match): boolean {
    for (let i = 0; i < MATCH_WORDS; i++) {
      const m = this.mask[i];
      if ((m & ~o.mask[i]) !== 0) return false;
      if (((this.value[i] ^ o.value[i]) & m) !== 0) return false;
    }
    return true;
  }

  /** Does the flow key at `key[k..]` match? (reference path: tests, trace, filters) */
  matchesKey(key: Uint32Array, k: number): boolean {
    for (let i = 0; i < MATCH_WORDS; i++) {
      if (((key[k + i] & this.mask[i]) >>> 0) !== this.value[i]) return false;
    }
    return true;
  }

  clone(): Match {
    return new Match(this.value, this.mask);
  }
}
