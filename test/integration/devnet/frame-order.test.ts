import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Devnet, startDevnet } from '../../../src/devnet/index.js';
import { encodeCbor, encodeFrame, encodeRequest } from '../../../src/wire/index.js';
import { queryId, RawClient } from './rawClient.js';

describe('devnet reads frames one at a time, like kpclientd', () => {
  let net: Devnet;
  beforeAll(async () => {
    net = await startDevnet({ listen: 'tcp://127.0.0.1:0', profile: 'instant', authorityScheme: 'Ed25519' });
  });
  afterAll(async () => {
    await net?.stop();
  });

  it('answers a request that arrived in the same chunk as a later undecodable frame, then drops the connection', async () => {
    const { client } = await RawClient.session(net.thinClientConfig);
    const q = queryId();
    const good = encodeFrame(encodeRequest('new_keypair', { query_id: q, seed: new Uint8Array(32).fill(7) }));
    const bad = encodeFrame(Uint8Array.of(0xff));
    client.sendBytes(new Uint8Array([...good, ...bad]));
    const reply = await client.waitFor('new_keypair_reply', q);
    expect(reply.error_code).toBe(0);
    await client.closed;
  });

  it('answers a request that arrived in the same chunk as a later oversize prefix, then drops the connection', async () => {
    const { client } = await RawClient.session(net.thinClientConfig);
    const q = queryId();
    const good = encodeFrame(encodeRequest('new_keypair', { query_id: q, seed: new Uint8Array(32).fill(8) }));
    client.sendBytes(new Uint8Array([...good, 0xff, 0xff, 0xff, 0xff]));
    expect((await client.waitFor('new_keypair_reply', q)).error_code).toBe(0);
    await client.closed;
  });

  it('drops, rather than leaves hanging, a caller whose reply it cannot encode', async () => {
    const { client } = await RawClient.session(net.thinClientConfig);
    // A negative epoch: kpclientd refuses to decode it and drops the connection.
    client.sendBytes(
      encodeFrame(encodeCbor({ get_pki_document: { query_id: queryId(), epoch: -(2n ** 63n) } })),
    );
    await client.closed;
    expect(client.isClosedNow).toBe(true);
  });
});
