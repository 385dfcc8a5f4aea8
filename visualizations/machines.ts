/** The machines the diagrams are drawn from, by file name. */
import type { AnyStateMachine } from 'xstate';
import { arqMachine } from '../machines/arq.js';
import { clientMachine } from '../machines/client.js';
import { connectionMachine } from '../machines/connection.js';
import { copyStreamMachine } from '../machines/copyStream.js';
import { windowMachine } from '../machines/window.js';

export const MACHINES: Record<string, { machine: AnyStateMachine; title: string }> = {
  connection: {
    machine: connectionMachine,
    title: 'Connection: dial, handshake, ready, backoff/redial, closed',
  },
  client: { machine: clientMachine, title: 'Supervising client actor' },
  arq: { machine: arqMachine, title: 'One ARQ operation (start_resending_*)' },
  copyStream: { machine: copyStreamMachine, title: 'Copy stream with buffer checkpoints' },
  window: { machine: windowMachine, title: 'Windowed writeStream/readStream' },
};
