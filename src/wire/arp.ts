/**
 * ARP for IPv4 over Ethernet (RFC 826).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     HTYPE = 1 (0-1)           |     PTYPE = 0x0800 (2-3)      |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | HLEN=6 (4)    | PLEN=4 (5)    |        OPER (6-7)             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  SHA (8-13)  |  SPA (14-17)  |  THA (18-23)  |  TPA (24-27)  |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { readMac, writeMac, formatMac, parseMac } from './ethernet';
import { writeAddr, formatAddr, parseAddr } from './ipv4';

export const HTYPE = 0; // 0-1
export const PTYPE = 2; // 2-3
export const HLEN = 4; // 4
export const PLEN = 5; // 5
export const OPER = 6; // 6-7
export const SHA = 8; // 8-13
export const SPA = 14; // 14-17
export const THA = 18; // 18-23
export const TPA = 24; // 24-27
export const LEN = 28;

export const OP_REQUEST = 1;
export const OP_REPLY = 2;

/** True when the header is Ethernet/IPv4 ARP and fully present. */
export function check(b: Uint8Array, p: number, avail: number): boolean {
  return (
    avail >= LEN &&
    b[p] === 0 && b[p + 1] === 1 &&
    b[p + 2] === 0x08 && b[p + 3] === 0x00 &&
    b[p + 4] === 6 && b[p + 5] === 4
  );
}

export function op(b: Uint8Array, p: number): number {
  return (b[p + OPER] << 8) | b[p + OPER + 1];
}
export function setOp(b: Uint8Array, p: number, v: number): void {
  b[p + OPER] = v >>> 8;
  b[p + OPER + 1] = v & 0xff;
}
export function sha(b: Uint8Array, p: number): number {
  return readMac(b, p + SHA);
}
export function tha(b: Uint8Array, p: number): number {
  return readMac(b, p + THA);
}
export function spa(b: Uint8Array, p: number): number {
  return ((b[p + 14] << 24) | (b[p + 15] << 16) | (b[p + 16] << 8) | b[p + 17]) >>> 0;
}
export function tpa(b: Uint8Array, p: number): number {
  return ((b[p + 24] << 24) | (b[p + 25] << 16) | (b[p + 26] << 8) | b[p + 27]) >>> 0;
}
export function setSha(b: Uint8Array, p: number, mac: number): void {
  writeMac(b, p + SHA, mac);
}
export function setTha(b: Uint8Array, p: number, mac: number): void {
  writeMac(b, p + THA, mac);
}
export function setSpa(b: Uint8Array, p: number, a: number): void {
  writeAddr(b, p + SPA, a);
}
export function setTpa(b: Uint8Array, p: number, a: number): void {
  writeAddr(b, p + TPA, a);
}

/** Write a complete Ethernet/IPv4 ARP header at p; returns LEN. */
export function emitArp(b: Uint8Array, p: number, oper: number, shaMac: number, spaIp: number, thaMac: number, tpaIp: number): number {
  b[p] = 0; b[p + 1] = 1; b[p + 2] = 0x08; b[p + 3] = 0; b[p + 4] = 6; b[p + 5] = 4;
  setOp(b, p, oper);
  setSha(b, p, shaMac);
  setSpa(b, p, spaIp);
  setTha(b, p, thaMac);
  setTpa(b, p, tpaIp);
  return LEN;
}

export interface ArpHeader {
  op: number;
  sha: string;
  spa: string;
  tha: string;
  tpa: string;
}
export function parseArp(b: Uint8Array, p = 0): ArpHeader {
  if (!check(b, p, b.length - p)) throw new Error('arp: not an Ethernet/IPv4 ARP header');
  return { op: op(b, p), sha: formatMac(sha(b, p)), spa: formatAddr(spa(b, p)), tha: formatMac(tha(b, p)), tpa: formatAddr(tpa(b, p)) };
}
export function emitArpHeader(h: ArpHeader, b: Uint8Array, p = 0): number {
  return emitArp(b, p, h.op, parseMac(h.sha), parseAddr(h.spa), parseMac(h.tha), parseAddr(h.tpa));
}
