import { blake2b } from '@noble/hashes/blake2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import {
  buildPkiDocument,
  buildSignedPkiDocument,
  cbor,
  createAuthoritySet,
  createDevnetNodeList,
  encodeCbor,
} from '../../../src/devnet/pki/index.js';
import { ProtocolError } from '../../../src/errors.js';
import {
  decodeCertificate,
  decodeMixDescriptor,
  decodePkiDocument,
  type PkiDocument,
  verifyPkiDocument,
} from '../../../src/pki/index.js';
import { EPOCH, loadGoSignedFixture } from './helpers.js';

const authorities = createAuthoritySet({ count: 3, scheme: 'Ed25519', seed: new Uint8Array(32).fill(3) });
const envelopeKey = new Uint8Array(160).fill(0xee);

function sampleParams() {
  const nodes = createDevnetNodeList();
  nodes.replicas[0] = { ...nodes.replicas[0]!, envelopeKeys: [[42n, envelopeKey]] };
  nodes.services.push({
    name: 'plain-service',
    kaetzchen: { testdest: { endpoint: '+testdest', weight: 3, ratio: 0.25, blob: Uint8Array.of(1, 2) } },
  });
  return {
    epoch: EPOCH,
    genesisEpoch: EPOCH - 7n,
    authorities,
    seed: new Uint8Array(32).fill(5),
    sphinxGeometryHash: new Uint8Array(32).fill(0x5a),
    ...nodes,
  };
}

/** Every byte string in a decoded value, to check none is a Node Buffer. */
function allBytes(value: unknown, out: Uint8Array[] = []): Uint8Array[] {
  if (value instanceof Uint8Array) out.push(value);
  else if (Array.isArray(value)) for (const v of value) allBytes(v, out);
  else if (value instanceof Map) for (const [k, v] of value) allBytes([k, v], out);
  else if (value !== null && typeof value === 'object')
    for (const v of Object.values(value)) allBytes(v, out);
  return out;
}

describe('decodePkiDocument', () => {
  const built = buildSignedPkiDocument(sampleParams());
  const doc: PkiDocument = decodePkiDocument(built.stripped);

  it('round-trips a devnet document: the scalar fields come back as built', () => {
    expect(doc.epoch).toBe(EPOCH);
    expect(doc.genesisEpoch).toBe(EPOCH - 7n);
    expect([doc.mu, doc.lambdaP, doc.lambdaL, doc.lambdaM, doc.lambdaG, doc.lambdaR]).toEqual([
      0.005, 0.001, 0.0005, 0.0005, 0, 0.005,
    ]);
    expect(doc.version).toBe('v1');
    expect(doc.pkiSignatureScheme).toBe('Ed25519');
    expect(doc.sphinxGeometryHash).toEqual(new Uint8Array(32).fill(0x5a));
    expect(doc.sharedRandomValue?.length).toBe(32);
    expect(doc.priorSharedRandom).toEqual([doc.sharedRandomValue, doc.sharedRandomValue]);
    expect(doc.sharedRandomCommit).toBeNull();
  });

  it('round-trips the node lists with their roles, keys and services', () => {
    expect(doc.topology.map((layer) => layer.map((m) => m.name))).toEqual([['mix1'], ['mix2'], ['mix3']]);
    expect(doc.gatewayNodes.map((g) => [g.name, g.isGatewayNode, g.authenticationType])).toEqual([
      ['gateway1', true, 'tofu'],
    ]);
    expect(doc.serviceNodes.map((s) => s.name)).toEqual([
      'servicenode1',
      'servicenode2',
      'servicenode3',
      'plain-service',
    ]);
    const s1 = doc.serviceNodes[0]!;
    expect(s1.isServiceNode).toBe(true);
    // The real service node's set, in the descriptor's canonical (length-first) order.
    expect([...(s1.kaetzchen?.entries() ?? [])].map(([k, v]) => [k, v.get('endpoint')])).toEqual([
      ['echo', '+echo'],
      ['http', '+http'],
      ['courier', 'courier'],
      ['testdest', '+testdest'],
    ]);
    expect(s1.identityKey.length).toBe(32);
    expect(s1.linkKey.length).toBe(1216);
    expect([...s1.mixKeys.keys()]).toEqual([EPOCH, EPOCH + 1n, EPOCH + 2n]);
    // Mixes, gateways and service nodes publish "tcp4" (with tcp:// URLs), replicas "tcp", as a real network.
    for (const n of [...doc.topology.flat(), ...doc.gatewayNodes, ...doc.serviceNodes]) {
      expect([...n.addresses.keys()]).toEqual(['tcp4']);
      expect(n.addresses.get('tcp4')?.[0]).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    }
    for (const r of doc.storageReplicas) expect([...r.addresses.keys()]).toEqual(['tcp']);
    expect(doc.topology[0]![0]!.kaetzchen).toBeNull();
    const params = doc.serviceNodes[3]!.kaetzchen?.get('testdest');
    expect(params?.get('weight')).toBe(3);
    expect(params?.get('ratio')).toBe(0.25);
    expect(params?.get('blob')).toEqual(Uint8Array.of(1, 2));
  });

  it("advertises each courier's X-Wing link key (a 1216-byte placeholder, or the one given) and nothing else", () => {
    const pem = (n: { kaetzchenAdvertizedData: Map<string, Map<string, unknown>> | null }) =>
      n.kaetzchenAdvertizedData?.get('courier')?.get('linkPublicKey') as string | undefined;
    const keyOf = (text: string) => {
      const lines = text.trimEnd().split('\n');
      expect(lines[0]).toBe('-----BEGIN XWING PUBLIC KEY-----');
      expect(lines.at(-1)).toBe('-----END XWING PUBLIC KEY-----');
      expect(lines.slice(1, -2).every((l) => l.length === 64)).toBe(true);
      return new Uint8Array(Buffer.from(lines.slice(1, -1).join(''), 'base64'));
    };
    const services = doc.serviceNodes.slice(0, 3);
    for (const s of services) {
      expect([...(s.kaetzchenAdvertizedData?.keys() ?? [])]).toEqual(['courier']);
      expect(keyOf(pem(s)!).length).toBe(1216);
    }
    expect(new Set(services.map(pem)).size).toBe(3);
    // A service node without a courier advertises nothing; neither do mixes and gateways.
    expect(doc.serviceNodes[3]!.kaetzchenAdvertizedData).toBeNull();
    expect(doc.topology[0]![0]!.kaetzchenAdvertizedData).toBeNull();
    expect(doc.gatewayNodes[0]!.kaetzchenAdvertizedData).toBeNull();
    // Reproducible from the seed; a given key and explicit data are used as they are.
    expect(pem(decodePkiDocument(buildPkiDocument(sampleParams())).serviceNodes[0]!)).toBe(pem(services[0]!));
    const given = new Uint8Array(1216).fill(7);
    const nodes = createDevnetNodeList({ services: 2 });
    nodes.services[0] = { ...nodes.services[0]!, courierLinkKey: given };
    nodes.services[1] = { ...nodes.services[1]!, kaetzchenAdvertizedData: null };
    const custom = decodePkiDocument(buildPkiDocument({ epoch: EPOCH, seed: new Uint8Array(32), ...nodes }));
    expect(keyOf(pem(custom.serviceNodes[0]!)!)).toEqual(given);
    expect(custom.serviceNodes[1]!.kaetzchenAdvertizedData).toBeNull();
  });

  it('round-trips storage replicas with integer-keyed envelope keys and the configured replica list', () => {
    expect(doc.storageReplicas.map((r) => [r.name, r.replicaId])).toEqual([
      ['replica1', 0],
      ['replica2', 1],
      ['replica3', 2],
      ['replica4', 3],
      ['replica5', 4],
    ]);
    const r1 = doc.storageReplicas[0]!;
    expect([...r1.envelopeKeys]).toEqual([[42n, envelopeKey]]);
    expect(doc.storageReplicas[1]!.envelopeKeys.size).toBe(2);
    expect(doc.configuredReplicaIds?.length).toBe(5);
    const byKey = doc.configuredReplicaIdentityKeys!.map(bytesToHex);
    expect([...byKey].sort()).toEqual(byKey); // sorted by identity key, as the authorities do
    const ids = [...doc.configuredReplicaIds!];
    byKey.forEach((k, i) => {
      const r = doc.storageReplicas.find((x) => bytesToHex(x.identityKey) === k)!;
      expect(r.replicaId).toBe(ids[i]);
    });
  });

  it('decodes the canonical and the Go-default encodings to the same document', () => {
    expect(bytesToHex(built.strippedBroadcast)).not.toBe(bytesToHex(built.stripped));
    expect(decodePkiDocument(built.strippedBroadcast)).toEqual(doc);
  });

  it('hands out byte strings as plain Uint8Arrays, never Node Buffers or views of the input', () => {
    const input = Buffer.from(built.stripped);
    const fromBuffer = decodePkiDocument(input);
    const bytes = allBytes(fromBuffer);
    expect(bytes.length).toBeGreaterThan(20);
    for (const b of bytes) {
      expect(Object.getPrototypeOf(b)).toBe(Uint8Array.prototype);
      expect(b.buffer).not.toBe(input.buffer);
    }
  });

  it('decodes byte-string-keyed SharedRandomCommit/Reveal maps of signed commits', () => {
    const withCommits = decodePkiDocument(
      buildPkiDocument({ ...sampleParams(), includeSharedRandomCommits: true }),
    );
    expect(withCommits.sharedRandomCommit?.size).toBe(3);
    const key = bytesToHex(authorities[0]!.identityKeyHash);
    const commitCert = withCommits.sharedRandomCommit!.get(key)!;
    const revealCert = withCommits.sharedRandomReveal!.get(key)!;
    // Each is a certificate that the authority signed, certifying 40 bytes: BE64(epoch) ‖ 32-byte digest.
    const commit = verifyPkiDocument(commitCert, [authorities[0]!.publicKey]);
    const reveal = verifyPkiDocument(revealCert, [authorities[0]!.publicKey]);
    expect(commit.length).toBe(40);
    expect(new DataView(reveal.buffer).getBigUint64(0)).toBe(EPOCH);
    expect(blake2b(reveal, { dkLen: 32 })).toEqual(commit.subarray(8));
  });

  it('keeps epochs beyond 2^53 exact as bigints', () => {
    const big = (1n << 63n) + 12345n;
    const d = decodePkiDocument(
      buildPkiDocument({ ...sampleParams(), epoch: big, genesisEpoch: big, replicaEpoch: 1n }),
    );
    expect(d.epoch).toBe(big);
    expect([...d.gatewayNodes[0]!.mixKeys.keys()]).toEqual([big, big + 1n, big + 2n]);
  });

  it('decodes a document built by Katzenpost’s Go code', () => {
    const go = loadGoSignedFixture();
    const d = decodePkiDocument(go.certified);
    expect(d.epoch).toBe(BigInt(go.epoch));
    expect(d.version).toBe('v1');
    expect(d.serviceNodes.map((s) => [...(s.kaetzchen?.keys() ?? [])].sort())).toEqual([
      ['courier', 'echo', 'testdest'],
      ['courier', 'echo', 'testdest'],
    ]);
    expect(d.storageReplicas[0]!.envelopeKeys.get(19841n)?.length).toBe(160);
    expect(d.lambdaG).toBe(0);
    expect(bytesToHex(decodeCertificate(go.signed).certified)).toBe(bytesToHex(go.certified));
  });

  it('matches field names case-insensitively after an exact match fails, as Go does', () => {
    const lower = encodeCbor(
      cbor.map([
        [cbor.text('epoch'), cbor.uint(7)],
        [cbor.text('VERSION'), cbor.text('v1')],
        [cbor.text('Version'), cbor.text('exact wins')],
      ]),
    );
    const d = decodePkiDocument(lower);
    expect(d.epoch).toBe(7n);
    expect(d.version).toBe('exact wins');
    expect(d.serviceNodes).toEqual([]);
    expect(d.sharedRandomValue).toBeNull();
  });

  it('throws ProtocolError for bytes that are not a well-typed document', () => {
    expect(() => decodePkiDocument(new Uint8Array(0))).toThrow(ProtocolError);
    expect(() => decodePkiDocument(built.stripped.subarray(0, 100))).toThrow(ProtocolError);
    expect(() => decodePkiDocument(Uint8Array.of(0x01))).toThrow(ProtocolError);
    const wrongType = (fields: [string, ReturnType<typeof cbor.text>][]) =>
      encodeCbor(cbor.map(fields.map(([k, v]) => [cbor.text(k), v] as const)));
    expect(() => decodePkiDocument(wrongType([['Epoch', cbor.text('1')]]))).toThrow(ProtocolError);
    expect(() => decodePkiDocument(wrongType([['ServiceNodes', cbor.array([cbor.uint(1)])]]))).toThrow(
      /ServiceNodes\[0\]/,
    );
    expect(() =>
      decodePkiDocument(wrongType([['ServiceNodes', cbor.array([cbor.bytes(Uint8Array.of(0xff))])]])),
    ).toThrow(ProtocolError);
    expect(() => decodeMixDescriptor(encodeCbor(cbor.map([[cbor.text('MixKeys'), cbor.uint(3)]])))).toThrow(
      ProtocolError,
    );
  });
});
