/** Local requests about the directory: get_pki_document and get_directory_authorities. */
import { ThinCode } from '../../wire/errorCodes.js';
import type { Directory } from '../network/directory.js';
import { authorityDescriptors } from './authorities.js';
import { type LocalHandlers, refuse } from './localHandler.js';

export const DIRECTORY_REQUESTS: Pick<LocalHandlers, 'get_pki_document' | 'get_directory_authorities'> = {
  get_pki_document: {
    /** Epoch 0 = current, else the previous; otherwise an exact hit in now-1..now+1 (client/pki.go). */
    answer(body, { net }) {
      const wanted = body.epoch ?? 0n;
      const now = net.currentEpoch();
      let dir: Directory | undefined;
      if (wanted === 0n) {
        dir = net.publishedDirectory(now) ?? net.publishedDirectory(now - 1n);
      } else if (wanted >= now - 1n && wanted <= now + 1n) {
        dir = net.publishedDirectory(wanted);
      }
      if (!dir) return { epoch: wanted, error_code: ThinCode.ServiceUnavailable };
      return { payload: dir.signed, epoch: dir.epoch, error_code: ThinCode.Success };
    },
  },
  get_directory_authorities: {
    answer(_body, { authorities }) {
      if (authorities.length === 0) refuse(ThinCode.ServiceUnavailable);
      return { authorities: authorityDescriptors(authorities), error_code: ThinCode.Success };
    },
  },
};
