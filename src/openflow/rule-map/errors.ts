/** The OpenFlow errors the mapping throws (OVS sends the same type/code for the same fault). */
import { ET, OfError } from '../../wire/openflow';

export function badMatch(code: number, msg: string): OfError {
  return new OfError(ET.BAD_MATCH, code, msg);
}
export function badAction(code: number, msg: string): OfError {
  return new OfError(ET.BAD_ACTION, code, msg);
}
