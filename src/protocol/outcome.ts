/** What an ARQ operation ends with (the output of machines/arq.ts), as data. */
import type { ResponseBody } from '../wire/index.js';

export type ArqKind = 'encryptedMessage' | 'copyCommand';

export type ArqReply =
  | ResponseBody<'start_resending_encrypted_message_reply'>
  | ResponseBody<'start_resending_copy_command_reply'>;

export type ArqOutput =
  | { outcome: 'done'; reply: ArqReply }
  /** BoxIDNotFound (1), BoxAlreadyExists (10) or Tombstone (11): answers, not failures. */
  | { outcome: 'expected'; errorCode: number; reply: ArqReply }
  | { outcome: 'failed'; errorCode: number; reply: ArqReply }
  | { outcome: 'cancelled' }
  | { outcome: 'closed' }
  | { outcome: 'abandoned'; error: Error };
