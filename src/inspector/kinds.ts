/**
 * What an inspected node is, read from sanitized inspection data (src/inspector/redact.ts decodes
 * request frames, so the fields of a request are visible by name, their secrets redacted).
 */

/** The kinds the inspector page filters by. */
export type NodeKind =
  | 'client'
  | 'connection'
  | 'registry'
  | 'write'
  | 'read'
  | 'tombstone'
  | 'copy'
  | 'echo'
  | 'local request'
  | 'copy stream'
  | 'window'
  | 'actor';

/** Kinds of operations (the rest are the structure they run in). */
export const OPERATION_KINDS: readonly NodeKind[] = [
  'write',
  'read',
  'tombstone',
  'copy',
  'echo',
  'local request',
];

/** Kinds of the actors that make up the client itself, which are never dropped from memory. */
export const STRUCTURAL_KINDS: ReadonlySet<NodeKind> = new Set(['client', 'connection', 'registry']);

/** The kind of an actor, from its system id. Operations are refined by `arqKind` once seen. */
export function actorKind(systemId: string): NodeKind {
  if (systemId === 'client' || systemId === 'connection' || systemId === 'registry') return systemId;
  if (systemId.startsWith('op:')) return 'write';
  if (systemId.startsWith('copy:')) return 'copy stream';
  if (systemId.startsWith('window:')) return 'window';
  return 'actor';
}

/** A decoded, sanitized request frame (see redact.ts). */
export interface FrameView {
  frame: string;
  body: Record<string, unknown>;
}

export function asFrame(value: unknown): FrameView | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as { frame?: unknown; body?: unknown };
  if (typeof v.frame !== 'string' || typeof v.body !== 'object' || v.body === null) return undefined;
  return v as FrameView;
}

/**
 * An ARQ operation's kind from its (sanitized) context: a copy command is a copy; an encrypted
 * message carries either a read cap (read) or a write cap (write, or a tombstone when its envelope
 * came from an `encrypt_write` of an empty plaintext, which `tombstones` remembers by hash).
 */
export function arqKind(context: Record<string, unknown>, tombstones: ReadonlySet<string>): NodeKind {
  if (context.kind === 'copyCommand') return 'copy';
  const frame = asFrame(context.request);
  if (frame && 'read_cap' in frame.body) return 'read';
  if (typeof context.cancelKey === 'string' && tombstones.has(context.cancelKey)) return 'tombstone';
  return 'write';
}

/** Whether a sanitized `encrypt_write` frame encrypts an empty plaintext (a tombstone). */
export function isTombstoneWrite(frame: FrameView | undefined): boolean {
  return frame?.frame === 'encrypt_write' && frame.body.plaintext === '[0 bytes]';
}
