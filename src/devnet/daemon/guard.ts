/**
 * The devnet's door to its thin-client sockets: counts them against the connection limit, keeps the
 * one byte budget every socket's buffers share, and counts every socket it had to close and why.
 * One guard per listener; it outlives daemon restarts.
 */
import type { Duplex } from 'node:stream';
import type { Clock } from '../clock.js';
import type { ConnectionLimits } from './limits.js';

/** Why the devnet closed a socket on its own. */
export type DropReason =
  | 'overLimit'
  | 'handshakeTimeout'
  | 'partialFrameTimeout'
  | 'overBudget'
  | 'slowReader'
  | 'writeStall';

/** What the devnet's connection guard counts: open sockets, buffered bytes and the sockets it dropped, by reason. */
export interface ConnectionStats {
  /** Sockets open now. */
  open: number;
  /** Sockets admitted since the start (each is handed to the daemon in the same tick). */
  admitted: number;
  /** Bytes buffered now (partial frames and unhandled requests, all sockets). */
  bufferedBytes: number;
  /** The most that was ever buffered at once. */
  peakBufferedBytes: number;
  /** Sockets the devnet is not reading now (backpressure: too many requests or unsent replies). */
  readPaused: number;
  /** Sockets the devnet closed, by reason. */
  dropped: Record<DropReason, number>;
}

export class ConnectionGuard {
  private openCount = 0;
  private admittedCount = 0;
  private buffered = 0;
  private peak = 0;
  private paused = 0;
  private readonly dropped: Record<DropReason, number> = {
    overLimit: 0,
    handshakeTimeout: 0,
    partialFrameTimeout: 0,
    overBudget: 0,
    slowReader: 0,
    writeStall: 0,
  };

  constructor(
    readonly limits: ConnectionLimits,
    readonly clock: Clock,
    private readonly log: (line: string) => void,
  ) {}

  /** Counts a new socket in, or closes it at once when the limit is reached. */
  admit(socket: Duplex): boolean {
    if (this.openCount >= this.limits.maxConnections) {
      this.dropped.overLimit++;
      this.log(`refusing a connection: ${this.openCount} open, the limit is ${this.limits.maxConnections}`);
      socket.destroy();
      return false;
    }
    this.openCount++;
    this.admittedCount++;
    socket.once('close', () => {
      this.openCount--;
    });
    return true;
  }

  /** Whether `bytes` more fit the shared budget. */
  fits(bytes: number): boolean {
    return this.buffered + bytes <= this.limits.maxBufferedBytes;
  }

  /** Adds (or, negative, returns) buffered bytes. */
  charge(bytes: number): void {
    this.buffered += bytes;
    if (this.buffered > this.peak) this.peak = this.buffered;
  }

  /** A socket stopped (+1) or resumed (-1) being read. */
  notePaused(delta: 1 | -1): void {
    this.paused += delta;
  }

  /** Counts a socket the devnet closes on its own. */
  noteDrop(reason: DropReason, what: string): void {
    this.dropped[reason]++;
    this.log(`closing ${what}: ${reason}`);
  }

  stats(): ConnectionStats {
    return {
      open: this.openCount,
      admitted: this.admittedCount,
      bufferedBytes: this.buffered,
      peakBufferedBytes: this.peak,
      readPaused: this.paused,
      dropped: { ...this.dropped },
    };
  }
}
