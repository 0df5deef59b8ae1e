/**
 * Classic libpcap file format (what tcpdump -w writes; Wireshark/tshark read it):
 *   global header (24 B): magic a1b2c3d4, version 2.4, thiszone 0, sigfigs 0, snaplen, linktype 1
 *   per record (16 B):    ts_sec, ts_usec, incl_len, orig_len, then the frame bytes
 * Little-endian, as written by this host. Frames are stored as they were on the wire, VLAN
 * tags included (the switch keeps tags inline).
 */

export const LINKTYPE_ETHERNET = 1;

export interface CapturedFrame {
  /** Wall-clock time in microseconds since the epoch. */
  tsUs: number;
  frame: Uint8Array;
}

export function pcapFile(frames: CapturedFrame[], snaplen = 262144): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeInt32LE(0, 8);
  head.writeUInt32LE(0, 12);
  head.writeUInt32LE(snaplen, 16);
  head.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  const parts: Buffer[] = [head];
  for (const f of frames) {
    const incl = Math.min(f.frame.length, snaplen);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(Math.floor(f.tsUs / 1e6), 0);
    rec.writeUInt32LE(Math.floor(f.tsUs % 1e6), 4);
    rec.writeUInt32LE(incl, 8);
    rec.writeUInt32LE(f.frame.length, 12);
    parts.push(rec, Buffer.from(f.frame.buffer, f.frame.byteOffset, incl));
  }
  return Buffer.concat(parts);
}
