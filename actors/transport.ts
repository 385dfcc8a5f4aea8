/**
 * The socket transport: one net.Socket to kpclientd, frames in and out through src/wire.
 *
 * - `tcp` dials host:port with TCP_NODELAY (`network` tcp4/tcp6 pins the address family);
 *   `unix` dials a path, and "@name" is the Linux abstract socket "\0name".
 * - Every complete frame is decoded. A reply (it carries a query_id) goes straight to the reply
 *   target when the input names one (the registry: the data path skips the connection machine);
 *   every other frame is sent back as `transport.message`. A frame that does not
 *   decode (bad length prefix, oversize, malformed CBOR, wrong field types) is reported as
 *   `transport.protocolError`; the stream is then unusable, so the socket is destroyed.
 * - Any read/write error or close ends in exactly one `transport.closed`, carrying the error.
 * - Frames written in one tick leave in one system call (cork until the next tick).
 * - Stopping the actor destroys the socket.
 */
import { connect, type Socket } from 'node:net';
import { fromCallback } from 'xstate';
import type {
  DialTarget,
  TransportCommand,
  TransportEvent,
  TransportInput,
  TransportReply,
} from '../machines/connection.js';
import { parseHostPort } from '../src/config.js';
import { ProtocolError } from '../src/errors.js';
import {
  carriesQueryId,
  decodeResponse,
  encodeFrame,
  encodeRequest,
  FrameDecoder,
} from '../src/wire/index.js';

/** Opens the socket `dial` names (not yet connected). */
export function dialSocket(dial: DialTarget): Socket {
  if (dial.type === 'unix') {
    const path = dial.address.startsWith('@') ? `\0${dial.address.slice(1)}` : dial.address;
    return connect({ path });
  }
  const { host, port } = parseHostPort(dial.address);
  const family = dial.network === 'tcp4' ? 4 : dial.network === 'tcp6' ? 6 : 0;
  return connect({ host, port, family, noDelay: true });
}

export type { TransportInput };

/**
 * A daemon that starts a frame and never finishes it would wedge the connection: every later reply
 * would be read as part of that frame. Past this, the frame counts as a protocol error (the socket is
 * dropped and redialled, and local requests are re-sent).
 */
export interface FrameStallGuard {
  clock: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(id: unknown): void };
  partialFrameTimeoutMs: number;
}

/** The socket transport; with `stall`, a frame left unfinished that long drops the connection. */
export function createTransportLogic(stall?: FrameStallGuard) {
  return fromCallback<TransportCommand, TransportInput, TransportEvent>(
    ({ input, system, sendBack, receive }) => {
      let socket: Socket;
      let stallTimer: unknown;
      const stopStallTimer = () => {
        if (stallTimer === undefined) return;
        stall?.clock.clearTimeout(stallTimer);
        stallTimer = undefined;
      };
      /** The clock runs from a frame's first byte: restarted when a frame completes, stopped when none is open. */
      const watchPartialFrame = (completed: boolean) => {
        if (!stall || !Number.isFinite(stall.partialFrameTimeoutMs)) return;
        if (decoder.pendingBytes === 0 || completed) stopStallTimer();
        if (decoder.pendingBytes === 0 || stallTimer !== undefined) return;
        const ms = stall.partialFrameTimeoutMs;
        stallTimer = stall.clock.setTimeout(() => {
          stallTimer = undefined;
          if (finished) return;
          protocolFailure(
            new ProtocolError(
              `the daemon left a frame unfinished for ${ms} ms (${decoder.pendingBytes} bytes read)`,
            ),
          );
        }, ms);
      };
      let finished = false;
      let corked = false;
      let lastError: Error | undefined;
      const decoder = new FrameDecoder();

      const deliver = (message: ReturnType<typeof decodeResponse>) => {
        const target =
          input.replyTarget && carriesQueryId(message) ? system.get(input.replyTarget) : undefined;
        if (target) target.send({ type: 'transport.reply', message } satisfies TransportReply);
        else sendBack({ type: 'transport.message', message });
      };

      const write = (frame: Uint8Array) => {
        if (!corked) {
          corked = true;
          socket.cork();
          process.nextTick(() => {
            corked = false;
            socket.uncork();
          });
        }
        socket.write(frame);
      };

      const finish = (error?: Error) => {
        if (finished) return;
        finished = true;
        stopStallTimer();
        sendBack({ type: 'transport.closed', error: error ?? lastError });
      };

      try {
        socket = dialSocket(input.dial);
      } catch (error) {
        // A malformed address: report it like any failed dial, asynchronously.
        queueMicrotask(() => finish(error instanceof Error ? error : new Error(String(error))));
        return () => {
          finished = true;
        };
      }

      socket.on('connect', () => {
        socket.setNoDelay(true);
        if (!finished) sendBack({ type: 'transport.open' });
      });
      socket.on('data', (chunk: Buffer) => {
        if (finished) return;
        // Frames that arrived whole before a broken one are still delivered: they may be replies.
        const { frames, error: frameError } = decoder.feed(
          new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
        );
        for (const frame of frames) {
          let message: ReturnType<typeof decodeResponse>;
          try {
            message = decodeResponse(frame);
          } catch (error) {
            protocolFailure(error);
            return;
          }
          deliver(message);
          if (finished) return;
        }
        if (frameError) protocolFailure(frameError);
        else watchPartialFrame(frames.length > 0);
      });
      socket.on('error', (error) => {
        lastError = error;
      });
      socket.on('close', () => finish());

      function protocolFailure(error: unknown) {
        stopStallTimer();
        const protocolError =
          error instanceof ProtocolError
            ? error
            : new ProtocolError(`cannot read a frame from the daemon: ${String(error)}`, { cause: error });
        lastError = protocolError;
        sendBack({ type: 'transport.protocolError', error: protocolError });
        socket.destroy();
        finish(protocolError);
      }

      receive((command) => {
        if (finished || socket.destroyed) return;
        switch (command.type) {
          case 'transport.send':
            write(encodeFrame(encodeRequest(command.message.key, command.message.body as never)));
            break;
          case 'transport.sendRaw':
            write(encodeFrame(command.bytes));
            break;
          case 'transport.end':
            socket.end();
            break;
        }
      });

      return () => {
        finished = true;
        stopStallTimer();
        socket.destroy();
      };
    },
  );
}

export const transportLogic = createTransportLogic();
