/**
 * One line of an `ovs-ofctl add-flows` file → a flow modification (ovs-ofctl(8) add-flows):
 *
 *   [add|modify|modify_strict|delete|delete_strict] FLOW   # comment
 *
 * A line without a keyword is an add. As OVS's ds_get_preprocessed_line, everything from the
 * first '#' is a comment and a line that is then blank is skipped. As OVS's parse_ofp_str, the
 * keyword is the first token (ended by a comma or white space), and each command accepts what
 * its OpenFlow flow_mod does: add and modify need actions; a non-strict delete selects by the
 * match alone (a priority there is an error, as in OVS: only delete_strict uses it); a delete
 * takes no actions. Checked against OVS 3.1 `ovs-ofctl add-flows` on a netdev bridge; as there
 * (ovs-ofctl speaks OpenFlow 1.0 by default), a `modify` that selects nothing adds the flow
 * unless it selects by cookie (FlowPipeline.modOrAddFlows).
 *
 * Kept per line (no state between lines) so a caller can feed a file of any size line by line.
 */
import { checkExecutable, FlowSyntaxError, parseFlow, type FlowSpec, type ParseOptions } from './ofctl-parse';

export type FlowModCommand = 'add' | 'modify' | 'modify_strict' | 'delete' | 'delete_strict';

export interface FlowMod {
  command: FlowModCommand;
  /** Selection or new flow; for a delete `actions` is null. */
  spec: FlowSpec;
  /** 1-based line number in the file. */
  line: number;
}

const COMMANDS: readonly FlowModCommand[] = ['add', 'modify', 'modify_strict', 'delete', 'delete_strict'];

/**
 * Parse one line (without its newline). Returns null for a blank or comment-only line. Throws
 * FlowSyntaxError located at `line` and the column in the original text (before the comment
 * and keyword were removed). Refuses actions the engine cannot execute (see checkExecutable).
 */
export function parseFlowModLine(text: string, line: number, opts: ParseOptions): FlowMod | null {
  const hash = text.indexOf('#');
  let body = hash >= 0 ? text.slice(0, hash) : text;
  if (body.trim() === '') return null;
  // The keyword is replaced by spaces, so every column still points into the original line.
  const m = /^[ \t\r\n]*([^, \t\r\n]*)/.exec(body)!;
  let command: FlowModCommand = 'add';
  if ((COMMANDS as readonly string[]).includes(m[1])) {
    command = m[1] as FlowModCommand;
    body = ' '.repeat(m[0].length) + body.slice(m[0].length);
  }
  try {
    const isDelete = command === 'delete' || command === 'delete_strict';
    const spec = parseFlow(body, isDelete ? 'match' : command === 'add' ? 'add' : 'modify', opts);
    if (command === 'delete' && spec.priority !== null) {
      const col = body.search(/priority\s*[=:]/i) + 1;
      throw new FlowSyntaxError('priority selects only with delete_strict (a non-strict delete matches every priority)', col, 'priority');
    }
    if (!isDelete) checkExecutable(spec);
    return { command, spec, line };
  } catch (e) {
    if (e instanceof FlowSyntaxError) throw e.atLine(line);
    throw e;
  }
}
