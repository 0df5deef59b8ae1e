/**
 * Give memory back once the switch goes quiet after being configured.
 *
 * Start-up and every configuration request run code that forwarding never runs again (the module
 * loader, the parser and compilers, the ofctl parser), and the pages of the node executable they
 * ran stay mapped: ~39 MiB of a ~63 MiB RSS, of which forwarding and idling touch ~10-18 again.
 * `trim` (the addon's trimMemory: malloc_trim, then drop the executable's clean pages, which fault
 * back in from the page cache when run again) is called once no control request has come for
 * `quietMs`, so never in the middle of a configuration script:
 * - not while frames flow, where the pages it drops are faulted back in at once (a few hundred
 *   µs of minor faults on the forwarding path), unless that goes on for `maxWaitMs`: under
 *   traffic that never pauses it trims anyway, a stall far shorter than the rx ring's depth;
 * - not again unless the RSS grew by `regrowBytes` over what the switch came back to after the
 *   last trim: a monitor polling `dump-ports` re-runs the same code and must not cost a trim and
 *   its re-faults each time.
 * Nothing here runs per packet: `activity` (a packet count) is read once per quiet period.
 */
export const TRIM_QUIET_MS = 2000;
export const TRIM_MAX_WAIT_MS = 10_000;
export const TRIM_REGROW_BYTES = 4 << 20;
/**
 * At least this long between two trims. Forwarding faults back the code pages it runs (~10 MiB),
 * which looks like regrowth: a switch polled by a monitor between bursts of traffic would
 * otherwise trim after every burst and pay the re-faults (a few ms of minor faults) at the start
 * of the next. A trim that comes due sooner waits for the interval's end.
 */
export const TRIM_MIN_INTERVAL_MS = 5 * 60_000;

export interface QuietTrimOptions {
  quietMs?: number;
  maxWaitMs?: number;
  regrowBytes?: number;
  minIntervalMs?: number;
  now?: () => number;
}

export class QuietTrim {
  private timer: NodeJS.Timeout | null = null;
  private seen = 0;
  private waitingSince = 0;
  /** RSS the switch came back to after the last trim (read at the first request after it); -1: not yet. */
  private baseline = -1;
  private readonly quietMs: number;
  private readonly maxWaitMs: number;
  private readonly regrowBytes: number;
  private readonly minIntervalMs: number;
  private readonly now: () => number;
  private lastTrimAt = 0;
  /** Trims done. */
  count = 0;

  constructor(
    /** `idle`: no frame came during the quiet period (not a trim forced by maxWaitMs under traffic). */
    private readonly trim: (idle: boolean) => void,
    private readonly activity: () => number,
    private readonly rss: () => number,
    opts: QuietTrimOptions = {},
  ) {
    this.quietMs = opts.quietMs ?? TRIM_QUIET_MS;
    this.maxWaitMs = opts.maxWaitMs ?? TRIM_MAX_WAIT_MS;
    this.regrowBytes = opts.regrowBytes ?? TRIM_REGROW_BYTES;
    this.minIntervalMs = opts.minIntervalMs ?? TRIM_MIN_INTERVAL_MS;
    this.now = opts.now ?? Date.now;
  }

  /** Something was configured (a control request, start-up): trim once things are quiet. */
  poke(): void {
    if (this.count > 0 && this.baseline < 0) this.baseline = this.rss();
    this.seen = this.activity();
    if (this.timer === null) {
      this.waitingSince = this.now();
      this.timer = setTimeout(() => this.fire(), this.quietMs);
      this.timer.unref();
    } else if (this.now() - this.waitingSince < this.maxWaitMs) {
      this.timer.refresh();
    }
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private fire(): void {
    this.timer = null;
    const a = this.activity();
    const idle = a === this.seen;
    if (!idle && this.now() - this.waitingSince < this.maxWaitMs) {
      // Frames flowed during the quiet period: wait for a quiet one.
      this.seen = a;
      this.timer = setTimeout(() => this.fire(), this.quietMs);
      this.timer.unref();
      return;
    }
    if (this.baseline >= 0 && this.rss() - this.baseline < this.regrowBytes) return;
    const early = this.count > 0 ? this.lastTrimAt + this.minIntervalMs - this.now() : 0;
    if (early > 0) {
      this.timer = setTimeout(() => this.fire(), early);
      this.timer.unref();
      return;
    }
    this.lastTrimAt = this.now();
    this.count++;
    this.baseline = -1;
    this.trim(idle);
  }
}
