/**
 * A one-line, human-readable summary of a frame's headers, for trace output and the CLI's
 * capture listing. Allocating (strings): never on the forwarding path.
 */
import { formatMac } from './ethernet';
import { formatAddr } from './ipv4';

/** One-line summary of a frame's headers (Ethernet, tags, IPv4/ARP/IPv6, L4). */
export function describeFrame(f: Uint8Array): string {
  if (f.length < 14) return `runt (${f.length} bytes)`;
  const mac = (p: number): string => formatMac(((f[p] << 8) | f[p + 1]) * 0x100000000 + (((f[p + 2] << 24) | (f[p + 3] << 16) | (f[p + 4] << 8) | f[p + 5]) >>> 0));
  const parts = [`${mac(6)} > ${mac(0)}`];
  let p = 12;
  let type = (f[p] << 8) | f[p + 1];
  while ((type === 0x8100 || type === 0x88a8) && p + 6 <= f.length) {
    const tci = (f[p + 2] << 8) | f[p + 3];
    parts.push(`${type === 0x8100 ? '802.1Q' : '802.1ad'} vlan ${tci & 0xfff} pcp ${tci >>> 13}`);
    p += 4;
    type = (f[p] << 8) | f[p + 1];
  }
  const l3 = p + 2;
  if (type === 0x0800 && l3 + 20 <= f.length) {
    const ihl = (f[l3] & 15) * 4;
    const proto = f[l3 + 9];
    const ipv = (o: number): number => ((f[o] << 24) | (f[o + 1] << 16) | (f[o + 2] << 8) | f[o + 3]) >>> 0;
    parts.push(`IPv4 ${formatAddr(ipv(l3 + 12))} > ${formatAddr(ipv(l3 + 16))} tos 0x${f[l3 + 1].toString(16)} ttl ${f[l3 + 8]} proto ${proto}`);
    const l4 = l3 + ihl;
    if ((proto === 6 || proto === 17) && l4 + 4 <= f.length) {
      parts.push(`${proto === 6 ? 'TCP' : 'UDP'} ${(f[l4] << 8) | f[l4 + 1]} > ${(f[l4 + 2] << 8) | f[l4 + 3]}`);
    } else if (proto === 1 && l4 + 2 <= f.length) parts.push(`ICMP type ${f[l4]} code ${f[l4 + 1]}`);
  } else if (type === 0x0806 && l3 + 28 <= f.length) {
    const op = (f[l3 + 6] << 8) | f[l3 + 7];
    const ipv = (o: number): number => ((f[o] << 24) | (f[o + 1] << 16) | (f[o + 2] << 8) | f[o + 3]) >>> 0;
    parts.push(`ARP ${op === 1 ? 'request' : op === 2 ? 'reply' : 'op ' + op} who-has ${formatAddr(ipv(l3 + 24))} tell ${formatAddr(ipv(l3 + 14))}`);
  } else if (type === 0x86dd) {
    parts.push(`IPv6 next-header ${f[l3 + 6]} hop-limit ${f[l3 + 7]}`);
  } else {
    parts.push(`ethertype 0x${type.toString(16).padStart(4, '0')}`);
  }
  return parts.join(', ') + ` (${f.length} bytes)`;
}
