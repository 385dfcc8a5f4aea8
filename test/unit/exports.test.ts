import { describe, expect, it } from 'vitest';
import * as api from '../../src/index.js';

describe('public entry point', () => {
  it('exports every error class API.md names', () => {
    for (const name of [
      'ThinClientError',
      'BoxIdNotFoundError',
      'BoxAlreadyExistsError',
      'TombstoneError',
      'OperationCancelledError',
      'CopyCommandFailedError',
      'PayloadTooLargeError',
      'NotConnectedError',
      'ConnectionLostError',
      'ProtocolError',
      'ConfigError',
      'PkiVerificationError',
      'InvalidArgumentError',
    ]) {
      expect(typeof (api as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('exports the entry points of API.md', () => {
    for (const name of ['ThinClient', 'loadConfig', 'verifyPkiDocument', 'isExpectedOutcome']) {
      expect(typeof (api as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('exports the contact voucher errors, and ThinClient has the four voucher methods', () => {
    for (const name of [
      'VoucherHashMismatchError',
      'VoucherSignatureInvalidError',
      'VoucherSealOpenFailedError',
    ]) {
      expect(typeof (api as Record<string, unknown>)[name], name).toBe('function');
    }
    for (const method of ['voucherMint', 'voucherInduct', 'voucherOpen', 'voucherDeriveStream']) {
      expect(typeof (api.ThinClient.prototype as unknown as Record<string, unknown>)[method], method).toBe(
        'function',
      );
    }
  });
});
