/** OpenFlow 1.3 codec: byte layouts only (no state, no switch knowledge). */
export * from './constants';
export { OfError, Reader, Writer } from './buffer';
export * from './oxm';
export * from './actions';
export * from './port';
export * from './multipart';
export { decodeMessage, encodeMessage, helloVersions, hello13, peekHeader, messageType, type OfMessage, type OfBody, type FlowMod, type HelloElement } from './messages';
export { Framer } from './framing';
export * from './table-features';
