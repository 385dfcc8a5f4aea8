/**
 * A replica's boxes in an append-only file of the devnet state directory: every stored box is one record,
 * written with one synchronous write before the replica answers, so a box the network acknowledged is in
 * the file even if the process is killed the next instant (the kernel has it; no fsync, so a power cut
 * may still lose the tail). Reopening replays the records in order, the last one per box winning, which
 * is what the replica's rules produced (write-once, tombstones overwrite).
 *
 * Record: box ID (32 bytes) ‖ signature length (u16 BE) ‖ signature ‖ payload length (u32 BE) ‖ payload.
 * A record cut short by a crash is dropped (and cut from the file) on reopening.
 */
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { BoxStore, StoredBox } from '../network/boxStore.js';

const BOX_ID = 32;

export class FileBoxStore implements BoxStore {
  private readonly boxes = new Map<string, StoredBox>();
  private fd: number;

  /** Opens (creating, 0600) the log at `path` and loads every complete record. */
  constructor(readonly path: string) {
    this.fd = openSync(path, 'a+', 0o600);
    const bytes = readFileSync(path);
    const complete = this.load(bytes);
    if (complete < bytes.length) ftruncateSync(this.fd, complete);
  }

  get(boxIdHex: string): StoredBox | undefined {
    return this.boxes.get(boxIdHex);
  }

  set(boxIdHex: string, box: StoredBox): void {
    if (this.fd < 0) throw new Error(`devnet: box log ${this.path} is closed`);
    const id = Buffer.from(boxIdHex, 'hex');
    if (id.length !== BOX_ID) throw new RangeError(`devnet: box ID must be ${BOX_ID} bytes`);
    const record = Buffer.alloc(BOX_ID + 2 + box.signature.length + 4 + box.payload.length);
    let at = id.copy(record, 0);
    at = record.writeUInt16BE(box.signature.length, at);
    record.set(box.signature, at);
    at = record.writeUInt32BE(box.payload.length, at + box.signature.length);
    record.set(box.payload, at);
    let written = 0;
    while (written < record.length) written += writeSync(this.fd, record, written);
    this.boxes.set(boxIdHex, box);
  }

  get size(): number {
    return this.boxes.size;
  }

  entries(): IterableIterator<[string, StoredBox]> {
    return this.boxes.entries();
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }

  /** Replays the records; returns the length of the complete ones. */
  private load(bytes: Buffer): number {
    let at = 0;
    while (at + BOX_ID + 2 <= bytes.length) {
      const sigLength = bytes.readUInt16BE(at + BOX_ID);
      const payloadLengthAt = at + BOX_ID + 2 + sigLength;
      if (payloadLengthAt + 4 > bytes.length) break;
      const payloadLength = bytes.readUInt32BE(payloadLengthAt);
      const end = payloadLengthAt + 4 + payloadLength;
      if (end > bytes.length) break;
      this.boxes.set(bytes.toString('hex', at, at + BOX_ID), {
        signature: Uint8Array.from(bytes.subarray(at + BOX_ID + 2, payloadLengthAt)),
        payload: Uint8Array.from(bytes.subarray(payloadLengthAt + 4, end)),
      });
      at = end;
    }
    return at;
  }
}
