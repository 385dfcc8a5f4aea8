/**
 * The devnet every model runner starts: tcp, the instant profile, Ed25519 authorities, and a virtual
 * clock with a 1 s hop floor, so nothing crosses the mixnet until the test moves time on.
 */
import { type Devnet, startDevnet, VirtualClock } from '../../../src/devnet/index.js';

export const startFrozenDevnet = (): Promise<Devnet> =>
  startDevnet({
    listen: 'tcp://127.0.0.1:0',
    profile: 'instant',
    authorityScheme: 'Ed25519',
    clock: new VirtualClock(),
    timing: { hopFloorMs: 1000 },
  });
