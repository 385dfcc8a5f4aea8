/**
 * A devnet's PKI document advertises the rates of its own profile, read here from the document the
 * daemon pushes in the handshake: no delays on instant, the warped send-slot, hop and link means on docker.
 */
import { describe, expect, it } from 'vitest';
import { type DevnetOptions, PROFILES, startDevnet } from '../../../src/devnet/index.js';
import { decodePkiDocument, type PkiDocument } from '../../../src/pki/document.js';
import { RawClient } from './rawClient.js';

/** The document a client receives right after connecting. */
async function handshakeDocument(options: DevnetOptions): Promise<PkiDocument> {
  await using net = await startDevnet({ authorityScheme: 'Ed25519', ...options });
  const client = await RawClient.connect(net.thinClientConfig);
  try {
    await client.next('connection_status_event');
    const event = await client.next('new_pki_document_event');
    return decodePkiDocument(event.payload!);
  } finally {
    client.close();
  }
}

/** Mean wait in ms that a rate in events per ms stands for. */
const meanMs = (rate: number) => 1 / rate;

describe('PKI document rates', () => {
  it('on the instant profile, advertise a send slot, hop and link wait of 1 ms or less', async () => {
    const doc = await handshakeDocument({ profile: 'instant' });
    for (const rate of [doc.lambdaP, doc.mu, doc.lambdaR, doc.lambdaL, doc.lambdaM]) {
      expect(Number.isFinite(rate)).toBe(true);
      expect(meanMs(rate)).toBeLessThanOrEqual(1);
    }
  });

  it('on the docker profile, advertise the warped send-slot, hop and link means its daemon applies', async () => {
    const docker = PROFILES.docker;
    const doc = await handshakeDocument({ profile: 'docker', timeWarp: 20 });
    expect(meanMs(doc.lambdaP)).toBeCloseTo(docker.sendSlotMeanMs / 20);
    expect(meanMs(doc.mu)).toBeCloseTo(docker.hopDelayMeanMs / 20);
    expect(meanMs(doc.lambdaR)).toBeCloseTo(docker.linkMeanMs / 20);
    expect([doc.lambdaL, doc.lambdaM]).toEqual([doc.lambdaP / 2, doc.lambdaP / 2]);
  });

  it('advertise no send-slot delay when a docker timing override turns the send slots off', async () => {
    const doc = await handshakeDocument({ profile: 'docker', timing: { sendSlotMeanMs: 0 } });
    expect(meanMs(doc.lambdaP)).toBeLessThanOrEqual(1);
    expect(meanMs(doc.mu)).toBeCloseTo(PROFILES.docker.hopDelayMeanMs);
  });
});
