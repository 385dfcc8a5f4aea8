/**
 * Discover services in the PKI document, and verify the signed document yourself against
 * authority keys the application trusts (never keys the daemon hands out).
 *
 *   npx tsx examples/guide/02-services-and-pki.ts
 *   KP_AUTHORITY_KEYS=<hex>,<hex>,<hex> npx tsx examples/guide/02-services-and-pki.ts --config thinclient.toml
 *
 * On its own devnet the example takes the trust root from the devnet handle (`net.authorities`);
 * against any other daemon it takes the authorities' public keys from KP_AUTHORITY_KEYS.
 */
import assert from 'node:assert/strict';
import { decodePkiDocument, verifyPkiDocumentDetailed } from 'katzenpost-thin-client';
import { openExample } from './daemon.js';

const { client, net, close } = await openExample();
try {
  // The document the daemon pushed: already verified by the daemon, signatures stripped.
  const doc = client.pkiDocument();
  assert.ok(doc, 'the daemon sent a PKI document in the handshake');
  console.log(
    `epoch ${doc.epoch}: ${doc.serviceNodes.length} service nodes, ${doc.storageReplicas.length} replicas`,
  );

  // Services by capability; getService picks one at random.
  const echoes = client.getServices('echo');
  const echo = client.getService('echo');
  const [destNode, destQueue] = echo.toDestination();
  console.log(
    `${echoes.length} echo services; picked ${echo.mixDescriptor.name}, queue`,
    new TextDecoder().decode(destQueue),
  );
  assert.equal(destNode.length, 32);

  // The trust root: from the application, out of band.
  const trusted = net
    ? net.authorities.map((a) => a.publicKey)
    : (process.env.KP_AUTHORITY_KEYS ?? '')
        .split(',')
        .filter(Boolean)
        .map((h) => Buffer.from(h, 'hex'));
  assert.ok(
    trusted.length > 0,
    "set KP_AUTHORITY_KEYS to the authorities' public keys (hex, comma-separated)",
  );

  // The signed document (epoch 0n: the current one), checked against a majority of the trusted keys.
  const { payload, epoch } = await client.getPkiDocumentRaw(0n);
  const result = verifyPkiDocumentDetailed(payload, trusted);
  console.log(
    `epoch ${epoch}: ${result.verified} of ${trusted.length} signatures verified (${result.keyType}), threshold ${result.threshold}`,
  );
  assert.ok(result.verified >= result.threshold);

  // The certified bytes are the document itself.
  assert.equal(decodePkiDocument(result.certified).epoch, epoch);
} finally {
  await close();
}
