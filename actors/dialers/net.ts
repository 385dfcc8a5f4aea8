/**
 * Unix and TCP byte streams through node:net.
 * `tcp` dials host:port with TCP_NODELAY (`network` tcp4/tcp6 pins the address family); `unix` dials
 * a path, and "@name" is the Linux abstract socket "\0name". Writes made in one tick are corked into
 * one system call.
 */
import { connect, type Socket } from 'node:net';
import type { DialTarget } from '../../machines/connection.js';
import { parseHostPort } from '../../src/config.js';
import type { ByteStream, ByteStreamHandlers } from './byteStream.js';

/** Opens the socket `dial` names (not yet connected). */
export function dialSocket(dial: DialTarget): Socket {
  if (dial.type === 'unix') {
    const path = dial.address.startsWith('@') ? `\0${dial.address.slice(1)}` : dial.address;
    return connect({ path });
  }
  if (dial.type !== 'tcp') throw new Error(`the socket dialer cannot dial ${dial.type}`);
  const { host, port } = parseHostPort(dial.address);
  const family = dial.network === 'tcp4' ? 4 : dial.network === 'tcp6' ? 6 : 0;
  return connect({ host, port, family, noDelay: true });
}

export function netDialer(dial: DialTarget, handlers: ByteStreamHandlers): ByteStream {
  const socket = dialSocket(dial);
  let corked = false;
  socket.on('connect', () => {
    socket.setNoDelay(true);
    handlers.onOpen();
  });
  socket.on('data', (chunk: Buffer) =>
    handlers.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)),
  );
  socket.on('error', (error) => handlers.onError(error));
  socket.on('close', () => handlers.onClose());
  return {
    write(bytes) {
      if (socket.destroyed) return;
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(() => {
          corked = false;
          socket.uncork();
        });
      }
      socket.write(bytes);
    },
    end() {
      if (!socket.destroyed) socket.end();
    },
    destroy() {
      socket.destroy();
    },
  };
}
