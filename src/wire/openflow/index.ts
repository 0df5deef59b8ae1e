/**
 * OpenFlow 1.3 codec: byte layouts only (no state, no switch knowledge).
 *
 * This index is for tests, benches and tools. The switch's own code (src/openflow) imports the
 * modules themselves: compiled to CommonJS, every name re-exported here is a getter, and the
 * FLOW_MOD path read them often enough to spend ~4% of its time in them.
 */
export * from './constants';
export { OfError, Reader, Writer } from './buffer';
export * from './oxm';
export * from './actions';
export * from './port';
export * from './multipart';
export { decodeMessage, encodeMessage, helloVersions, hello13, peekHeader, messageType, type OfMessage, type OfBody, type FlowMod, type HelloElement } from './messages';
export { Framer } from './framing';
export * from './table-features';
