/**
 * The events a ThinClient delivers (`client.events()`, `client.on()`), and the bounded queue behind
 * each `events()` iterator.
 *
 * Events are a discriminated union on `type`. Daemon pushes are translated to camelCase and
 * Uint8Array/bigint values; anything the daemon sends that this library does not know is delivered
 * as `{ type: 'unknown', raw }` rather than dropped.
 */
import { ProtocolError, type ThinClientError } from './errors.js';
import type { PkiDocument } from './pki/index.js';
import type { DecodedResponse } from './wire/index.js';

/** The daemon's link to the mixnet changed (also sent once per handshake). */
export interface ConnectionStatusEvent {
  /** Discriminant of the event union. */
  readonly type: 'connectionStatus';
  /** The daemon ⇄ mixnet gateway link (not the local socket). */
  readonly isConnected: boolean;
  /** The daemon process's instance token (16 bytes). */
  readonly instanceToken: Uint8Array | null;
}

/** The daemon has a new (already verified, signatures stripped) PKI document. */
export interface NewPkiDocumentEvent {
  /** Discriminant of the event union. */
  readonly type: 'newPkiDocument';
  /** The decoded document, or null when the daemon sent none or it did not decode. */
  readonly document: PkiDocument | null;
  /** The CBOR payload as the daemon sent it. */
  readonly payload: Uint8Array | null;
}

/** A `sendMessage` with a SURB left the daemon (or failed to). */
export interface MessageSentEvent {
  /** Discriminant of the event union. */
  readonly type: 'messageSent';
  /** The message ID the `sendMessage` call chose (16 bytes), as the daemon echoes it. */
  readonly messageId: Uint8Array | null;
  /** The SURB ID of the expected reply (16 bytes); null for a send without reply. */
  readonly surbId: Uint8Array | null;
  /** When the packet was sent (whole seconds, as the daemon reports it). */
  readonly sentAt: Date;
  /** The expected round-trip time in milliseconds. */
  readonly replyEtaMs: number;
  /** Set when composing or sending failed. */
  readonly error?: string;
}

/** A SURB reply arrived. */
export interface MessageReplyEvent {
  /** Discriminant of the event union. */
  readonly type: 'messageReply';
  /** The message ID of the request this answers (16 bytes). */
  readonly messageId: Uint8Array | null;
  /** The SURB ID the reply came back on (16 bytes); match it against the one you sent. */
  readonly surbId: Uint8Array | null;
  /** The decrypted reply; may carry trailing padding. */
  readonly payload: Uint8Array;
  /** Which of the daemon's reply slots held the reply, when the daemon says. */
  readonly replyIndex?: number;
  /** The daemon's error code for this reply: 0 on success. */
  readonly errorCode: number;
}

/** Defined by the protocol, never produced by current daemons. */
export interface MessageIdGarbageCollectedEvent {
  /** Discriminant of the event union. */
  readonly type: 'messageIdGarbageCollected';
  /** The message ID the daemon forgot. */
  readonly messageId: Uint8Array | null;
}

/** The daemon announced it is shutting down; a graceful `daemonDisconnected` follows. */
export interface ShutdownEvent {
  /** Discriminant of the event union. */
  readonly type: 'shutdown';
}

/** The socket to the daemon went away. The client redials on its own. */
export interface DaemonDisconnectedEvent {
  /** Discriminant of the event union. */
  readonly type: 'daemonDisconnected';
  /** True when a `shutdown_event` preceded the close. */
  readonly isGraceful: boolean;
  /** Why the connection was lost; undefined for a graceful shutdown. */
  readonly error: ThinClientError | undefined;
}

/** A handshake with the daemon completed (the first one, or after a redial). */
export interface DaemonConnectedEvent {
  /** Discriminant of the event union. */
  readonly type: 'daemonConnected';
  /** The daemon process's instance token (16 bytes); a new one means the daemon restarted. */
  readonly instanceToken: Uint8Array | null;
  /** The daemon recognised our session token and kept our session. */
  readonly resumed: boolean;
  /** How many in-flight operations were sent again because the daemon had lost them. */
  readonly replayed: number;
}

/** The daemon sent a frame this client cannot read; the connection is dropped and redialled. */
export interface ProtocolErrorEvent {
  /** Discriminant of the event union. */
  readonly type: 'protocolError';
  /** What was wrong with the frame. */
  readonly error: ProtocolError;
}

/** A message with no key this client knows, as decoded. */
export interface UnknownEvent {
  /** Discriminant of the event union. */
  readonly type: 'unknown';
  /** The decoded CBOR message, unchanged. */
  readonly raw: unknown;
}

/** This `events()` iterator fell behind; `dropped` older events were discarded. */
export interface LaggedEvent {
  /** Discriminant of the event union. */
  readonly type: 'lagged';
  /** How many events were discarded since the last one this iterator delivered. */
  readonly dropped: number;
}

/**
 * Everything `client.events()` and `client.on()` deliver: a union discriminated on `type`. `events()`
 * iterators also yield a `LaggedEvent` when they fall behind.
 *
 * @example
 * ```ts
 * for await (const ev of client.events({ signal })) {
 *   if (ev.type === 'connectionStatus') console.log('mixnet', ev.isConnected ? 'up' : 'down');
 *   else if (ev.type === 'messageReply') console.log('reply on', ev.surbId, ev.payload);
 * }
 * ```
 */
export type ThinClientEvent =
  | ConnectionStatusEvent
  | NewPkiDocumentEvent
  | MessageSentEvent
  | MessageReplyEvent
  | MessageIdGarbageCollectedEvent
  | ShutdownEvent
  | DaemonDisconnectedEvent
  | DaemonConnectedEvent
  | ProtocolErrorEvent
  | UnknownEvent;

/** The `type` of any ThinClientEvent: the names `client.on(type, …)` accepts. */
export type ThinClientEventType = ThinClientEvent['type'];
/**
 * The member of ThinClientEvent whose `type` is `T`, e.g. `EventOfType<'messageReply'>` is MessageReplyEvent.
 */
export type EventOfType<T extends ThinClientEventType> = Extract<
  ThinClientEvent,
  {
    /** The event type to pick. */
    type: T;
  }
>;

/** Options of `client.events()`. */
export interface EventsOptions {
  /** Ends the iteration (without throwing) when aborted. */
  signal?: AbortSignal;
  /**
   * How many undelivered events this iterator keeps before dropping the oldest.
   * @default 1024
   */
  capacity?: number;
}

/**
 * One consumer's queue: bounded, dropping the oldest on overflow and then telling the consumer how
 * many it lost with a `lagged` event. A slow consumer never stalls the connection.
 */
export class EventQueue implements AsyncIterableIterator<ThinClientEvent | LaggedEvent> {
  private readonly items: ThinClientEvent[] = [];
  private dropped = 0;
  private waiter: ((r: IteratorResult<ThinClientEvent | LaggedEvent>) => void) | undefined;
  private done = false;

  constructor(
    private readonly capacity: number,
    private readonly onDone: () => void,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a positive integer');
  }

  push(event: ThinClientEvent): void {
    if (this.done) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: event, done: false });
      return;
    }
    if (this.items.length >= this.capacity) {
      this.items.shift();
      this.dropped++;
    }
    this.items.push(event);
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    this.items.length = 0;
    this.onDone();
    const w = this.waiter;
    this.waiter = undefined;
    w?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<ThinClientEvent | LaggedEvent>> {
    if (this.dropped > 0) {
      const dropped = this.dropped;
      this.dropped = 0;
      return Promise.resolve({ value: { type: 'lagged', dropped }, done: false });
    }
    const item = this.items.shift();
    if (item) return Promise.resolve({ value: item, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<ThinClientEvent | LaggedEvent>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

// ---- from daemon messages ------------------------------------------------------------------------

/** The daemon's Sphinx geometry (connection_status_event.sphinx_geometry), camelCased. */
export interface SphinxGeometry {
  /** Length of a whole Sphinx packet in bytes. */
  readonly packetLength: number;
  /** Number of hops a packet's route has. */
  readonly nrHops: number;
  /** Length of the Sphinx header in bytes. */
  readonly headerLength: number;
  /** Length of the routing information in the header, in bytes. */
  readonly routingInfoLength: number;
  /** Length of one hop's routing information, in bytes. */
  readonly perHopRoutingInfoLength: number;
  /** Length of a SURB (single-use reply block) in bytes. */
  readonly surbLength: number;
  /** Length of the plaintext header in bytes. */
  readonly sphinxPlaintextHeaderLength: number;
  /** Length of the payload's authentication tag, in bytes. */
  readonly payloadTagLength: number;
  /** Length of the forward payload (with its framing), in bytes. */
  readonly forwardPayloadLength: number;
  /** The largest `sendMessage` payload. */
  readonly userForwardPayloadLength: number;
  /** Length of the next-node routing command, in bytes. */
  readonly nextNodeHopLength: number;
  /** Length of the SPRP key material, in bytes. */
  readonly sprpKeyMaterialLength: number;
  /** Name of the NIKE scheme (empty when the mixnet uses a KEM instead). */
  readonly nikeName: string;
  /** Name of the KEM scheme (empty when the mixnet uses a NIKE instead). */
  readonly kemName: string;
}

/** The daemon's Pigeonhole geometry (connection_status_event.pigeonhole_geometry), camelCased. */
export interface PigeonholeGeometry {
  /** The largest `encryptWrite` plaintext (one box). */
  readonly maxPlaintextPayloadLength: number;
  /** Length of a courier query that reads a box, in bytes. */
  readonly courierQueryReadLength: number;
  /** Length of a courier query that writes a box, in bytes. */
  readonly courierQueryWriteLength: number;
  /** Length of the courier's reply to a read, in bytes. */
  readonly courierQueryReplyReadLength: number;
  /** Length of the courier's reply to a write, in bytes. */
  readonly courierQueryReplyWriteLength: number;
  /** Name of the NIKE scheme of the envelopes (e.g. `CTIDH1024-X25519`). */
  readonly nikeName: string;
  /** Name of the signature scheme of the boxes (e.g. `Ed25519`). */
  readonly signatureSchemeName: string;
}

const SPHINX_KEYS = {
  PacketLength: 'packetLength',
  NrHops: 'nrHops',
  HeaderLength: 'headerLength',
  RoutingInfoLength: 'routingInfoLength',
  PerHopRoutingInfoLength: 'perHopRoutingInfoLength',
  SURBLength: 'surbLength',
  SphinxPlaintextHeaderLength: 'sphinxPlaintextHeaderLength',
  PayloadTagLength: 'payloadTagLength',
  ForwardPayloadLength: 'forwardPayloadLength',
  UserForwardPayloadLength: 'userForwardPayloadLength',
  NextNodeHopLength: 'nextNodeHopLength',
  SPRPKeyMaterialLength: 'sprpKeyMaterialLength',
  NIKEName: 'nikeName',
  KEMName: 'kemName',
} as const;

const PIGEONHOLE_KEYS = {
  MaxPlaintextPayloadLength: 'maxPlaintextPayloadLength',
  CourierQueryReadLength: 'courierQueryReadLength',
  CourierQueryWriteLength: 'courierQueryWriteLength',
  CourierQueryReplyReadLength: 'courierQueryReplyReadLength',
  CourierQueryReplyWriteLength: 'courierQueryReplyWriteLength',
  NIKEName: 'nikeName',
  SignatureSchemeName: 'signatureSchemeName',
} as const;

function camelGeometry<T>(raw: unknown, keys: Record<string, string>, what: string, required: string): T {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ProtocolError(`${what}: expected a map`);
  }
  const source = raw as Record<string, unknown>;
  const out: Record<string, number | string> = {};
  for (const [wire, name] of Object.entries(keys)) {
    const value = source[wire];
    if (typeof value === 'string') out[name] = value;
    else if (typeof value === 'number' || typeof value === 'bigint') out[name] = Number(value);
    else out[name] = name.endsWith('Name') ? '' : 0;
  }
  if (typeof source[required] !== 'number' && typeof source[required] !== 'bigint') {
    throw new ProtocolError(`${what}: missing ${required}`);
  }
  return out as T;
}

export function sphinxGeometryFromWire(raw: unknown): SphinxGeometry {
  return camelGeometry(raw, SPHINX_KEYS, 'sphinx_geometry', 'UserForwardPayloadLength');
}

export function pigeonholeGeometryFromWire(raw: unknown): PigeonholeGeometry {
  return camelGeometry(raw, PIGEONHOLE_KEYS, 'pigeonhole_geometry', 'MaxPlaintextPayloadLength');
}

/**
 * The public event for a daemon push, or undefined for replies (which settle calls instead) and for
 * session_token_reply. `document` is the decoded PKI document for new_pki_document_event.
 */
export function eventFromMessage(
  message: DecodedResponse,
  document: PkiDocument | null = null,
): ThinClientEvent | undefined {
  switch (message.key) {
    case 'unknown':
      return { type: 'unknown', raw: message.raw };
    case 'connection_status_event':
      return {
        type: 'connectionStatus',
        isConnected: message.body.is_connected === true,
        instanceToken: message.body.instance_token ?? null,
      };
    case 'new_pki_document_event':
      return { type: 'newPkiDocument', document, payload: message.body.payload ?? null };
    case 'message_sent_event': {
      const { body } = message;
      return {
        type: 'messageSent',
        messageId: body.message_id ?? null,
        surbId: body.surbid ?? null,
        sentAt: new Date(Number(body.sent_at ?? 0n) * 1000),
        replyEtaMs: Number((body.reply_eta ?? 0n) / 1_000_000n),
        ...(body.err ? { error: body.err } : {}),
      };
    }
    case 'message_reply_event': {
      const { body } = message;
      return {
        type: 'messageReply',
        messageId: body.message_id ?? null,
        surbId: body.surbid ?? null,
        payload: body.payload ?? new Uint8Array(0),
        ...(body.reply_index !== undefined ? { replyIndex: body.reply_index } : {}),
        errorCode: body.error_code ?? 0,
      };
    }
    case 'message_id_garbage_collected':
      return { type: 'messageIdGarbageCollected', messageId: message.body.message_id ?? null };
    case 'shutdown_event':
      return { type: 'shutdown' };
    default:
      return undefined;
  }
}
