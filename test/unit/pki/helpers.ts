import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hexToBytes } from '@noble/hashes/utils.js';
import {
  buildSignedPkiDocument,
  createAuthoritySet,
  createDevnetNodeList,
  type DevnetAuthority,
  type SignedPkiDocument,
} from '../../../src/devnet/pki/index.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));

/** A PKI document built and signed by Katzenpost's Go code (see the fixture's `about`). */
export interface GoSignedFixture {
  epoch: number;
  authorityPrivateKeys: Uint8Array[];
  authorityPublicKeys: Uint8Array[];
  signed: Uint8Array;
  certified: Uint8Array;
  serviceNode1IdentityHash: Uint8Array;
}

export function loadGoSignedFixture(): GoSignedFixture {
  const raw = JSON.parse(readFileSync(`${FIXTURES}/go_signed_pki_document_ed25519.json`, 'utf8'));
  return {
    epoch: raw.epoch,
    authorityPrivateKeys: raw.authorityPrivateKeys.map(hexToBytes),
    authorityPublicKeys: raw.authorityPublicKeys.map(hexToBytes),
    signed: hexToBytes(raw.signed),
    certified: hexToBytes(raw.certified),
    serviceNode1IdentityHash: hexToBytes(raw.serviceNode1IdentityHash),
  };
}

/** Epochs far in the future of the real clock, as a u64 that still fits a JS number. */
export const EPOCH = 10_000_000n;

export interface Network {
  authorities: DevnetAuthority[];
  /** One authority outside the trusted set. */
  outsider: DevnetAuthority;
  doc: SignedPkiDocument;
}

/** Three seeded authorities (+1 outsider) and a docker-shaped document they all signed. Falcon keygen is slow: build once per file. */
export function makeNetwork(scheme: string): Network {
  const all = createAuthoritySet({ count: 4, scheme, seed: new TextEncoder().encode(`pki test ${scheme}`) });
  const authorities = all.slice(0, 3);
  const outsider = all[3]!;
  const doc = buildSignedPkiDocument({
    epoch: EPOCH,
    authorities,
    seed: new Uint8Array(32).fill(9),
    ...createDevnetNodeList(),
  });
  return { authorities, outsider, doc };
}
