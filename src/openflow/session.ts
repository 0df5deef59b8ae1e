/**
 * One OpenFlow connection (a controller, or ovs-ofctl on the management socket): framing,
 * HELLO version negotiation, echo keepalive, role, per-connection switch config, and dispatch
 * to the bridge's agent. The codec (wire/openflow) knows bytes; this knows the protocol's
 * state. A bad message gets an OpenFlow ERROR echoing its first 64 bytes; only a broken stream
 * (length < 8, failed HELLO) closes the connection. Nothing here can throw into the datapath.
 *
 * Send queue: replies are written as requests arrive, and reading pauses while more than
 * SEND_HIGH bytes wait (the peer paces itself). Asynchronous messages (packet-in,
 * flow-removed, port-status) are dropped and counted above SEND_HIGH; a peer whose queue stays
 * above SEND_HIGH for STALL_MS (it stopped reading) is disconnected with SEND_QUEUE_FULL.
 *
 * An idle connection holds no buffer of its own: the framer keeps only bytes received and not
 * yet a whole message (a shared empty buffer otherwise).
 */
import { OfError } from '../wire/openflow/buffer';
import {
  BAD_REQUEST,
  ET,
  HELLO_FAILED,
  MP,
  OFP13_VERSION,
  ROLE,
  ROLE_REQUEST_FAILED,
} from '../wire/openflow/constants';
import { Framer } from '../wire/openflow/framing';
import {
  decodeMessage,
  encodeMessage,
  hello13,
  helloVersions,
  peekHeader,
  type OfMessage,
} from '../wire/openflow/messages';
import { multipartReplies, type BridgeAgent } from './agent';

export const SEND_HIGH = 1 << 20;
export const STALL_MS = 30_000;
/** The close reason of a peer that stopped reading (counted by the service). */
export const SEND_QUEUE_FULL = 'send queue full: the peer stopped reading';
const ERROR_DATA_MAX = 64;

/** The byte stream a session runs over (a net.Socket in practice; a fake in unit tests). */
export interface OfTransport {
  write(b: Buffer): unknown;
  end(): void;
  readonly writableLength: number;
  pause(): unknown;
  resume(): unknown;
}

export interface SessionCounters {
  rx: number;
  tx: number;
  errorsSent: number;
  asyncDropped: number;
}

export type SessionState = 'hello' | 'active' | 'closed';

export class OfSession {
  state: SessionState = 'hello';
  role: number = ROLE.EQUAL;
  /** OVS's defaults: 128 for a controller, 0 for a service connection (see `service`). */
  missSendLen: number;
  /**
   * A service connection (OVS's OFCONN_SERVICE): one the switch accepted on a listener — the
   * bridge's management socket (ovs-ofctl), a passive `ptcp:` target — rather than opened to a
   * controller. As in OVS (connmgr.c ofconn_receives_async_msg), it gets no asynchronous
   * message (packet-in, flow-removed, port-status) until it sets a nonzero miss_send_len
   * (SET_CONFIG; `ovs-ofctl monitor BR 65535`).
   */
  readonly service: boolean;
  configFlags = 0;
  readonly counters: SessionCounters = { rx: 0, tx: 0, errorsSent: 0, asyncDropped: 0 };
  private readonly framer = new Framer();
  private nextXid = 1;
  private lastRx: number;
  private probeSent = false;
  private stallSince = -1;
  /** Why the session closed (for logs and tests). */
  closeReason = '';

  constructor(
    private readonly io: OfTransport,
    readonly agent: BridgeAgent,
    private readonly hooks: {
      clock: () => number;
      /** Called once when the session ends (after the transport is closed). */
      onClose?: (s: OfSession, reason: string) => void;
      /** Role changes to MASTER demote other masters of the bridge. */
      onMaster?: (s: OfSession) => void;
      /** Generation id bookkeeping shared by the bridge's sessions. */
      generation?: { value: bigint | null };
      /** A service connection (see `service`); default false: a controller. */
      service?: boolean;
    },
  ) {
    this.service = hooks.service ?? false;
    this.missSendLen = this.service ? 0 : 128;
    this.lastRx = hooks.clock();
    this.sendMsg(hello13(this.xid()));
  }

  private xid(): number {
    const x = this.nextXid;
    this.nextXid = (this.nextXid + 1) >>> 0 || 1;
    return x;
  }

  // ---------------------------------------------------------------- output

  private write(b: Buffer): void {
    if (this.state === 'closed') return;
    this.io.write(b);
    this.counters.tx++;
    if (this.io.writableLength > SEND_HIGH) this.io.pause();
  }

  private sendMsg(m: OfMessage): void {
    this.write(encodeMessage(m));
  }

  /** Called by the transport when its queue drained: read again. */
  drained(): void {
    if (this.state !== 'closed') this.io.resume();
    this.stallSince = -1;
  }

  /** Whether asynchronous messages are for this connection at all (a service connection that set no miss_send_len: not). */
  get receivesAsync(): boolean {
    return this.state === 'active' && (!this.service || this.missSendLen !== 0);
  }

  /**
   * An asynchronous message (packet-in, flow-removed, port-status). Returns false when it was
   * dropped because the peer is not reading.
   */
  sendAsync(m: OfMessage): boolean {
    if (this.state !== 'active') return false;
    if (this.io.writableLength > SEND_HIGH) {
      this.counters.asyncDropped++;
      const now = this.hooks.clock();
      if (this.stallSince < 0) this.stallSince = now;
      else if (now - this.stallSince > STALL_MS) this.close(SEND_QUEUE_FULL);
      return false;
    }
    this.stallSince = -1;
    this.sendMsg(m);
    return true;
  }

  private sendError(type: number, code: number, offending: Buffer, xid: number): void {
    this.counters.errorsSent++;
    this.sendMsg({ type: 'error', xid, errType: type, code, data: offending.subarray(0, ERROR_DATA_MAX) });
  }

  close(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    try {
      this.io.end();
    } catch {
      /* already gone */
    }
    this.hooks.onClose?.(this, reason);
  }

  // ---------------------------------------------------------------- input

  /** Bytes from the peer. */
  receive(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.lastRx = this.hooks.clock();
    this.probeSent = false;
    this.framer.push(chunk);
    // Before HELLO, a first header that is not a HELLO is garbage (a stray HTTP client, a
    // wrong port): answer and close at once instead of waiting for its "length" of bytes.
    const first = this.state === 'hello' ? this.framer.header() : null;
    if (first !== null && (first[1] !== 0 || first[0] === 0 || first[0] > 0x06)) {
      this.sendError(ET.HELLO_FAILED, HELLO_FAILED.EPERM, Buffer.from(first), first.readUInt32BE(4));
      this.close('the first message is not an OpenFlow HELLO');
      return;
    }
    for (;;) {
      const m = this.framer.next();
      if (m === null) return;
      if (!Buffer.isBuffer(m)) {
        this.sendError(ET.BAD_REQUEST, BAD_REQUEST.BAD_LEN, m.bytes, m.bytes.length >= 8 ? m.bytes.readUInt32BE(4) : 0);
        this.close(`framing: ${m.error}`);
        return;
      }
      this.counters.rx++;
      this.handle(m);
      if ((this.state as SessionState) === 'closed') return;
    }
  }

  /** Inactivity probe (OVS inactivity_probe): echo after `probeMs` of silence, close after 2x. */
  tick(probeMs: number): void {
    if (this.state === 'closed') return;
    // A peer that stopped reading: its queue stays above SEND_HIGH (replies or async messages).
    if (this.io.writableLength > SEND_HIGH) {
      const now = this.hooks.clock();
      if (this.stallSince < 0) this.stallSince = now;
      else if (now - this.stallSince > STALL_MS) this.close(SEND_QUEUE_FULL);
      return; // reading is paused: an unanswered probe would say nothing about the peer
    }
    this.stallSince = -1;
    if (probeMs <= 0) return;
    const idle = this.hooks.clock() - this.lastRx;
    if (idle >= 2 * probeMs && this.probeSent) this.close(`no reply to echo probe for ${Math.round(idle / 1000)} s`);
    else if (idle >= probeMs && !this.probeSent && this.state === 'active') {
      this.probeSent = true;
      this.sendMsg({ type: 'echo_request', xid: this.xid(), data: Buffer.alloc(0) });
    }
  }

  private handle(raw: Buffer): void {
    const h = peekHeader(raw);
    let msg: OfMessage;
    try {
      msg = decodeMessage(raw);
    } catch (e) {
      if (this.state === 'hello') {
        this.sendError(ET.HELLO_FAILED, HELLO_FAILED.EPERM, raw, h.xid);
        this.close(`bad first message: ${(e as Error).message}`);
        return;
      }
      if (e instanceof OfError) this.sendError(e.type, e.code, raw, h.xid);
      else this.sendError(ET.BAD_REQUEST, BAD_REQUEST.EPERM, raw, h.xid);
      return;
    }
    if (this.state === 'hello') {
      this.negotiate(msg, raw);
      return;
    }
    try {
      this.dispatch(msg, raw);
    } catch (e) {
      if (e instanceof OfError) this.sendError(e.type, e.code, raw, msg.xid);
      else this.sendError(ET.BAD_REQUEST, BAD_REQUEST.EPERM, raw, msg.xid);
    }
  }

  private negotiate(msg: OfMessage, raw: Buffer): void {
    if (msg.type !== 'hello') {
      this.sendError(ET.HELLO_FAILED, HELLO_FAILED.EPERM, raw, msg.xid);
      this.close(`expected HELLO, got message type ${raw[1]}`);
      return;
    }
    const versions = helloVersions(msg);
    const ok = msg.elements.some((e) => e.type === 1) ? versions.includes(OFP13_VERSION) : (msg.version ?? 0) >= OFP13_VERSION;
    if (!ok) {
      const text = Buffer.from(`We support version 0x04 (OpenFlow 1.3), you support ${versions.map((v) => '0x' + v.toString(16).padStart(2, '0')).join(', ')}`);
      this.counters.errorsSent++;
      this.sendMsg({ type: 'error', xid: msg.xid, errType: ET.HELLO_FAILED, code: HELLO_FAILED.INCOMPATIBLE, data: text });
      this.close('no common OpenFlow version');
      return;
    }
    this.state = 'active';
  }

  private slaveRefuses(): void {
    if (this.role === ROLE.SLAVE) throw new OfError(ET.BAD_REQUEST, BAD_REQUEST.IS_SLAVE, 'this connection is a slave');
  }

  private dispatch(m: OfMessage, raw: Buffer): void {
    const a = this.agent;
    switch (m.type) {
      case 'hello':
        return; // a second HELLO is harmless
      case 'echo_request':
        this.sendMsg({ type: 'echo_reply', xid: m.xid, data: m.data });
        return;
      case 'echo_reply':
      case 'error':
        return;
      case 'features_request':
        this.sendMsg(a.features(m.xid));
        return;
      case 'get_config_request':
        this.sendMsg({ type: 'get_config_reply', xid: m.xid, flags: this.configFlags, missSendLen: this.missSendLen });
        return;
      case 'set_config':
        this.slaveRefuses();
        this.configFlags = m.flags & 3;
        this.missSendLen = m.missSendLen;
        return;
      case 'barrier_request':
        // Requests are applied in order as they arrive, so everything before is done.
        this.sendMsg({ type: 'barrier_reply', xid: m.xid });
        return;
      case 'role_request':
        this.roleRequest(m.xid, m.role, m.generationId);
        return;
      case 'flow_mod':
        this.slaveRefuses();
        a.flowMod(m);
        return;
      case 'packet_out':
        this.slaveRefuses();
        a.packetOut(m.bufferId, m.inPort, m.actions, m.data);
        return;
      case 'multipart_request':
        this.multipart(m.xid, m.body, raw);
        return;
      case 'experimenter':
        throw new OfError(ET.BAD_REQUEST, m.experimenter === 0x2320 ? BAD_REQUEST.BAD_EXP_TYPE : BAD_REQUEST.BAD_EXPERIMENTER, `experimenter 0x${m.experimenter.toString(16)} type ${m.expType} is not supported`);
      default:
        // Replies a switch never receives, and types tvs does not implement (group_mod,
        // meter_mod, port_mod, table_mod, queue config, async config).
        throw new OfError(ET.BAD_REQUEST, BAD_REQUEST.BAD_TYPE, `message type ${raw[1]} is not supported`);
    }
  }

  private roleRequest(xid: number, role: number, gen: bigint): void {
    if (role > ROLE.SLAVE) throw new OfError(ET.ROLE_REQUEST_FAILED, ROLE_REQUEST_FAILED.BAD_ROLE, `role ${role} is unknown`);
    if (role === ROLE.MASTER || role === ROLE.SLAVE) {
      const g = this.hooks.generation;
      if (g) {
        // Stale if older than the last one seen (compared as a wrapping 64-bit difference).
        if (g.value !== null && BigInt.asIntN(64, gen - g.value) < 0n) throw new OfError(ET.ROLE_REQUEST_FAILED, ROLE_REQUEST_FAILED.STALE, `generation ${gen} is stale`);
        g.value = gen;
      }
    }
    if (role !== ROLE.NOCHANGE) {
      this.role = role;
      if (role === ROLE.MASTER) this.hooks.onMaster?.(this);
    }
    this.sendMsg({ type: 'role_reply', xid, role: this.role, generationId: this.hooks.generation?.value ?? gen });
  }

  private multipart(xid: number, body: import('../wire/openflow/multipart').MpRequestBody, raw: Buffer): void {
    const a = this.agent;
    const send = (bufs: Buffer[]) => bufs.forEach((b) => this.write(b));
    switch (body.mpType) {
      case MP.DESC:
        this.sendMsg({
          type: 'multipart_reply',
          xid,
          flags: 0,
          body: { mpType: MP.DESC, mfr: 'tsvswitch', hw: 'tvs userspace switch', sw: 'tvs', serial: 'None', dp: a.bridgeName },
        });
        return;
      case MP.FLOW:
        send(multipartReplies(xid, MP.FLOW, a.flowStats(body as never)));
        return;
      case MP.AGGREGATE:
        this.sendMsg({ type: 'multipart_reply', xid, flags: 0, body: a.aggregate(body as never) });
        return;
      case MP.TABLE:
        send(multipartReplies(xid, MP.TABLE, a.tableStats()));
        return;
      case MP.PORT_STATS:
        send(multipartReplies(xid, MP.PORT_STATS, a.portStats((body as { portNo: number }).portNo)));
        return;
      case MP.PORT_DESC:
        this.sendMsg({ type: 'multipart_reply', xid, flags: 0, body: { mpType: MP.PORT_DESC, ports: a.portDesc() } });
        return;
      case MP.TABLE_FEATURES:
        if ('raw' in body && body.raw.length > 0) {
          throw new OfError(ET.TABLE_FEATURES_FAILED, 5 /* EPERM */, 'tvs tables cannot be reconfigured with TABLE_FEATURES');
        }
        send(multipartReplies(xid, MP.TABLE_FEATURES, a.tableFeatures()));
        return;
      default:
        void raw;
        throw new OfError(ET.BAD_REQUEST, BAD_REQUEST.BAD_MULTIPART, `multipart type ${body.mpType} is not supported`);
    }
  }
}

