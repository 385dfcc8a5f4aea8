/**
 * The dialer a client gets unless it is given another. A browser bundle replaces this module with
 * ./browser.ts (which never imports node:net or `ws`).
 */
export { nodeDialer as defaultDialer } from './node.js';
