// The share string `cp send` prints and `cp recv` takes: read cap, first index and file length.
import { MESSAGE_BOX_INDEX_SIZE, READ_CAP_SIZE } from '../../crypto/bacap.js';
import { InvalidArgumentError } from '../../errors.js';
import { decodeBase64url } from '../../pigeonhole/channels.js';
import { MAX_FRAMED_PAYLOAD_LENGTH } from '../../pigeonhole/framing.js';

/** What `cp send` prints and `cp recv` takes. */
export interface CpShare {
  readCap: Uint8Array;
  firstIndex: Uint8Array;
  /** File length in bytes. */
  length: number;
}

const CP_SHARE_TAG = 0xc1; // "cp, version 1"; distinct from a channel share's leading 0x01
const CP_SHARE_SIZE = 1 + READ_CAP_SIZE + MESSAGE_BOX_INDEX_SIZE + 4;

/** `0xC1 ‖ readCap (136) ‖ firstIndex (104) ‖ length (u32 BE)`, base64url without padding. */
export function encodeCpShare(share: CpShare): string {
  if (!(share?.readCap instanceof Uint8Array) || share.readCap.length !== READ_CAP_SIZE) {
    throw new InvalidArgumentError('readCap', `expected ${READ_CAP_SIZE} bytes`);
  }
  if (!(share.firstIndex instanceof Uint8Array) || share.firstIndex.length !== MESSAGE_BOX_INDEX_SIZE) {
    throw new InvalidArgumentError('firstIndex', `expected ${MESSAGE_BOX_INDEX_SIZE} bytes`);
  }
  if (!Number.isSafeInteger(share.length) || share.length < 0 || share.length > MAX_FRAMED_PAYLOAD_LENGTH) {
    throw new InvalidArgumentError('length', `must be an integer in [0, ${MAX_FRAMED_PAYLOAD_LENGTH}]`);
  }
  const out = new Uint8Array(CP_SHARE_SIZE);
  out[0] = CP_SHARE_TAG;
  out.set(share.readCap, 1);
  out.set(share.firstIndex, 1 + READ_CAP_SIZE);
  new DataView(out.buffer).setUint32(1 + READ_CAP_SIZE + MESSAGE_BOX_INDEX_SIZE, share.length, false);
  return Buffer.from(out).toString('base64url');
}

export function decodeCpShare(text: string): CpShare {
  const bytes = decodeBase64url(text, 'share');
  if (bytes.length !== CP_SHARE_SIZE || bytes[0] !== CP_SHARE_TAG) {
    throw new InvalidArgumentError('share', 'is not a `pigeonhole cp send` share string');
  }
  return {
    readCap: bytes.slice(1, 1 + READ_CAP_SIZE),
    firstIndex: bytes.slice(1 + READ_CAP_SIZE, 1 + READ_CAP_SIZE + MESSAGE_BOX_INDEX_SIZE),
    length: new DataView(bytes.buffer).getUint32(1 + READ_CAP_SIZE + MESSAGE_BOX_INDEX_SIZE, false),
  };
}
