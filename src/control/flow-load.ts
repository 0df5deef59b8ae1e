/**
 * `add-flows` of a file of any size: the CLI sends the file in parts over one connection
 * (`{"bridge", "text", "more": true}` ..., then a last part without `more`). Each part is parsed
 * as it arrives, line by line (parseFlowModLine), so a bad line is reported with its line number
 * at once; nothing is applied until the last part, and then everything is applied together (a
 * refused load changes nothing). A part may end inside a line: the rest waits for the next part.
 *
 * What waits between parts is the parsed modifications, bounded for the whole switch by
 * MAX_STAGED_MODS (about 500 bytes each); a load whose connection closes is dropped.
 */
import type { Switch } from '../datapath/switch';
import type { FlowPipeline, FlowModsResult } from '../flow/pipeline';
import { parseFlowModLine, type FlowMod } from '../flow/flow-mod-line';
import { FlowSyntaxError } from '../flow/ofctl-parse';
import type { Handler, Session } from './server';
import { str } from './args';

/** Flow modifications waiting to be applied, summed over every connection. */
export const MAX_STAGED_MODS = 1 << 21;
/** A single line longer than this is refused (it is not a flow). */
export const MAX_LINE_CHARS = 1 << 20;

const STATE_KEY = 'add-flows';

class FlowLoad {
  private mods: FlowMod[] = [];
  private carry = '';
  private line = 1;
  /** Set when a part was refused: later parts are answered with it until the last one. */
  failed: string | null = null;

  constructor(
    readonly bridge: string,
    private readonly pipeline: FlowPipeline,
    private readonly budget: { staged: number },
  ) {}

  get staged(): number {
    return this.mods.length;
  }

  /** Parse the complete lines of `text` (after what an earlier part left unfinished). */
  feed(text: string, last: boolean): void {
    let start = 0;
    let buf = this.carry + text;
    this.carry = '';
    for (;;) {
      const nl = buf.indexOf('\n', start);
      if (nl < 0) break;
      this.parseLine(buf.slice(start, nl));
      start = nl + 1;
    }
    buf = buf.slice(start);
    if (last) {
      if (buf !== '') this.parseLine(buf);
    } else {
      if (buf.length > MAX_LINE_CHARS) throw new Error(`line ${this.line}: longer than ${MAX_LINE_CHARS} characters`);
      this.carry = buf;
    }
  }

  private parseLine(raw: string): void {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const m = parseFlowModLine(text, this.line, { resolvePort: (n) => this.pipeline.resolvePortName(n) });
    this.line++;
    if (m === null) return;
    if (this.budget.staged >= MAX_STAGED_MODS) {
      throw new Error(`line ${m.line}: more than ${MAX_STAGED_MODS} flow modifications waiting to be applied (split the file)`);
    }
    this.mods.push(m);
    this.budget.staged++;
  }

  /** Apply everything, in file order. */
  apply(sw: Switch): FlowModsResult {
    // The rules were parsed against this bridge's ports: it must still be the same bridge.
    if (!sw.bridges.has(this.bridge) || sw.flows(this.bridge) !== this.pipeline) {
      throw new Error(`bridge ${this.bridge} was deleted while its flows were being sent; nothing applied`);
    }
    return this.pipeline.applyFlowMods(this.mods);
  }

  release(): void {
    this.budget.staged -= this.mods.length;
    this.mods = [];
    this.carry = '';
  }
}

/** The `add-flows` handler: one part, or a whole file in one request (`more` absent). */
export function addFlowsHandler(sw: Switch): Handler {
  const budget = { staged: 0 };
  return (a, given?: Session) => {
    const session: Session = given ?? { state: new Map(), onClose: () => {} };
    const text = a.text;
    if (typeof text !== 'string') throw new Error("missing argument 'text'");
    if (a.more !== undefined && typeof a.more !== 'boolean') throw new Error("'more' must be true or false");
    const bridge = str(a, 'bridge');
    const more = a.more === true;
    let load = session.state.get(STATE_KEY) as FlowLoad | undefined;
    if (load !== undefined && load.bridge !== bridge) {
      throw new Error(`add-flows: this connection is loading flows into ${load.bridge}, not ${bridge}`);
    }
    if (load === undefined) {
      load = new FlowLoad(bridge, sw.flows(bridge), budget);
      session.state.set(STATE_KEY, load);
      const l = load;
      session.onClose(() => l.release());
    }
    const finish = () => {
      session.state.delete(STATE_KEY);
      load!.release();
    };
    if (load.failed !== null) {
      if (!more) finish();
      throw new Error(`${load.failed} (nothing applied)`);
    }
    try {
      load.feed(text, !more);
    } catch (e) {
      const msg = e instanceof FlowSyntaxError || e instanceof Error ? e.message : String(e);
      load.release();
      if (more) load.failed = msg;
      else finish();
      throw new Error(`${msg} (nothing applied)`);
    }
    if (more) return { staged: load.staged };
    try {
      const r = load.apply(sw);
      return { added: r.added.length, modified: r.modified, deleted: r.deleted, warnings: r.warnings };
    } finally {
      finish();
    }
  };
}
