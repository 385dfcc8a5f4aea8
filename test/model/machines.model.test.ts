/**
 * Model-based tests of every machine in machines/, over the devnet. xstate/graph generates paths
 * through each machine; every path runs against the real actors of a ThinClient dialing a fresh
 * devnet, whose fault knobs make the model's events happen. One probe (devnet/probe.ts) counts what
 * those actors did, whichever path drove them, and the last tests print one line per machine:
 * `model coverage <machine>: <n> paths, states <s>%, transitions <t>%`, then each transition no path
 * took, with the reason it cannot be taken.
 */
import { describe, it } from 'vitest';
import { ARQ_UNREACHABLE, describeArqPaths } from './devnet/arqPaths.js';
import { CLIENT_UNREACHABLE, describeClientPaths } from './devnet/clientPaths.js';
import { CONNECTION_UNREACHABLE, describeConnectionPaths } from './devnet/connectionPaths.js';
import { COPY_STREAM_UNREACHABLE, describeCopyStreamPaths } from './devnet/copyStreamPaths.js';
import { coverage } from './devnet/probe.js';
import { describeWindowPaths, WINDOW_UNREACHABLE } from './devnet/windowPaths.js';

describeClientPaths();
describeArqPaths();
describeConnectionPaths();
describeWindowPaths();
describeCopyStreamPaths();

describe('model coverage over the devnet', () => {
  it('covers every state and at least 90% of the transitions of the client machine', () => {
    coverage.client.printAndAssert(CLIENT_UNREACHABLE, { ofAll: true });
  });
  it('covers every state and at least 90% of the transitions of the connection machine', () => {
    coverage.connection.printAndAssert(CONNECTION_UNREACHABLE, { ofAll: true });
  });
  it('covers every state and at least 90% of the transitions of the ARQ machine', () => {
    coverage.arq.printAndAssert(ARQ_UNREACHABLE, { ofAll: true });
  });
  it('covers every state and at least 90% of the transitions of the window machine', () => {
    coverage.window.printAndAssert(WINDOW_UNREACHABLE, { ofAll: true });
  });
  it('covers every state and at least 90% of the transitions of the copy-stream machine', () => {
    coverage.copyStream.printAndAssert(COPY_STREAM_UNREACHABLE, { ofAll: true });
  });
});
