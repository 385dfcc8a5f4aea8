/**
 * Model-based paths of machines/connection.ts over the devnet (run by test/model/machines.model.test.ts):
 * xstate/graph's shortest paths through the connection model (connectionModel.ts), the fewest of them
 * that show every devnet event in every state where it can happen, every machine transition and every
 * kind of report, each run by a ThinClient's real connection actor on a fresh devnet
 * (connectionOnDevnet.ts). No hand-written story is left: the generated paths reach every transition
 * the hand stories did.
 */
import { describe, expect, it } from 'vitest';
import type { Unreachable } from '../coverage.js';
import { connectionPaths, type DevnetEvent, eventName, leaf } from './connectionModel.js';
import { ConnectionOnDevnet } from './connectionOnDevnet.js';
import { coverage } from './probe.js';

export const CONNECTION_UNREACHABLE: Unreachable[] = [
  {
    transition: 'connection.online.connecting.awaitingDocument transport.message #3',
    reason:
      'before the document the daemon sends only status events and shutdown_event (replies go straight to the registry), so no other frame reaches this state',
  },
  {
    transition: 'connection.online.ready transport.message #2',
    reason: 'the client sends one session_token per connection, and the daemon answers it once',
  },
];

const { paths, goals } = connectionPaths();

export function describeConnectionPaths(): void {
  describe('connection machine: generated paths against a ThinClient over the devnet', () => {
    it('has a path for each devnet event in each state it can happen in, and for every transition', () => {
      const edges = [...goals].filter((g) => g.includes(' --'));
      const events = (e: string) => edges.filter((g) => g.includes(`--${e}-->`)).map((g) => g.split(' ')[0]);
      // Disconnect in every state the client can send it in; close in every state; restarts, mixnet
      // changes and unreadable frames in every state with a socket the daemon has accepted.
      const withClient = ['dialing', 'awaitingStatus', 'awaitingDocument', 'awaitingSessionReply', 'ready'];
      expect(new Set(events('disconnect'))).toEqual(new Set([...withClient, 'backoff']));
      expect(new Set(events('close'))).toEqual(new Set([...withClient, 'backoff', 'disconnected']));
      const accepted = ['awaitingStatus', 'awaitingDocument', 'awaitingSessionReply', 'ready', 'closing'];
      for (const e of ['shutdown(restart)', 'shutdown(stop)', 'status', 'unreadable'])
        expect(new Set(events(e)), e).toEqual(new Set(accepted));
      for (const stall of ['open', 'open(stall status)', 'open(stall document)', 'open(stall sessionReply)'])
        expect(events(stall), stall).toContain('dialing');
      // A first session, one resumed after a dropped socket, one after a restart (a new instance
      // token: replay), one resumed after an unreadable frame lost what it carried (replay).
      for (const ready of ['ready first', 'ready resumed', 'ready replay', 'ready resumed replay'])
        expect(goals, ready).toContain(`report ${ready}`);
    });

    for (const steps of paths) {
      const name = steps.map((s) => eventName(s.event as DevnetEvent)).join(' → ');
      it(`follows the model through ${name} (ends ${leaf(steps.at(-1)!.state.machine.value)})`, async () => {
        coverage.connection.ranPath(['connection', name]);
        const first = steps[0]!.event;
        const sut = await ConnectionOnDevnet.start(first.type === 'open' ? first.stall : null);
        try {
          await sut.run(steps);
        } finally {
          await sut.stop();
        }
      });
    }
  });
}
