/**
 * The devnet's PKI document, encoded the way Katzenpost's authorities encode `core/pki.Document`
 * (katzenpost core/pki/document.go, descriptor.go): a map keyed by Go field names, with each
 * MixDescriptor in `Topology`, `GatewayNodes` and `ServiceNodes` as a byte string holding its own canonical
 * CBOR (Go's `MarshalBinary`), and `StorageReplicas` as plain maps.
 *
 * The node list is data: pass the nodes the devnet runs, or take `createDevnetNodeList()` (docker's shape:
 * 3 mix layers of 1, 1 gateway, 3 service nodes offering `echo`, `http`, `courier` and `testdest`, 5 replicas).
 * Keys not given are filled with bytes of the real sizes, reproducible from `seed`; nothing in the devnet
 * verifies them, but the devnet must pass the keys it really uses (replica envelope keys, for example) when it
 * needs them.
 *
 * Defaults follow what a real network publishes (test/fixtures/kpclientd/01-handshake.json, kpclientd v0.0.99):
 * mixes, gateways and service nodes list their address under the transport `tcp4`, replicas under `tcp`
 * (both with `tcp://` URLs); a service node offers `{echo: +echo, http: +http, courier: courier, testdest:
 * +testdest}` and, when it runs a courier, advertises the courier's X-Wing link key as
 * `KaetzchenAdvertizedData = {courier: {linkPublicKey: "-----BEGIN XWING PUBLIC KEY-----…"}}`.
 */
import { blake2b } from '@noble/hashes/blake2.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { type DevnetAuthority, publicKeyPem } from './authorities.js';
import { type CborEncoding, type CborItem, cbor, encodeCbor } from './cbor.js';
import { signCertificate } from './certificate.js';
import { canonicalSchemeName, sum256 } from './keys.js';

/** `DocumentVersion` in Katzenpost main. */
export const DOCUMENT_VERSION = 'v1';
/** Mix keys a node publishes: epochs e, e+1, e+2 (`constants.NumMixKeys`). */
const NUM_MIX_KEYS = 3;

/** Sizes of the keys Katzenpost's docker network uses, for placeholders. */
export const DEVNET_KEY_SIZES = {
  /** Node identity key: the PKI signature scheme's public key. */
  identity: { Ed25519: 32, 'Falcon-padded-512-Ed25519': 929 },
  /** X-Wing link key (wire KEM `xwing`), also the courier plugin's advertised link key. */
  link: 1216,
  /** X25519 Sphinx mix key. */
  mix: 32,
  /** CTIDH1024-X25519 replica envelope key (MKEM). */
  envelope: 160,
} as const;

/** A value in a Kaetzchen parameter map (Go `interface{}`). */
export type KaetzchenValue = string | number | bigint | boolean | Uint8Array | null | KaetzchenValue[];
export type KaetzchenMap = Record<string, Record<string, KaetzchenValue>>;

export type EpochKeyed = Map<bigint, Uint8Array> | readonly (readonly [bigint | number, Uint8Array])[];

export interface DevnetNodeSpec {
  name: string;
  identityKey?: Uint8Array;
  linkKey?: Uint8Array;
  /** Default: placeholders for the document epoch and the next two. */
  mixKeys?: EpochKeyed;
  /** Transport → URLs. Default: `{tcp4: ['tcp://127.0.0.1:<port>']}`, as a real node publishes. */
  addresses?: Record<string, string[]>;
  /**
   * Service nodes only (others must leave it unset: Go rejects Kaetzchen on a mix). Default for a service
   * node: `DEFAULT_SERVICE_KAETZCHEN` (echo, http, courier, testdest, as on a real service node). null → no
   * services.
   */
  kaetzchen?: KaetzchenMap | null;
  /**
   * What the node's plugins advertise. Default for a service node whose Kaetzchen include `courier`:
   * `{courier: {linkPublicKey: <X-Wing PEM of courierLinkKey>}}`, as the real courier plugin advertises;
   * otherwise null.
   */
  kaetzchenAdvertizedData?: KaetzchenMap | null;
  /**
   * The courier plugin's X-Wing link public key (1216 bytes), for the default `KaetzchenAdvertizedData`.
   * Default: a placeholder of that size, reproducible from `seed`.
   */
  courierLinkKey?: Uint8Array;
  loadWeight?: number;
  /** Default "tofu" for gateways (what a gateway publishes), "" otherwise. */
  authenticationType?: string;
  version?: string;
  /** Default: the document epoch. */
  epoch?: bigint | number;
}

export interface DevnetReplicaSpec {
  name: string;
  replicaId: number;
  identityKey?: Uint8Array;
  linkKey?: Uint8Array;
  /** Replica epoch → MKEM public key. Default: placeholders for `replicaEpoch` and the next one. */
  envelopeKeys?: EpochKeyed;
  /** Transport → URLs. Default: `{tcp: ['tcp://127.0.0.1:<port>']}` (replicas use `tcp`, not `tcp4`). */
  addresses?: Record<string, string[]>;
  epoch?: bigint | number;
}

export interface DevnetNodeList {
  /** One list per mix layer. */
  mixes: DevnetNodeSpec[][];
  gateways: DevnetNodeSpec[];
  services: DevnetNodeSpec[];
  replicas: DevnetReplicaSpec[];
}

export interface DevnetPkiDocumentParams extends DevnetNodeList {
  epoch: bigint | number;
  /** Default: `epoch`. */
  genesisEpoch?: bigint | number;
  /** Rates in events per ms. Defaults: docker's (Mu 0.005, LambdaP 0.001, LambdaL 0.0005, LambdaM 0.0005, LambdaG 0, LambdaR 0.005). */
  mu?: number;
  lambdaP?: number;
  lambdaL?: number;
  lambdaM?: number;
  lambdaG?: number;
  lambdaR?: number;
  /** PKISignatureScheme. Default: the authorities' scheme, else `Ed25519`. */
  pkiSignatureScheme?: string;
  /** Used for PKISignatureScheme, the shared random value and (optionally) signed SRV commits/reveals. */
  authorities?: readonly DevnetAuthority[];
  /** BLAKE2b-256 of the Sphinx geometry's canonical CBOR. Pass the devnet's; default is a placeholder. */
  sphinxGeometryHash?: Uint8Array;
  /** Default: computed as the authorities compute it, from per-authority reveals derived from `seed`. */
  sharedRandomValue?: Uint8Array;
  /** Default: `[srv, srv]` (what a genesis consensus carries). */
  priorSharedRandom?: Uint8Array[];
  /**
   * The final consensus carries no SRV commits or reveals (null maps). Set this to include signed ones from
   * every authority, as the authorities' intermediate certificates do.
   */
  includeSharedRandomCommits?: boolean;
  /** Replica epoch for default envelope keys. Default: epoch × 20 min / 7 days. */
  replicaEpoch?: bigint | number;
  /** Document format version. Default "v1". */
  version?: string;
  /** Seed for placeholder keys and SRV reveals; random when absent. */
  seed?: Uint8Array;
  /** `canonical` (what gets signed, and the handshake's event copy) or `go-default` (later event copies). */
  encoding?: CborEncoding;
}

const enc = new TextEncoder();

function derive(seed: Uint8Array, label: string, length: number): Uint8Array {
  return hkdf(blake2b, seed, enc.encode('katzenpost-ts devnet document v1'), enc.encode(label), length);
}

function epochKeyed(keys: EpochKeyed): CborItem {
  const entries = keys instanceof Map ? [...keys] : keys;
  return cbor.map(entries.map(([e, k]) => [cbor.uint(e), cbor.bytes(k)] as const));
}

function addressesItem(addresses: Record<string, string[]>): CborItem {
  return cbor.map(
    Object.entries(addresses).map(
      ([t, urls]) => [cbor.text(t), cbor.array(urls.map((u) => cbor.text(u)))] as const,
    ),
  );
}

function kaetzchenValue(value: KaetzchenValue): CborItem {
  if (value === null) return cbor.null();
  if (typeof value === 'string') return cbor.text(value);
  if (typeof value === 'boolean') return cbor.bool(value);
  if (typeof value === 'bigint') return cbor.uint(value);
  if (typeof value === 'number') {
    return Number.isInteger(value) && value >= 0 ? cbor.uint(value) : cbor.float64(value);
  }
  if (value instanceof Uint8Array) return cbor.bytes(value);
  return cbor.array(value.map(kaetzchenValue));
}

function kaetzchenItem(map: KaetzchenMap | null | undefined): CborItem {
  if (map == null) return cbor.null();
  return cbor.map(
    Object.entries(map).map(
      ([capability, params]) =>
        [
          cbor.text(capability),
          cbor.map(Object.entries(params).map(([k, v]) => [cbor.text(k), kaetzchenValue(v)] as const)),
        ] as const,
    ),
  );
}

type NodeRole = 'mix' | 'gateway' | 'service';

/**
 * The Kaetzchen a real service node publishes (captured from the kpclientd v0.0.99 testnet): the built-in
 * `echo` and `testdest`, and the CBOR plugins `courier` and `http`. The descriptor's canonical CBOR orders
 * them length-first (echo, http, courier, testdest), as Go does.
 */
export const DEFAULT_SERVICE_KAETZCHEN: Readonly<KaetzchenMap> = Object.freeze({
  echo: Object.freeze({ endpoint: '+echo' }),
  http: Object.freeze({ endpoint: '+http' }),
  courier: Object.freeze({ endpoint: 'courier' }),
  testdest: Object.freeze({ endpoint: '+testdest' }),
});

/** The wire KEM whose PEM type names the courier's advertised link key (`XWING PUBLIC KEY`). */
const COURIER_LINK_KEM = 'xwing';

interface Context {
  epoch: bigint;
  seed: Uint8Array;
  identitySize: number;
  replicaEpoch: bigint;
}

/** `MixDescriptor.MarshalBinary()`: canonical CBOR of the descriptor struct. */
function mixDescriptorBytes(node: DevnetNodeSpec, role: NodeRole, ctx: Context, port: number): Uint8Array {
  if (role !== 'service' && node.kaetzchen != null) {
    throw new RangeError(`devnet: ${node.name} is not a service node but has Kaetzchen`);
  }
  const epoch = node.epoch === undefined ? ctx.epoch : BigInt(node.epoch);
  const mixKeys: EpochKeyed =
    node.mixKeys ??
    Array.from(
      { length: NUM_MIX_KEYS },
      (_, i) =>
        [
          ctx.epoch + BigInt(i),
          derive(ctx.seed, `node/${node.name}/mix/${i}`, DEVNET_KEY_SIZES.mix),
        ] as const,
    );
  const kaetzchen =
    role === 'service' ? (node.kaetzchen === undefined ? DEFAULT_SERVICE_KAETZCHEN : node.kaetzchen) : null;
  const advertized =
    node.kaetzchenAdvertizedData !== undefined
      ? node.kaetzchenAdvertizedData
      : kaetzchen != null && Object.hasOwn(kaetzchen, 'courier')
        ? {
            courier: {
              linkPublicKey: publicKeyPem(
                COURIER_LINK_KEM,
                node.courierLinkKey ??
                  derive(ctx.seed, `node/${node.name}/courier/link`, DEVNET_KEY_SIZES.link),
              ),
            },
          }
        : null;
  return encodeCbor(
    cbor.struct([
      ['Name', cbor.text(node.name)],
      ['Epoch', cbor.uint(epoch)],
      [
        'IdentityKey',
        cbor.bytes(node.identityKey ?? derive(ctx.seed, `node/${node.name}/identity`, ctx.identitySize)),
      ],
      [
        'LinkKey',
        cbor.bytes(node.linkKey ?? derive(ctx.seed, `node/${node.name}/link`, DEVNET_KEY_SIZES.link)),
      ],
      ['MixKeys', epochKeyed(mixKeys)],
      ['Addresses', addressesItem(node.addresses ?? { tcp4: [`tcp://127.0.0.1:${port}`] })],
      ['Kaetzchen', kaetzchenItem(kaetzchen)],
      ['KaetzchenAdvertizedData', kaetzchenItem(advertized)],
      ['IsGatewayNode', cbor.bool(role === 'gateway')],
      ['IsServiceNode', cbor.bool(role === 'service')],
      ['LoadWeight', cbor.uint(node.loadWeight ?? 0)],
      ['AuthenticationType', cbor.text(node.authenticationType ?? (role === 'gateway' ? 'tofu' : ''))],
      ['Version', cbor.text(node.version ?? '')],
    ]),
    'canonical',
  );
}

interface ResolvedReplica {
  spec: DevnetReplicaSpec;
  identityKey: Uint8Array;
}

function replicaItem(r: ResolvedReplica, ctx: Context, port: number): CborItem {
  const { spec } = r;
  const envelopeKeys: EpochKeyed =
    spec.envelopeKeys ??
    [0n, 1n].map(
      (i) =>
        [
          ctx.replicaEpoch + i,
          derive(ctx.seed, `replica/${spec.name}/envelope/${i}`, DEVNET_KEY_SIZES.envelope),
        ] as const,
    );
  return cbor.struct([
    ['Name', cbor.text(spec.name)],
    ['ReplicaID', cbor.uint(spec.replicaId)],
    ['Epoch', cbor.uint(spec.epoch === undefined ? ctx.epoch : BigInt(spec.epoch))],
    ['IdentityKey', cbor.bytes(r.identityKey)],
    [
      'LinkKey',
      cbor.bytes(spec.linkKey ?? derive(ctx.seed, `replica/${spec.name}/link`, DEVNET_KEY_SIZES.link)),
    ],
    ['EnvelopeKeys', epochKeyed(envelopeKeys)],
    ['Addresses', addressesItem(spec.addresses ?? { tcp: [`tcp://127.0.0.1:${port}`] })],
  ]);
}

function be64(n: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n);
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** An authority's SRV reveal (40 bytes: BE64(epoch) ‖ BLAKE2b-256(random)) and commit (BE64(epoch) ‖ BLAKE2b-256(reveal)). */
export function sharedRandomCommitReveal(
  epoch: bigint,
  random32: Uint8Array,
): { commit: Uint8Array; reveal: Uint8Array } {
  const reveal = new Uint8Array(40);
  reveal.set(be64(epoch));
  reveal.set(sum256(random32), 8);
  const commit = new Uint8Array(40);
  commit.set(be64(epoch));
  commit.set(sum256(reveal), 8);
  return { commit, reveal };
}

/**
 * The authorities' shared random value: BLAKE2b-256("shared-random" ‖ BE64(epoch) ‖ for each reveal, sorted by
 * reveal bytes descending, authorityKeyHash ‖ reveal ‖ previous SRV (or 32 zero bytes)).
 */
export function computeSharedRandomValue(
  epoch: bigint,
  reveals: readonly { authorityKeyHash: Uint8Array; reveal: Uint8Array }[],
  previous?: Uint8Array,
): Uint8Array {
  const sorted = [...reveals].sort((a, b) => compareBytes(b.reveal, a.reveal));
  const parts = [enc.encode('shared-random'), be64(epoch)];
  for (const r of sorted) parts.push(r.authorityKeyHash, r.reveal);
  parts.push(previous ?? new Uint8Array(32));
  const total = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    total.set(p, offset);
    offset += p.length;
  }
  return sum256(total);
}

/** Builds the CBOR Document (the bytes that get certified, or the stripped event payload). */
export function buildPkiDocument(params: DevnetPkiDocumentParams): Uint8Array {
  return encodeCbor(documentItem(params), params.encoding ?? 'canonical');
}

function documentItem(params: DevnetPkiDocumentParams): CborItem {
  const epoch = BigInt(params.epoch);
  const authorities = params.authorities ?? [];
  const scheme = canonicalSchemeName(params.pkiSignatureScheme ?? authorities[0]?.scheme ?? 'Ed25519');
  const seed = params.seed ?? crypto.getRandomValues(new Uint8Array(32));
  const ctx: Context = {
    epoch,
    seed,
    identitySize: DEVNET_KEY_SIZES.identity[scheme],
    replicaEpoch:
      params.replicaEpoch === undefined
        ? (epoch * 20n * 60n) / (7n * 24n * 3600n)
        : BigInt(params.replicaEpoch),
  };
  if (params.mixes.length === 0 || params.mixes.some((layer) => layer.length === 0)) {
    throw new RangeError('devnet: the topology needs at least one layer and one mix per layer');
  }

  let port = 30000;
  const topology = params.mixes.map((layer) =>
    cbor.array(layer.map((n) => cbor.bytes(mixDescriptorBytes(n, 'mix', ctx, port++)))),
  );
  const gateways = params.gateways.map((n) => cbor.bytes(mixDescriptorBytes(n, 'gateway', ctx, port++)));
  const services = params.services.map((n) => cbor.bytes(mixDescriptorBytes(n, 'service', ctx, port++)));

  const replicas: ResolvedReplica[] = params.replicas.map((spec) => ({
    spec,
    identityKey: spec.identityKey ?? derive(seed, `replica/${spec.name}/identity`, ctx.identitySize),
  }));
  const replicaItems = replicas.map((r) => replicaItem(r, ctx, port++));
  // ConfiguredReplicaIDs/IdentityKeys: sorted by identity key, as the authorities do; omitted when empty.
  const configured = [...replicas].sort((a, b) => compareBytes(a.identityKey, b.identityKey));

  // Shared random: per-authority reveals derived from the seed.
  const srvInputs = authorities.map((a, i) => {
    const random = derive(seed, `srv/${epoch}/${i}`, 32);
    return { authority: a, ...sharedRandomCommitReveal(epoch, random) };
  });
  const srv =
    params.sharedRandomValue ??
    computeSharedRandomValue(
      epoch,
      srvInputs.map((s) => ({ authorityKeyHash: sum256(s.authority.publicKey), reveal: s.reveal })),
    );
  let commits: CborItem = cbor.null();
  let reveals: CborItem = cbor.null();
  if (params.includeSharedRandomCommits && srvInputs.length > 0) {
    const signed = (data: Uint8Array, a: DevnetAuthority) =>
      signCertificate(data, [a], { expiration: epoch });
    commits = cbor.map(
      srvInputs.map((s) => [
        cbor.bytes(sum256(s.authority.publicKey)),
        cbor.bytes(signed(s.commit, s.authority)),
      ]),
    );
    reveals = cbor.map(
      srvInputs.map((s) => [
        cbor.bytes(sum256(s.authority.publicKey)),
        cbor.bytes(signed(s.reveal, s.authority)),
      ]),
    );
  }

  return cbor.struct([
    ['Epoch', cbor.uint(epoch)],
    ['GenesisEpoch', cbor.uint(params.genesisEpoch ?? epoch)],
    ['Mu', cbor.float64(params.mu ?? 0.005)],
    ['LambdaP', cbor.float64(params.lambdaP ?? 0.001)],
    ['LambdaL', cbor.float64(params.lambdaL ?? 0.0005)],
    ['LambdaM', cbor.float64(params.lambdaM ?? 0.0005)],
    ['LambdaG', cbor.float64(params.lambdaG ?? 0)],
    ['LambdaR', cbor.float64(params.lambdaR ?? 0.005)],
    ['Topology', cbor.array(topology)],
    ['GatewayNodes', cbor.array(gateways)],
    ['ServiceNodes', cbor.array(services)],
    ['StorageReplicas', cbor.array(replicaItems)],
    [
      'ConfiguredReplicaIDs',
      configured.length === 0
        ? undefined
        : cbor.bytes(Uint8Array.from(configured.map((r) => r.spec.replicaId))),
    ],
    [
      'ConfiguredReplicaIdentityKeys',
      configured.length === 0 ? undefined : cbor.array(configured.map((r) => cbor.bytes(r.identityKey))),
    ],
    ['SharedRandomCommit', commits],
    ['SharedRandomReveal', reveals],
    ['SharedRandomValue', cbor.bytes(srv)],
    ['PriorSharedRandom', cbor.array((params.priorSharedRandom ?? [srv, srv]).map((p) => cbor.bytes(p)))],
    [
      'SphinxGeometryHash',
      cbor.bytes(params.sphinxGeometryHash ?? sum256(enc.encode('devnet: no Sphinx geometry given'))),
    ],
    ['Version', cbor.text(params.version ?? DOCUMENT_VERSION)],
    ['PKISignatureScheme', cbor.text(scheme)],
  ]);
}

export interface DevnetNodeListOptions {
  mixLayers?: number;
  mixesPerLayer?: number;
  gateways?: number;
  services?: number;
  replicas?: number;
}

/**
 * Docker's network shape by default: 3 layers × 1 mix, 1 gateway, 3 service nodes (echo, http, courier,
 * testdest), 5 replicas.
 */
export function createDevnetNodeList(options: DevnetNodeListOptions = {}): DevnetNodeList {
  const layers = options.mixLayers ?? 3;
  const perLayer = options.mixesPerLayer ?? 1;
  const replicaCount = options.replicas ?? 5;
  if (replicaCount > 256) throw new RangeError('devnet: at most 256 replicas (ReplicaID is a uint8)');
  let mixNumber = 1;
  return {
    mixes: Array.from({ length: layers }, () =>
      Array.from({ length: perLayer }, () => ({ name: `mix${mixNumber++}` })),
    ),
    gateways: Array.from({ length: options.gateways ?? 1 }, (_, i) => ({ name: `gateway${i + 1}` })),
    services: Array.from({ length: options.services ?? 3 }, (_, i) => ({ name: `servicenode${i + 1}` })),
    replicas: Array.from({ length: replicaCount }, (_, i) => ({ name: `replica${i + 1}`, replicaId: i })),
  };
}

export interface SignedPkiDocument {
  epoch: bigint;
  /** `get_pki_document_reply.payload`: the certificate with every authority's signature. */
  signed: Uint8Array;
  /** `new_pki_document_event.payload` as the daemon's handshake sends it (canonical; = the certified bytes). */
  stripped: Uint8Array;
  /** The same document in Go's default encoding, as later event broadcasts carry it. */
  strippedBroadcast: Uint8Array;
}

export interface SignedPkiDocumentOptions {
  /** Who signs; default all `params.authorities`. A subset makes a document below threshold. */
  signers?: readonly DevnetAuthority[];
  /** Default epoch + 5, as `MarshalCertificate` sets it. */
  expiration?: bigint | number;
}

/**
 * Builds the document and certifies it: returns the signed certificate for `get_pki_document_reply` and the
 * stripped document for `new_pki_document_event` (both encodings of one document). `params.authorities` is
 * required.
 */
export function buildSignedPkiDocument(
  params: DevnetPkiDocumentParams & { authorities: readonly DevnetAuthority[] },
  options: SignedPkiDocumentOptions = {},
): SignedPkiDocument {
  if (params.authorities.length === 0) throw new RangeError('devnet: a signed document needs authorities');
  const item = documentItem(params);
  const certified = encodeCbor(item, 'canonical');
  const epoch = BigInt(params.epoch);
  const signed = signCertificate(certified, options.signers ?? params.authorities, {
    expiration: options.expiration ?? epoch + 5n,
    keyType: canonicalSchemeName(params.pkiSignatureScheme ?? params.authorities[0]!.scheme),
  });
  return {
    epoch,
    signed,
    stripped: certified,
    strippedBroadcast: encodeCbor(item, 'go-default'),
  };
}
