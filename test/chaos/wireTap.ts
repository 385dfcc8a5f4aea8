/**
 * A unix-socket relay between a client and the devnet process that reads what the client sends: every
 * request frame is decoded, and the start_resending_* ones are counted by their query id, so a test sees
 * an operation sent twice. `sever()` drops every relayed connection (a socket drop, the daemon untouched).
 */
import { createServer, type Server, type Socket, connect } from 'node:net';
import { decodeCbor } from '../../src/wire/codec.js';
import { FrameDecoder } from '../../src/wire/frame.js';

const OPERATIONS = ['start_resending_encrypted_message', 'start_resending_copy_command'];

export class WireTap {
  /** How many times each operation's query id (hex) was sent. */
  readonly sends = new Map<string, number>();
  private readonly pairs = new Set<[Socket, Socket]>();
  private server: Server | undefined;

  constructor(
    readonly path: string,
    private readonly upstream: string,
  ) {}

  async listen(): Promise<void> {
    this.server = createServer((client) => {
      const daemon = connect({ path: this.upstream });
      const pair: [Socket, Socket] = [client, daemon];
      this.pairs.add(pair);
      const decoder = new FrameDecoder();
      client.on('data', (chunk: Buffer) => {
        for (const body of decoder.push(new Uint8Array(chunk))) this.count(body);
        daemon.write(chunk);
      });
      daemon.pipe(client);
      const end = () => {
        this.pairs.delete(pair);
        client.destroy();
        daemon.destroy();
      };
      for (const s of pair) {
        s.on('error', end);
        s.on('close', end);
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(this.path, resolve));
  }

  /** Operations sent more than once. */
  resent(): number {
    let n = 0;
    for (const count of this.sends.values()) if (count > 1) n += count - 1;
    return n;
  }

  /** Drops every relayed connection at once. */
  sever(): void {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.sever();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private count(body: Uint8Array): void {
    const request = decodeCbor(body) as Record<string, { query_id?: Uint8Array } | null>;
    for (const key of OPERATIONS) {
      const id = request[key]?.query_id;
      if (!id) continue;
      const k = Buffer.from(id).toString('hex');
      this.sends.set(k, (this.sends.get(k) ?? 0) + 1);
    }
  }
}
