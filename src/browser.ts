/**
 * katzenpost-thin-client/browser: the client for a web page. ThinClient and parseConfig as the main
 * entry has them, dialing `[Dial.Ws]` with the page's own WebSocket. A page has no file system, so
 * `ThinClient.connect` takes a Config (from `parseConfig` of the TOML text), never a path; and no
 * unix or TCP socket, so `[Dial.Unix]` and `[Dial.Tcp]` reject with a ConfigError.
 *
 * Shipped as one self-contained ES module (scripts/buildBrowser.ts), in which every module with a
 * `.browser.ts` twin (src/platform/*, actors/dialers/default.ts) is replaced by the twin.
 *
 * @example
 * import { ThinClient, parseConfig } from 'katzenpost-thin-client/browser';
 * const client = await ThinClient.connect(parseConfig('[Dial.Ws]\nAddress = "ws://127.0.0.1:30000"'));
 */
// The same names as the main entry's, less what needs Node (loadConfig, the file stores, the inspector server).

export type * from './protocol/voucherTypes.js';
export * from './publicApi.js';
