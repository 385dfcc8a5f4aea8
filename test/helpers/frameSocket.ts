/**
 * A socket to a daemon (the devnet, or any kpclientd) that cuts what arrives into frame bodies and
 * lets a reader wait for the next one: the shared bottom of the raw test clients.
 */
import { connect, type NetConnectOpts, type Socket } from 'node:net';
import type { Config } from '../../src/config.js';
import { FrameDecoder } from '../../src/wire/frame.js';

/** Node's connect options for a thinclient dial config (an "@name" unix address is abstract). */
export function dialOptions(config: Config): { path: string } | { host: string; port: number } {
  const d = config.dial;
  if (d.type === 'unix') return { path: d.address.startsWith('@') ? `\0${d.address.slice(1)}` : d.address };
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(d.address)!;
  return { host: m[1] ?? m[2]!, port: Number(m[3]) };
}

export class FrameSocket {
  readonly closed: Promise<void>;
  #isClosed = false;
  #waiters: (() => void)[] = [];

  private constructor(
    readonly socket: Socket,
    onFrame: (body: Uint8Array) => void,
  ) {
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      for (const body of decoder.push(new Uint8Array(chunk))) onFrame(body);
      this.#wake();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.#isClosed = true;
        this.#wake();
        resolve();
      }),
    );
  }

  /** Connects; `onFrame` sees every frame body in arrival order. */
  static connect(config: Config, onFrame: (body: Uint8Array) => void): Promise<FrameSocket> {
    return new Promise((resolve, reject) => {
      const s = connect(dialOptions(config) as NetConnectOpts);
      s.setNoDelay(true);
      s.once('connect', () => resolve(new FrameSocket(s, onFrame)));
      s.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Resolves when more frames have arrived or the socket has closed, or after `timeoutMs` at the latest. */
  arrival(timeoutMs?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (timeoutMs === undefined) {
        this.#waiters.push(resolve);
        return;
      }
      const t = setTimeout(resolve, timeoutMs);
      this.#waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  close(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}
