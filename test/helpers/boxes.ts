/** One box written or read the guide's way (encrypt, then one ARQ operation), for tests. */
import type { ThinClient } from '../../src/index.js';

/** A BACAP cap ends with its first MessageBoxIndex (104 bytes). */
export const firstIndexOf = (cap: Uint8Array) => cap.slice(cap.length - 104);

export async function writeBox(
  client: ThinClient,
  writeCap: Uint8Array,
  index: Uint8Array,
  data: Uint8Array,
) {
  const w = await client.encryptWrite(data, writeCap, index);
  await client.startResendingEncryptedMessage({ writeCap, ...w });
}

export async function readBox(
  client: ThinClient,
  readCap: Uint8Array,
  index: Uint8Array,
): Promise<Uint8Array> {
  const r = await client.encryptRead(readCap, index);
  return (await client.startResendingEncryptedMessage({ readCap, messageBoxIndex: index, ...r })).plaintext;
}
