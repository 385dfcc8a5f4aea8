/**
 * Service discovery in the PKI document (katzenpost `client/common/common.go` FindServices; GetService
 * in `client/thin/thin.go`).
 *
 * A service node advertises `Kaetzchen[capability] = {endpoint: <text>}`. Each advertising node yields a
 * ServiceDescriptor whose queue ID is the UTF-8 bytes of the endpoint; its destination for `send_message`
 * is (BLAKE2b-256(IdentityKey), queue ID).
 */
import { blake2b } from '@noble/hashes/blake2.js';
import type { MixDescriptor, PkiDocument } from './document.js';

/** One service instance found in the PKI document (`getServices`, `findServices`). */
export interface ServiceDescriptor {
  /** UTF-8 bytes of the advertised endpoint (e.g. "+echo"). */
  readonly recipientQueueId: Uint8Array;
  /** The service node that offers it. */
  readonly mixDescriptor: MixDescriptor;
  /**
   * `[destinationIdHash, recipientQueueId]` for `send_message`: BLAKE2b-256 of the node's IdentityKey and the
   * queue ID. Fresh copies on every call.
   */
  toDestination(): [Uint8Array, Uint8Array];
}

class Service implements ServiceDescriptor {
  readonly recipientQueueId: Uint8Array;
  readonly mixDescriptor: MixDescriptor;

  constructor(recipientQueueId: Uint8Array, mixDescriptor: MixDescriptor) {
    this.recipientQueueId = recipientQueueId;
    this.mixDescriptor = mixDescriptor;
  }

  toDestination(): [Uint8Array, Uint8Array] {
    return [blake2b(this.mixDescriptor.identityKey, { dkLen: 32 }), this.recipientQueueId.slice()];
  }
}

/**
 * Every service node offering `capability`, in document order (Go's `common.FindServices`). Nodes whose
 * `Kaetzchen` is null, or whose entry has no text `endpoint`, are skipped (Go would panic on the latter).
 */
export function findServices(document: PkiDocument, capability: string): ServiceDescriptor[] {
  const out: ServiceDescriptor[] = [];
  for (const node of document.serviceNodes) {
    const endpoint = node.kaetzchen?.get(capability)?.get('endpoint');
    if (typeof endpoint !== 'string') continue;
    out.push(new Service(new TextEncoder().encode(endpoint), node));
  }
  return out;
}
