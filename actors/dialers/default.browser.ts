/** The browser's twin of default.ts (swapped in by scripts/buildBrowser.ts): the page's WebSocket. */
export { browserDialer as defaultDialer } from './browser.js';
