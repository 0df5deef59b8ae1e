/**
 * The OpenFlow datapath id of a bridge (what FEATURES_REPLY tells a controller, and how the
 * controller tells switches apart). As OVS: `other-config:datapath-id` sets it (exactly 16 hex
 * digits, not all zero); otherwise it is derived from a MAC address. OVS takes the bridge's
 * MAC; tvs goes the other way: the default is a locally administered unicast MAC made from
 * the daemon's identity and the bridge name, and that MAC is the bridge's (its LOCAL port's): two daemons (two hosts, or two daemons on one
 * host) never share one for the same bridge name, and a restart with the same identity keeps it.
 */
import { createHash } from 'crypto';

/** `other-config:datapath-id` text → the id; a clear error names what is wrong. */
export function parseDatapathId(text: string): bigint {
  const t = text.trim();
  if (!/^[0-9a-fA-F]{16}$/.test(t)) throw new Error(`other-config:datapath-id '${text}' must be exactly 16 hex digits (e.g. 00000000000000a1)`);
  const id = BigInt(`0x${t}`);
  if (id === 0n) throw new Error(`other-config:datapath-id '${text}' must not be all zeros`);
  return id;
}

/** An id as OVS prints it: 16 lowercase hex digits. */
export function formatDatapathId(id: bigint): string {
  return id.toString(16).padStart(16, '0');
}

/**
 * The default id of bridge `bridge` in the daemon known by `instance` (its host and control
 * socket): 48 bits, the first octet marked locally administered and unicast (as a MAC address),
 * in the low 48 bits of the 64, as OVS's dpid from a MAC.
 */
export function defaultDatapathId(instance: string, bridge: string): bigint {
  const h = createHash('sha256').update(instance).update('\0').update(bridge).digest();
  const mac = Buffer.from(h.subarray(0, 6));
  mac[0] = (mac[0] & 0xfe) | 0x02;
  return BigInt(`0x${mac.toString('hex')}`);
}

/**
 * The MAC address a datapath id was made from (its low 48 bits), as aa:bb:cc:dd:ee:ff: a
 * bridge's own MAC, which its LOCAL port carries (OVS derives the default id from that MAC; tvs
 * derives the MAC from the default id, so the two agree as in OVS).
 */
export function datapathIdMac(id: bigint): string {
  const hex = (id & 0xffffffffffffn).toString(16).padStart(12, '0');
  return hex.match(/../g)!.join(':');
}
