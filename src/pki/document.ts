/**
 * The PKI document (`core/pki/document.go`, `descriptor.go`; spec/daemon-semantics.md §8,
 * spec/wire-protocol.md §5.2).
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
  normalize,
  toHex,
} from './cbor.js';

/** The document format version Katzenpost main writes (`DocumentVersion`). */
export const PKI_DOCUMENT_VERSION = 'v1';

export interface MixDescriptor {
  name: string;
  epoch: bigint;
  identityKey: Uint8Array;
  linkKey: Uint8Array;
  /** Epoch → Sphinx public key. */
  mixKeys: Map<bigint, Uint8Array>;
  /** Transport → addresses. */
  addresses: Map<string, string[]>;
  /** Capability → parameters (e.g. `echo` → {endpoint: "+echo"}); null for nodes without services. */
  kaetzchen: Map<string, Map<string, unknown>> | null;
  kaetzchenAdvertizedData: Map<string, Map<string, unknown>> | null;
  isGatewayNode: boolean;
  isServiceNode: boolean;
  loadWeight: number;
  authenticationType: string;
  version: string;
}

export interface ReplicaDescriptor {
  name: string;
  replicaId: number;
  epoch: bigint;
  identityKey: Uint8Array;
  linkKey: Uint8Array;
  /** Replica epoch → MKEM public key. */
  envelopeKeys: Map<bigint, Uint8Array>;
  addresses: Map<string, string[]>;
}

export interface PkiDocument {
  epoch: bigint;
  genesisEpoch: bigint;
  /** Rates in events per millisecond. */
  mu: number;
  lambdaP: number;
  lambdaL: number;
  lambdaM: number;
  lambdaG: number;
  lambdaR: number;
  /** One list of mixes per layer. */
  topology: MixDescriptor[][];
  gatewayNodes: MixDescriptor[];
  serviceNodes: MixDescriptor[];
  storageReplicas: ReplicaDescriptor[];
  /** `ConfiguredReplicaIDs` (a Go []uint8, so a byte string); null when absent. */
  configuredReplicaIds: Uint8Array | null;
  configuredReplicaIdentityKeys: Uint8Array[] | null;
  /** Keyed by the lowercase hex of the 32-byte authority key hash; null when absent. */
  sharedRandomCommit: Map<string, Uint8Array> | null;
  sharedRandomReveal: Map<string, Uint8Array> | null;
  sharedRandomValue: Uint8Array | null;
  priorSharedRandom: Uint8Array[] | null;
  sphinxGeometryHash: Uint8Array | null;
  version: string;
  pkiSignatureScheme: string;
}

function decodeAddresses(value: unknown, what: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const map = asMapOrNull(value, what);
  if (map === null) return out;
  for (const [transport, list] of map) {
    if (typeof transport !== 'string') {
      throw new ProtocolError(`${what}: expected text keys, got ${describe(transport)}`);
    }
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
  for (const [capability, params] of map) {
    if (typeof capability !== 'string') {
      throw new ProtocolError(`${what}: expected text keys, got ${describe(capability)}`);
    }
    const inner = new Map<string, unknown>();
    const paramMap = asMapOrNull(params, `${what}[${capability}]`);
    if (paramMap !== null) {
      for (const [k, v] of paramMap) {
        if (typeof k !== 'string') {
          throw new ProtocolError(`${what}[${capability}]: expected text keys, got ${describe(k)}`);
        }
        inner.set(k, normalize(v));
      }
    }
    out.set(capability, inner);
  }
  return out;
}

function decodeMixDescriptorMap(map: CborMap, what: string): MixDescriptor {
  return {
    name: asText(field(map, 'Name'), `${what} Name`),
    epoch: asUint64(field(map, 'Epoch'), `${what} Epoch`),
    identityKey: asBytesOrNull(field(map, 'IdentityKey'), `${what} IdentityKey`) ?? new Uint8Array(0),
    linkKey: asBytesOrNull(field(map, 'LinkKey'), `${what} LinkKey`) ?? new Uint8Array(0),
    mixKeys: decodeEpochKeyed(field(map, 'MixKeys'), `${what} MixKeys`),
    addresses: decodeAddresses(field(map, 'Addresses'), `${what} Addresses`),
    kaetzchen: decodeParameterMaps(field(map, 'Kaetzchen'), `${what} Kaetzchen`),
    kaetzchenAdvertizedData: decodeParameterMaps(
      field(map, 'KaetzchenAdvertizedData'),
      `${what} KaetzchenAdvertizedData`,
    ),
    isGatewayNode: asBool(field(map, 'IsGatewayNode'), `${what} IsGatewayNode`),
    isServiceNode: asBool(field(map, 'IsServiceNode'), `${what} IsServiceNode`),
    loadWeight: asUintSmall(field(map, 'LoadWeight'), `${what} LoadWeight`, 0xff),
    authenticationType: asText(field(map, 'AuthenticationType'), `${what} AuthenticationType`),
    version: asText(field(map, 'Version'), `${what} Version`),
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
  return {
    name: asText(field(map, 'Name'), `${what} Name`),
    replicaId: asUintSmall(field(map, 'ReplicaID'), `${what} ReplicaID`, 0xff),
    epoch: asUint64(field(map, 'Epoch'), `${what} Epoch`),
    identityKey: asBytesOrNull(field(map, 'IdentityKey'), `${what} IdentityKey`) ?? new Uint8Array(0),
    linkKey: asBytesOrNull(field(map, 'LinkKey'), `${what} LinkKey`) ?? new Uint8Array(0),
    envelopeKeys: decodeEpochKeyed(field(map, 'EnvelopeKeys'), `${what} EnvelopeKeys`),
    addresses: decodeAddresses(field(map, 'Addresses'), `${what} Addresses`),
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
  const topology = (asArrayOrNull(field(map, 'Topology'), 'PKI document Topology') ?? []).map((layer, i) =>
    decodeDescriptorList(layer, `Topology[${i}]`),
  );
  return {
    epoch: asUint64(field(map, 'Epoch'), 'PKI document Epoch'),
    genesisEpoch: asUint64(field(map, 'GenesisEpoch'), 'PKI document GenesisEpoch'),
    mu: asFloat(field(map, 'Mu'), 'PKI document Mu'),
    lambdaP: asFloat(field(map, 'LambdaP'), 'PKI document LambdaP'),
    lambdaL: asFloat(field(map, 'LambdaL'), 'PKI document LambdaL'),
    lambdaM: asFloat(field(map, 'LambdaM'), 'PKI document LambdaM'),
    lambdaG: asFloat(field(map, 'LambdaG'), 'PKI document LambdaG'),
    lambdaR: asFloat(field(map, 'LambdaR'), 'PKI document LambdaR'),
    topology,
    gatewayNodes: decodeDescriptorList(field(map, 'GatewayNodes'), 'GatewayNodes'),
    serviceNodes: decodeDescriptorList(field(map, 'ServiceNodes'), 'ServiceNodes'),
    storageReplicas: (asArrayOrNull(field(map, 'StorageReplicas'), 'PKI document StorageReplicas') ?? []).map(
      (r, i) => decodeReplicaDescriptor(r, `StorageReplicas[${i}]`),
    ),
    configuredReplicaIds: asBytesOrNull(
      field(map, 'ConfiguredReplicaIDs'),
      'PKI document ConfiguredReplicaIDs',
    ),
    configuredReplicaIdentityKeys: decodeBytesList(
      field(map, 'ConfiguredReplicaIdentityKeys'),
      'PKI document ConfiguredReplicaIdentityKeys',
    ),
    sharedRandomCommit: decodeHashKeyed(field(map, 'SharedRandomCommit'), 'PKI document SharedRandomCommit'),
    sharedRandomReveal: decodeHashKeyed(field(map, 'SharedRandomReveal'), 'PKI document SharedRandomReveal'),
    sharedRandomValue: asBytesOrNull(field(map, 'SharedRandomValue'), 'PKI document SharedRandomValue'),
    priorSharedRandom: decodeBytesList(field(map, 'PriorSharedRandom'), 'PKI document PriorSharedRandom'),
    sphinxGeometryHash: asBytesOrNull(field(map, 'SphinxGeometryHash'), 'PKI document SphinxGeometryHash'),
    version: asText(field(map, 'Version'), 'PKI document Version'),
    pkiSignatureScheme: asText(field(map, 'PKISignatureScheme'), 'PKI document PKISignatureScheme'),
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
