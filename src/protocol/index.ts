/**
 * The protocol layer: typed requests → wire bodies, wire replies → typed results and typed errors.
 * Shared by every request kind; below it is src/wire (frames, CBOR, schemas), above it the actors.
 */
export * from './args.js';
export * from './arq.js';
export * from './local.js';
export * from './messaging.js';
export * from './outcome.js';
export * from './queryId.js';
export * as requests from './requests.js';
export * from './result.js';
export * from './types.js';
export * as vouchers from './vouchers.js';
export * from './voucherTypes.js';
