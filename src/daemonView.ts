/**
 * What the client knows of the daemon from its events: the current PKI document and the Sphinx and
 * Pigeonhole geometries. Turns each daemon event into a public event, holding those that arrive
 * during a (re)handshake until the session is ready — so that `connectionStatus { isConnected: true }`
 * always means the client can send, as an application flushing an offline queue on it expects.
 */

import { ProtocolError } from './errors.js';
import type { EventHub } from './eventHub.js';
import {
  eventFromMessage,
  type PigeonholeGeometry,
  pigeonholeGeometryFromWire,
  type SphinxGeometry,
  sphinxGeometryFromWire,
  type ThinClientEvent,
} from './events.js';
import { decodePkiDocument, type PkiDocument } from './pki/index.js';
import type { DecodedResponse } from './wire/index.js';

const asProtocolError = (error: unknown): ProtocolError =>
  error instanceof ProtocolError ? error : new ProtocolError(String(error), { cause: error });

export class DaemonView {
  document: PkiDocument | null = null;
  sphinx: SphinxGeometry | null = null;
  pigeonhole: PigeonholeGeometry | null = null;
  private held: ThinClientEvent[] = [];

  constructor(private readonly hub: EventHub) {}

  /** A daemon event: update what is known, then publish it (or hold it while `sessionReady` is false). */
  onMessage(message: DecodedResponse, sessionReady: boolean): void {
    let document: PkiDocument | null = null;
    try {
      if (message.key === 'connection_status_event') {
        const { sphinx_geometry, pigeonhole_geometry } = message.body;
        if (sphinx_geometry !== undefined) this.sphinx = sphinxGeometryFromWire(sphinx_geometry);
        if (pigeonhole_geometry !== undefined)
          this.pigeonhole = pigeonholeGeometryFromWire(pigeonhole_geometry);
      } else if (message.key === 'new_pki_document_event') {
        const payload = message.body.payload;
        if (payload && payload.length > 0) {
          document = decodePkiDocument(payload);
          this.document = document;
        }
      }
    } catch (error) {
      this.hub.publish({ type: 'protocolError', error: asProtocolError(error) });
    }
    const event = eventFromMessage(message, document);
    if (!event) return;
    if (sessionReady) this.hub.publish(event);
    else this.held.push(event);
  }

  /** The session is ready: publish what was held, in arrival order. */
  release(): void {
    for (const event of this.held.splice(0)) this.hub.publish(event);
  }

  /** The link dropped mid-handshake: what was held belongs to a session that did not come up. */
  drop(): void {
    this.held = [];
  }
}
