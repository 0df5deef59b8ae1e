/**
 * ofp_port (OpenFlow 1.3, 64 bytes): the port description in PORT_DESC replies and
 * PORT_STATUS messages.
 *
 *   port_no (0-3) | pad (4-7) | hw_addr (8-13) | pad (14-15) | name[16] (16-31)
 *   config (32-35) | state (36-39) | curr (40-43) | advertised (44-47) | supported (48-51)
 *   peer (52-55) | curr_speed kbps (56-59) | max_speed kbps (60-63)
 */
import { Reader, Writer } from './buffer';

export const PORT_LEN = 64;

export interface OfPort {
  portNo: number;
  hwAddr: Buffer;
  name: string;
  config: number;
  state: number;
  curr: number;
  advertised: number;
  supported: number;
  peer: number;
  currSpeed: number;
  maxSpeed: number;
}

export function readPort(r: Reader): OfPort {
  const portNo = r.u32();
  r.skip(4);
  const hwAddr = r.bytes(6);
  r.skip(2);
  const name = r.str(16);
  return {
    portNo,
    hwAddr,
    name,
    config: r.u32(),
    state: r.u32(),
    curr: r.u32(),
    advertised: r.u32(),
    supported: r.u32(),
    peer: r.u32(),
    currSpeed: r.u32(),
    maxSpeed: r.u32(),
  };
}

export function writePort(w: Writer, p: OfPort): void {
  w.u32(p.portNo).zeros(4).bytes(p.hwAddr.subarray(0, 6)).zeros(6 - Math.min(6, p.hwAddr.length)).zeros(2).str(p.name, 16);
  w.u32(p.config).u32(p.state).u32(p.curr).u32(p.advertised).u32(p.supported).u32(p.peer).u32(p.currSpeed).u32(p.maxSpeed);
}
