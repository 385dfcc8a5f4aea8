import { describe, expect, it } from 'vitest';
import {
  DaemonError,
  InvalidArgumentError,
  VoucherHashMismatchError,
  VoucherSealOpenFailedError,
  VoucherSignatureInvalidError,
} from '../../../src/errors.js';
import { sanitize } from '../../../src/inspector/redact.js';
import { vouchers } from '../../../src/protocol/index.js';
import { errorForThinCode } from '../../../src/wire/index.js';

const bytes = (n: number) => new Uint8Array(n);

describe('voucher request arguments', () => {
  const cases: [string, () => unknown, string][] = [
    [
      'voucherMint: a read cap for the write cap',
      () => vouchers.voucherMint(bytes(136), 'A'),
      'messageWriteCap: expected 168 bytes, got 136',
    ],
    [
      'voucherMint: a display name that is not a string',
      () => vouchers.voucherMint(bytes(168), 7 as never),
      'displayName: expected a string, got number',
    ],
    [
      'voucherInduct: a 31-byte voucher',
      () => vouchers.voucherInduct(bytes(31), bytes(10), bytes(0)),
      'voucher: expected 32 bytes, got 31',
    ],
    [
      'voucherInduct: a payload that is not bytes',
      () => vouchers.voucherInduct(bytes(32), 'payload' as never, bytes(0)),
      'voucherPayload: expected a Uint8Array, got string',
    ],
    [
      'voucherInduct: no whoReply',
      () => vouchers.voucherInduct(bytes(32), bytes(10), undefined as never),
      'whoReply: expected a Uint8Array, got undefined',
    ],
    [
      'voucherOpen: a 160-byte (public) key',
      () => vouchers.voucherOpen(bytes(160), bytes(10), bytes(168)),
      'voucherSecretKey: expected 162 bytes, got 160',
    ],
    [
      'voucherOpen: a sealed reply that is an array',
      () => vouchers.voucherOpen(bytes(162), [1, 2] as never, bytes(168)),
      'sealedReply: expected a Uint8Array, got an array',
    ],
    [
      'voucherOpen: a short write cap',
      () => vouchers.voucherOpen(bytes(162), bytes(10), bytes(167)),
      'messageWriteCap: expected 168 bytes, got 167',
    ],
    [
      'voucherDeriveStream: a 33-byte voucher',
      () => vouchers.voucherDeriveStream(bytes(33)),
      'voucher: expected 32 bytes, got 33',
    ],
  ];

  for (const [name, build, message] of cases) {
    it(`${name} is refused before anything is sent`, () => {
      let error: unknown;
      try {
        build();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toBe(message);
    });
  }

  it('builds the wire bodies under the daemon field names', () => {
    expect(Object.keys(vouchers.voucherMint(bytes(168), 'A').body)).toEqual([
      'message_write_cap',
      'display_name',
    ]);
    expect(Object.keys(vouchers.voucherInduct(bytes(32), bytes(1), bytes(0)).body)).toEqual([
      'voucher',
      'voucher_payload',
      'who_reply',
    ]);
    expect(Object.keys(vouchers.voucherOpen(bytes(162), bytes(1), bytes(168)).body)).toEqual([
      'voucher_secret_key',
      'sealed_reply',
      'message_write_cap',
    ]);
    expect(vouchers.voucherDeriveStream(bytes(32)).request.key).toBe('voucher_derive_stream');
  });
});

describe('voucher secrets in inspection', () => {
  it('redacts the secret key and the write caps under either spelling, whatever their type', () => {
    expect(
      sanitize({
        voucherSecretKey: 'ab12',
        voucher_secret_key: 'ab12',
        voucherWriteCap: 'ab12',
        voucher_write_cap: 'ab12',
        messageWriteCap: 'ab12',
        mutated_message_write_cap: 'ab12',
        mutatedMessageWriteCap: 'ab12',
        voucherReadCap: 'ab12',
      }),
    ).toEqual({
      voucherSecretKey: '[redacted]',
      voucher_secret_key: '[redacted]',
      voucherWriteCap: '[redacted]',
      voucher_write_cap: '[redacted]',
      messageWriteCap: '[redacted]',
      mutated_message_write_cap: '[redacted]',
      mutatedMessageWriteCap: '[redacted]',
      voucherReadCap: 'ab12',
    });
  });
});

describe('voucher error codes', () => {
  it('are typed errors: 28, 29 and 30 each have a class, 3 stays a DaemonError', () => {
    expect(errorForThinCode(28, 'voucher_induct')).toBeInstanceOf(VoucherHashMismatchError);
    expect(errorForThinCode(29, 'voucher_induct')).toBeInstanceOf(VoucherSignatureInvalidError);
    expect(errorForThinCode(30, 'voucher_open')).toBeInstanceOf(VoucherSealOpenFailedError);
    expect(errorForThinCode(3, 'voucher_induct')).toBeInstanceOf(DaemonError);
    expect(new VoucherSealOpenFailedError()).toMatchObject({
      name: 'VoucherSealOpenFailedError',
      code: 'ERR_VOUCHER_SEAL_OPEN_FAILED',
      daemonCode: 30,
      message: 'voucher sealed reply could not be opened',
    });
  });
});
