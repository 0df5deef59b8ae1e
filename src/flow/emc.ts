/**
 * Exact-match cache in front of the table-0 classifier lookup (OVS `dpif-netdev` EMC): 8192
 * entries, two candidate slots per hash, everything in typed arrays. An entry is the packet's
 * key words [0, PACKET_WORDS) (in_port + every header word) → the rule id that table 0 chose
 * (or -1 for a cached miss).
 *
 * IPv4/ARP frames off no tunnel have zeros in words [BASE_WORDS, PACKET_WORDS) (flow-key.ts), so
 * only their base words are hashed and compared. Whether a key has the extension words is
 * decided by base words (dl_type, tun_flags), so two keys that agree on the base words agree on
 * how many words to compare.
 *
 * Why only table 0 and only the packet words: on entry to the pipeline metadata and registers
 * are zero (the parse pass clears them), so table 0's choice is a pure function of these words.
 * Lookups after resubmit/goto see modified keys and registers and go to the classifier.
 *
 * Invalidation is free: every entry carries the generation it was filled in, and any table
 * change bumps the pipeline generation, so stale entries simply stop matching.
 */
import { BASE_WORDS, KEY_SHIFT, K_DL_TYPE, K_TUN_FLAGS, PACKET_WORDS } from '../packet/flow-key';
import { ETH_P_IPV6 } from '../wire/ethernet';

export const EMC_ENTRIES = 8192;
const EMC_MASK = EMC_ENTRIES - 1;
const W = PACKET_WORDS;

export class Emc {
  private readonly keys = new Uint32Array(EMC_ENTRIES * W);
  private readonly hashes = new Uint32Array(EMC_ENTRIES);
  private readonly rule = new Int32Array(EMC_ENTRIES);
  private readonly gen = new Uint32Array(EMC_ENTRIES);
  /** Entries with gen[e] === generation are valid; starts at 1 so zeroed entries are invalid. */
  generation = 1;
  hits = 0;
  misses = 0;
  /** Hash of the last probed key, reused by insert() (saves rehashing on a miss). */
  lastHash = 0;
  /** How many words the last probed key has (BASE_WORDS or PACKET_WORDS). */
  private lastWords = BASE_WORDS;

  invalidate(): void {
    this.generation = (this.generation + 1) >>> 0;
    if (this.generation === 0) {
      this.gen.fill(0);
      this.generation = 1;
    }
  }

  /** Rule id, -1 for a cached miss, or -2 when the key is not cached. */
  lookup(key: Uint32Array, slot: number): number {
    const k = slot << KEY_SHIFT;
    let h = 0x9747b28c;
    const n = key[k + K_DL_TYPE] === ETH_P_IPV6 || key[k + K_TUN_FLAGS] !== 0 ? W : BASE_WORDS;
    this.lastWords = n;
    for (let i = 0; i < n; i++) {
      h = Math.imul(h ^ key[k + i], 0x5bd1e995);
      h ^= h >>> 15;
    }
    h = h >>> 0;
    this.lastHash = h;
    const g = this.generation;
    let e = h & EMC_MASK;
    if (this.gen[e] === g && this.hashes[e] === h && this.same(e, key, k, n)) {
      this.hits++;
      return this.rule[e];
    }
    e = (h >>> 13) & EMC_MASK;
    if (this.gen[e] === g && this.hashes[e] === h && this.same(e, key, k, n)) {
      this.hits++;
      return this.rule[e];
    }
    this.misses++;
    return -2;
  }

  private same(e: number, key: Uint32Array, k: number, n: number): boolean {
    const keys = this.keys;
    const b = e * W;
    for (let i = 0; i < n; i++) if (keys[b + i] !== key[k + i]) return false;
    return true;
  }

  /** Cache `ruleId` for the key last passed to lookup(). */
  insert(key: Uint32Array, slot: number, ruleId: number): void {
    const h = this.lastHash;
    const g = this.generation;
    const e1 = h & EMC_MASK;
    const e2 = (h >>> 13) & EMC_MASK;
    // Prefer a free/stale slot; otherwise evict by a hash bit (cheap pseudo-random choice).
    let e: number;
    if (this.gen[e1] !== g) e = e1;
    else if (this.gen[e2] !== g) e = e2;
    else e = h & 0x80000000 ? e2 : e1;
    const k = slot << KEY_SHIFT;
    const keys = this.keys;
    const b = e * W;
    const n = this.lastWords;
    for (let i = 0; i < n; i++) keys[b + i] = key[k + i];
    this.hashes[e] = h;
    this.rule[e] = ruleId;
    this.gen[e] = g;
  }
}
