/**
 * The PKI document (katzenpost `core/pki/document.go`, `descriptor.go`; as the daemon pushes it,
 * `client/pki.go`, signatures stripped).
 *
 * The document is a CBOR map keyed by Go field names. `Topology`, `GatewayNodes` and `ServiceNodes` hold
 * byte strings, each the canonical CBOR of one MixDescriptor (Go's `MarshalBinary`); `StorageReplicas` holds
 * plain maps. `MixKeys`/`EnvelopeKeys` are keyed by integers, `SharedRandomCommit`/`Reveal` by byte strings.
 *
 * Decoded values use camelCase names; 64-bit integers (epochs) are bigints; byte strings are fresh plain
 * Uint8Arrays. Missing fields and `null` take Go's zero values (0, "", false, or null for slices and maps),
 * as Go's decoder does; a field of the wrong CBOR type is a ProtocolError.
 */
import { ProtocolError } from '../errors.js';
import {
  asArrayOrNull,
  asBool,
  asBytes,
  asBytesOrNull,
  asFloat,
  asMap,
  asMapOrNull,
  asText,
  asUint64,
  asUintSmall,
  type CborMap,
  decodeCbor,
  describe,
  field,
  fieldReader,
  normalize,
  toHex,
} from './cbor.js';

/** The document format version Katzenpost main writes (`DocumentVersion`). */
export const PKI_DOCUMENT_VERSION = 'v1';

/** What every node descriptor (mix, gateway, service node, storage replica) starts with. */
export interface NodeIdentity {
  /** The node's name. */
  name: string;
  /** The epoch the descriptor is for. */
  epoch: bigint;
  /** The node's identity (signing) public key. */
  identityKey: Uint8Array;
  /** The node's link (wire) public key. */
  linkKey: Uint8Array;
  /** Transport → addresses. */
  addresses: Map<string, string[]>;
}

/** A mix, gateway or service node of the PKI document (Go's `MixDescriptor`). */
export interface MixDescriptor extends NodeIdentity {
  /** Epoch → Sphinx public key. */
  mixKeys: Map<bigint, Uint8Array>;
  /** Capability → parameters (e.g. `echo` → {endpoint: "+echo"}); null for nodes without services. */
  kaetzchen: Map<string, Map<string, unknown>> | null;
  /** Capability → data the service advertises beyond its endpoint; null when none. */
  kaetzchenAdvertizedData: Map<string, Map<string, unknown>> | null;
  /** Whether the node is a gateway (clients' entry to the mixnet). */
  isGatewayNode: boolean;
  /** Whether the node is a service node (hosts services such as `echo` and `courier`). */
  isServiceNode: boolean;
  /** The node's relative weight for route selection. */
  loadWeight: number;
  /** How the node authenticates its links. */
  authenticationType: string;
  /** The descriptor format version. */
  version: string;
}

/** A Pigeonhole storage replica of the PKI document (Go's `ReplicaDescriptor`). */
export interface ReplicaDescriptor extends NodeIdentity {
  /** The replica's ID (0–255): the shard numbering the couriers use. */
  replicaId: number;
  /** Replica epoch → MKEM public key. */
  envelopeKeys: Map<bigint, Uint8Array>;
}

/** A decoded PKI document (Go's `pki.Document`), from `decodePkiDocument` or `client.pkiDocument()`. */
export interface PkiDocument {
  /** The epoch the document is for. */
  epoch: bigint;
  /** The epoch the network began. */
  genesisEpoch: bigint;
  /** Rates in events per millisecond. */
  mu: number;
  /** Rate of the client's send slots (λP, Poisson), per ms. */
  lambdaP: number;
  /** Rate of loop decoy traffic (λL), per ms. */
  lambdaL: number;
  /** Rate of mix decoy traffic (λM), per ms. */
  lambdaM: number;
  /** Rate of gateway decoy traffic (λG), per ms. */
  lambdaG: number;
  /** Rate of replica traffic (λR), per ms. */
  lambdaR: number;
  /** One list of mixes per layer. */
  topology: MixDescriptor[][];
  /** The gateway nodes. */
  gatewayNodes: MixDescriptor[];
  /** The service nodes (where `getServices` looks). */
  serviceNodes: MixDescriptor[];
  /** The Pigeonhole storage replicas. */
  storageReplicas: ReplicaDescriptor[];
  /** `ConfiguredReplicaIDs` (a Go []uint8, so a byte string); null when absent. */
  configuredReplicaIds: Uint8Array | null;
  /** The identity keys of the configured replicas, in `configuredReplicaIds` order; null when absent. */
  configuredReplicaIdentityKeys: Uint8Array[] | null;
  /** Keyed by the lowercase hex of the 32-byte authority key hash; null when absent. */
  sharedRandomCommit: Map<string, Uint8Array> | null;
  /** The authorities' shared-random reveals, keyed as `sharedRandomCommit`; null when absent. */
  sharedRandomReveal: Map<string, Uint8Array> | null;
  /** This epoch's shared random value; null when absent. */
  sharedRandomValue: Uint8Array | null;
  /** Shared random values of earlier epochs; null when absent. */
  priorSharedRandom: Uint8Array[] | null;
  /** Hash of the network's Sphinx geometry; null when absent. */
  sphinxGeometryHash: Uint8Array | null;
  /** The document format version (`v1`, PKI_DOCUMENT_VERSION). */
  version: string;
  /** The scheme the authorities sign with (e.g. `Falcon-padded-512-Ed25519`). */
  pkiSignatureScheme: string;
}

/** The entries of a map whose keys must be text (Go's map[string]…). */
function textKeyed(map: CborMap, what: string): [string, unknown][] {
  return [...map].map(([key, value]) => {
    if (typeof key !== 'string') throw new ProtocolError(`${what}: expected text keys, got ${describe(key)}`);
    return [key, value];
  });
}

function decodeAddresses(value: unknown, what: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const map = asMapOrNull(value, what);
  if (map === null) return out;
  for (const [transport, list] of textKeyed(map, what)) {
    const addrs = asArrayOrNull(list, `${what}[${transport}]`) ?? [];
    out.set(
      transport,
      addrs.map((a) => {
        if (typeof a !== 'string') throw new ProtocolError(`${what}[${transport}]: expected text addresses`);
        return a;
      }),
    );
  }
  return out;
}

function decodeEpochKeyed(value: unknown, what: string): Map<bigint, Uint8Array> {
  const out = new Map<bigint, Uint8Array>();
  const map = asMapOrNull(value, what);
  if (map === null) return out;
  for (const [k, v] of map) {
    out.set(asUint64(k, `${what} key`), asBytes(v, `${what} value`));
  }
  return out;
}

function decodeParameterMaps(value: unknown, what: string): Map<string, Map<string, unknown>> | null {
  const map = asMapOrNull(value, what);
  if (map === null) return null;
  const out = new Map<string, Map<string, unknown>>();
  for (const [capability, params] of textKeyed(map, what)) {
    const inner = new Map<string, unknown>();
    const paramMap = asMapOrNull(params, `${what}[${capability}]`);
    if (paramMap !== null) {
      for (const [k, v] of textKeyed(paramMap, `${what}[${capability}]`)) inner.set(k, normalize(v));
    }
    out.set(capability, inner);
  }
  return out;
}

/** A Go uint8 field. */
const byte = (value: unknown, what: string) => asUintSmall(value, what, 0xff);

function decodeNodeIdentity(map: CborMap, what: string): NodeIdentity {
  const read = fieldReader(map, what);
  return {
    name: read('Name', asText),
    epoch: read('Epoch', asUint64),
    identityKey: read('IdentityKey', asBytesOrNull) ?? new Uint8Array(0),
    linkKey: read('LinkKey', asBytesOrNull) ?? new Uint8Array(0),
    addresses: read('Addresses', decodeAddresses),
  };
}

function decodeMixDescriptorMap(map: CborMap, what: string): MixDescriptor {
  const read = fieldReader(map, what);
  return {
    ...decodeNodeIdentity(map, what),
    mixKeys: read('MixKeys', decodeEpochKeyed),
    kaetzchen: read('Kaetzchen', decodeParameterMaps),
    kaetzchenAdvertizedData: read('KaetzchenAdvertizedData', decodeParameterMaps),
    isGatewayNode: read('IsGatewayNode', asBool),
    isServiceNode: read('IsServiceNode', asBool),
    loadWeight: read('LoadWeight', byte),
    authenticationType: read('AuthenticationType', asText),
    version: read('Version', asText),
  };
}

/**
 * Decodes one MixDescriptor: the canonical CBOR a document entry's byte string holds. A document entry that
 * is a map rather than a byte string is accepted too.
 */
export function decodeMixDescriptor(bytesOrMap: Uint8Array | CborMap, what = 'MixDescriptor'): MixDescriptor {
  const value = bytesOrMap instanceof Uint8Array ? decodeCbor(bytesOrMap, what) : bytesOrMap;
  return decodeMixDescriptorMap(asMap(value, what), what);
}

function decodeDescriptorEntry(value: unknown, what: string): MixDescriptor {
  if (value instanceof Uint8Array || value instanceof Map) return decodeMixDescriptor(value, what);
  throw new ProtocolError(`${what}: expected a byte string holding a MixDescriptor, got ${describe(value)}`);
}

function decodeDescriptorList(value: unknown, what: string): MixDescriptor[] {
  return (asArrayOrNull(value, what) ?? []).map((entry, i) => decodeDescriptorEntry(entry, `${what}[${i}]`));
}

function decodeReplicaDescriptor(value: unknown, what: string): ReplicaDescriptor {
  const map = asMap(value, what);
  const read = fieldReader(map, what);
  return {
    ...decodeNodeIdentity(map, what),
    replicaId: read('ReplicaID', byte),
    envelopeKeys: read('EnvelopeKeys', decodeEpochKeyed),
  };
}

function decodeHashKeyed(value: unknown, what: string): Map<string, Uint8Array> | null {
  const map = asMapOrNull(value, what);
  if (map === null) return null;
  const out = new Map<string, Uint8Array>();
  for (const [k, v] of map) {
    if (!(k instanceof Uint8Array)) {
      throw new ProtocolError(`${what}: expected byte-string keys, got ${describe(k)}`);
    }
    out.set(toHex(k), asBytes(v, `${what} value`));
  }
  return out;
}

function decodeBytesList(value: unknown, what: string): Uint8Array[] | null {
  const list = asArrayOrNull(value, what);
  return list === null ? null : list.map((v, i) => asBytes(v, `${what}[${i}]`));
}

/** Decodes a document map (already CBOR-decoded). */
export function decodePkiDocumentMap(value: unknown): PkiDocument {
  const map = asMap(value, 'PKI document');
  const read = fieldReader(map, 'PKI document');
  const topology = (read('Topology', asArrayOrNull) ?? []).map((layer, i) =>
    decodeDescriptorList(layer, `Topology[${i}]`),
  );
  return {
    epoch: read('Epoch', asUint64),
    genesisEpoch: read('GenesisEpoch', asUint64),
    mu: read('Mu', asFloat),
    lambdaP: read('LambdaP', asFloat),
    lambdaL: read('LambdaL', asFloat),
    lambdaM: read('LambdaM', asFloat),
    lambdaG: read('LambdaG', asFloat),
    lambdaR: read('LambdaR', asFloat),
    topology,
    gatewayNodes: decodeDescriptorList(field(map, 'GatewayNodes'), 'GatewayNodes'),
    serviceNodes: decodeDescriptorList(field(map, 'ServiceNodes'), 'ServiceNodes'),
    storageReplicas: (read('StorageReplicas', asArrayOrNull) ?? []).map((r, i) =>
      decodeReplicaDescriptor(r, `StorageReplicas[${i}]`),
    ),
    configuredReplicaIds: read('ConfiguredReplicaIDs', asBytesOrNull),
    configuredReplicaIdentityKeys: read('ConfiguredReplicaIdentityKeys', decodeBytesList),
    sharedRandomCommit: read('SharedRandomCommit', decodeHashKeyed),
    sharedRandomReveal: read('SharedRandomReveal', decodeHashKeyed),
    sharedRandomValue: read('SharedRandomValue', asBytesOrNull),
    priorSharedRandom: read('PriorSharedRandom', decodeBytesList),
    sphinxGeometryHash: read('SphinxGeometryHash', asBytesOrNull),
    version: read('Version', asText),
    pkiSignatureScheme: read('PKISignatureScheme', asText),
  };
}

/**
 * Decodes the stripped PKI document (`new_pki_document_event.payload`), or the certified bytes that
 * `verifyPkiDocument` returns: both are the CBOR Document map.
 * @throws ProtocolError for anything that is not a well-typed document map.
 */
export function decodePkiDocument(bytes: Uint8Array): PkiDocument {
  return decodePkiDocumentMap(decodeCbor(bytes, 'PKI document'));
}
