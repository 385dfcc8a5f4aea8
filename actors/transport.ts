/**
 * The transport: one byte stream to kpclientd (from a Dialer: a unix or TCP socket, or a WebSocket),
 * frames in and out through src/wire. The actor does not know which kind of stream it has.
 *
 * - Every complete frame is decoded. A reply (it carries a query_id) goes straight to the reply
 *   target when the input names one (the registry: the data path skips the connection machine);
 *   every other frame is sent back as `transport.message`. A frame that does not
 *   decode (bad length prefix, oversize, malformed CBOR, wrong field types) is reported as
 *   `transport.protocolError`; the stream is then unusable, so it is destroyed.
 * - Any read/write error or close ends in exactly one `transport.closed`, carrying the error.
 * - Frames written in one tick leave together (the dialer corks them).
 * - Stopping the actor destroys the stream.
 */
import { fromCallback } from 'xstate';
import type {
  TransportCommand,
  TransportEvent,
  TransportInput,
  TransportReply,
} from '../machines/connection.js';
import { ProtocolError } from '../src/errors.js';
import {
  carriesQueryId,
  decodeResponse,
  encodeFrame,
  encodeRequest,
  FrameDecoder,
} from '../src/wire/index.js';
import type { ByteStream, Dialer } from './dialers/byteStream.js';

export type { TransportInput };

/**
 * A daemon that starts a frame and never finishes it would wedge the connection: every later reply
 * would be read as part of that frame. Past this, the frame counts as a protocol error (the stream is
 * dropped and redialled, and local requests are re-sent).
 */
export interface FrameStallGuard {
  clock: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(id: unknown): void };
  partialFrameTimeoutMs: number;
}

/** The transport actor logic over the streams `dialer` opens; with `stall`, a frame left unfinished that long drops the stream. */
export function createTransportLogic(dialer: Dialer, stall?: FrameStallGuard) {
  return fromCallback<TransportCommand, TransportInput, TransportEvent>(
    ({ input, system, sendBack, receive }) => {
      let stream: ByteStream;
      let finished = false;
      let lastError: Error | undefined;
      const decoder = new FrameDecoder();

      // One timer per timeout period, not per chunk (re-arming per chunk cost ~0.3x client CPU under
      // load): when it fires, the frame pending then is the one pending when it was armed if no frame
      // completed meanwhile. A newer frame gets a fresh period, so a stall is caught within 2x the timeout.
      let stallTimer: unknown;
      let completedFrames = 0;
      let completedWhenArmed = 0;
      const stopStallTimer = () => {
        if (stallTimer === undefined) return;
        stall?.clock.clearTimeout(stallTimer);
        stallTimer = undefined;
      };
      const armStallTimer = () => {
        if (!stall || !Number.isFinite(stall.partialFrameTimeoutMs)) return;
        const ms = stall.partialFrameTimeoutMs;
        completedWhenArmed = completedFrames;
        stallTimer = stall.clock.setTimeout(() => {
          stallTimer = undefined;
          if (finished || decoder.pendingBytes === 0) return;
          if (completedFrames !== completedWhenArmed) return armStallTimer();
          protocolFailure(
            new ProtocolError(
              `the daemon left a frame unfinished for ${ms} ms (${decoder.pendingBytes} bytes read)`,
            ),
          );
        }, ms);
      };
      const watchPartialFrame = (completed: number) => {
        completedFrames += completed;
        if (stallTimer === undefined && decoder.pendingBytes > 0) armStallTimer();
      };

      const deliver = (message: ReturnType<typeof decodeResponse>) => {
        const target =
          input.replyTarget && carriesQueryId(message) ? system.get(input.replyTarget) : undefined;
        if (target) target.send({ type: 'transport.reply', message } satisfies TransportReply);
        else sendBack({ type: 'transport.message', message });
      };

      const finish = (error?: Error) => {
        if (finished) return;
        finished = true;
        stopStallTimer();
        sendBack({ type: 'transport.closed', error: error ?? lastError });
      };

      const onData = (chunk: Uint8Array) => {
        if (finished) return;
        // Frames that arrived whole before a broken one are still delivered: they may be replies.
        const { frames, error: frameError } = decoder.feed(chunk);
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
        else watchPartialFrame(frames.length);
      };

      function protocolFailure(error: unknown) {
        stopStallTimer();
        const protocolError =
          error instanceof ProtocolError
            ? error
            : new ProtocolError(`cannot read a frame from the daemon: ${String(error)}`, { cause: error });
        lastError = protocolError;
        sendBack({ type: 'transport.protocolError', error: protocolError });
        stream.destroy();
        finish(protocolError);
      }

      try {
        stream = dialer(input.dial, {
          onOpen: () => {
            if (!finished) sendBack({ type: 'transport.open' });
          },
          onData,
          onError: (error) => {
            lastError = error;
          },
          onClose: () => finish(),
        });
      } catch (error) {
        // A malformed address: report it like any failed dial, asynchronously.
        queueMicrotask(() => finish(error instanceof Error ? error : new Error(String(error))));
        return () => {
          finished = true;
        };
      }

      receive((command) => {
        if (finished) return;
        switch (command.type) {
          case 'transport.send':
            stream.write(encodeFrame(encodeRequest(command.message.key, command.message.body as never)));
            break;
          case 'transport.sendRaw':
            stream.write(encodeFrame(command.bytes));
            break;
          case 'transport.end':
            stream.end();
            break;
        }
      });

      return () => {
        finished = true;
        stopStallTimer();
        stream.destroy();
      };
    },
  );
}
