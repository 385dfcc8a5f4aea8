import { blake2b } from '@noble/hashes/blake2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { buildPkiDocument, cbor, createDevnetNodeList, encodeCbor } from '../../../src/devnet/pki/index.js';
import { decodePkiDocument, findServices } from '../../../src/pki/index.js';
import { EPOCH, loadGoSignedFixture } from './helpers.js';

const nodes = createDevnetNodeList();
nodes.services.push({ name: 'no-services', kaetzchen: null });
nodes.services.push({ name: 'odd', kaetzchen: { echo: { endpoint: 17 }, spool: { endpoint: '+spool' } } });
const doc = decodePkiDocument(buildPkiDocument({ epoch: EPOCH, seed: new Uint8Array(32), ...nodes }));

describe('findServices', () => {
  it('finds echo and courier on each of the three service nodes, in document order', () => {
    expect(findServices(doc, 'echo').map((s) => s.mixDescriptor.name)).toEqual([
      'servicenode1',
      'servicenode2',
      'servicenode3',
    ]);
    const couriers = findServices(doc, 'courier');
    expect(couriers).toHaveLength(3);
    expect(new TextDecoder().decode(couriers[0]!.recipientQueueId)).toBe('courier');
  });

  it('skips nodes whose Kaetzchen is null and entries without a text endpoint', () => {
    expect(findServices(doc, 'spool').map((s) => s.mixDescriptor.name)).toEqual(['odd']);
    expect(findServices(doc, 'echo').some((s) => s.mixDescriptor.name === 'odd')).toBe(false);
    expect(findServices(doc, 'nonexistent')).toEqual([]);
  });

  it('gives toDestination() = [BLAKE2b-256(IdentityKey), UTF-8 endpoint], as fresh copies', () => {
    const [echo] = findServices(doc, 'echo');
    const [node, queue] = echo!.toDestination();
    expect(bytesToHex(node)).toBe(bytesToHex(blake2b(echo!.mixDescriptor.identityKey, { dkLen: 32 })));
    expect(new TextDecoder().decode(queue)).toBe('+echo');
    queue[0] = 0;
    expect(new TextDecoder().decode(echo!.toDestination()[1])).toBe('+echo');
  });

  it('finds nothing in a document without service nodes', () => {
    const empty = decodePkiDocument(encodeCbor(cbor.map([[cbor.text('ServiceNodes'), cbor.null()]])));
    expect(findServices(empty, 'echo')).toEqual([]);
  });

  it('points at the identity hash Go computes for a Go-built document', () => {
    const go = loadGoSignedFixture();
    const services = findServices(decodePkiDocument(go.certified), 'testdest');
    expect(services).toHaveLength(2);
    const [destination, queue] = services[0]!.toDestination();
    expect(bytesToHex(destination)).toBe(bytesToHex(go.serviceNode1IdentityHash));
    expect(new TextDecoder().decode(queue)).toBe('+testdest');
  });
});
