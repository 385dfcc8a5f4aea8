/** send_message (the legacy, non-Pigeonhole messaging) with and without a SURB. */
import { PayloadTooLargeError } from '../errors.js';
import { type RequestBody, SIZES } from '../wire/index.js';
import { bytesArg } from './args.js';
import { MAX_QUEUE_ID } from './arq.js';

/** `maxPayload`: the Sphinx geometry's UserForwardPayloadLength, when known. */
/** `surbId`: null sends without a SURB (nothing comes back); anything else must be 16 bytes. */
export function sendMessageBody(
  surbId: Uint8Array | null,
  payload: Uint8Array,
  destNode: Uint8Array,
  destQueue: Uint8Array,
  maxPayload: number | undefined,
): RequestBody<'send_message'> {
  if (surbId !== null) bytesArg(surbId, 'surbId', SIZES.surbId);
  bytesArg(payload, 'payload');
  bytesArg(destNode, 'destNode', SIZES.hash);
  bytesArg(destQueue, 'destQueue', { min: 1, max: MAX_QUEUE_ID });
  if (maxPayload !== undefined && maxPayload > 0 && payload.length > maxPayload) {
    throw new PayloadTooLargeError(`payload of ${payload.length} bytes exceeds ${maxPayload} bytes`);
  }
  return surbId
    ? {
        with_surb: true,
        surbid: surbId,
        destination_id_hash: destNode,
        recipient_queue_id: destQueue,
        payload,
      }
    : { with_surb: false, destination_id_hash: destNode, recipient_queue_id: destQueue, payload };
}
