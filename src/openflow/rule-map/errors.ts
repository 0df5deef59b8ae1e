/** The OpenFlow errors the mapping throws (OVS sends the same type/code for the same fault). */
import { OfError } from '../../wire/openflow/buffer';
import { ET } from '../../wire/openflow/constants';

export function badMatch(code: number, msg: string): OfError {
  return new OfError(ET.BAD_MATCH, code, msg);
}
export function badAction(code: number, msg: string): OfError {
  return new OfError(ET.BAD_ACTION, code, msg);
}
