/**
 * Which dials this platform can make, checked before a client starts. Node makes every dial
 * thinclient.toml describes; dialable.browser.ts is the browser's twin.
 */
import type { DialConfig } from '../config.js';
import type { ConfigError } from '../errors.js';

/** Why this platform cannot make `dial`, or undefined when it can. */
export function undialable(_dial: DialConfig): ConfigError | undefined {
  return undefined;
}
