/**
 * The requests kpclientd sends into the mixnet rather than answering inline: they wait in the app's
 * queue for a send slot (egress.ts).
 */
import type { RequestBody } from '../../wire/schema.js';

export const MIXNET_REQUEST_KEYS = [
  'send_message',
  'start_resending_encrypted_message',
  'start_resending_copy_command',
] as const;
export type MixnetRequestKey = (typeof MIXNET_REQUEST_KEYS)[number];
export type MixnetRequest = { [K in MixnetRequestKey]: { key: K; body: RequestBody<K> } }[MixnetRequestKey];

export function isMixnetRequest(request: { key: string }): request is MixnetRequest {
  return (MIXNET_REQUEST_KEYS as readonly string[]).includes(request.key);
}
