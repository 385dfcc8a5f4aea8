import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, PayloadTooLargeError } from '../../../src/errors.js';
import { bytes, cleanup, type Harness, setup, writeParams } from './harness.js';

afterEach(cleanup);

type Call = [string, (h: Harness) => Promise<unknown>, string];

const good = { cap: bytes(168), rcap: bytes(136), idx: bytes(104), hash: bytes(32) };

const calls: Call[] = [
  ['newKeypair: a 31-byte seed', (h) => h.client.newKeypair(bytes(31)), 'seed'],
  ['newKeypair: a 33-byte seed', (h) => h.client.newKeypair(bytes(33)), 'seed'],
  ['newKeypair: a string seed', (h) => h.client.newKeypair('x'.repeat(32) as never), 'seed'],
  [
    'encryptWrite: a short write cap',
    (h) => h.client.encryptWrite(bytes(1), bytes(136), good.idx),
    'writeCap',
  ],
  [
    'encryptWrite: a long index',
    (h) => h.client.encryptWrite(bytes(1), good.cap, bytes(105)),
    'messageBoxIndex',
  ],
  [
    'encryptWrite: no plaintext',
    (h) => h.client.encryptWrite(null as never, good.cap, good.idx),
    'plaintext',
  ],
  ['encryptRead: a write cap for a read cap', (h) => h.client.encryptRead(good.cap, good.idx), 'readCap'],
  ['encryptRead: a short index', (h) => h.client.encryptRead(good.rcap, bytes(100)), 'messageBoxIndex'],
  ['nextMessageBoxIndex: a short index', (h) => h.client.nextMessageBoxIndex(bytes(8)), 'messageBoxIndex'],
  [
    'getMessageBoxIndexCounter: a short index',
    (h) => h.client.getMessageBoxIndexCounter(bytes(8)),
    'messageBoxIndex',
  ],
  [
    'startResendingEncryptedMessage: both caps',
    (h) => h.client.startResendingEncryptedMessage({ ...writeParams(), readCap: good.rcap }),
    'readCap',
  ],
  [
    'startResendingEncryptedMessage: neither cap',
    (h) => h.client.startResendingEncryptedMessage({ ...writeParams(), writeCap: undefined }),
    'readCap',
  ],
  [
    'startResendingEncryptedMessage: a short write cap',
    (h) => h.client.startResendingEncryptedMessage({ ...writeParams(), writeCap: bytes(167) }),
    'writeCap',
  ],
  [
    'startResendingEncryptedMessage: a short envelope hash',
    (h) => h.client.startResendingEncryptedMessage({ ...writeParams(), envelopeHash: bytes(31) }),
    'envelopeHash',
  ],
  [
    'startResendingEncryptedMessage: an empty ciphertext',
    (h) => h.client.startResendingEncryptedMessage({ ...writeParams(), messageCiphertext: bytes(0) }),
    'messageCiphertext',
  ],
  [
    'startResendingEncryptedMessage: an empty envelope descriptor',
    (h) => h.client.startResendingEncryptedMessage({ ...writeParams(), envelopeDescriptor: bytes(0) }),
    'envelopeDescriptor',
  ],
  [
    'startResendingEncryptedMessage: a short message box index',
    (h) => h.client.startResendingEncryptedMessage({ ...writeParams(), messageBoxIndex: bytes(103) }),
    'messageBoxIndex',
  ],
  [
    'startResendingEncryptedMessage: a reply index above 255',
    (h) => h.client.startResendingEncryptedMessage({ ...writeParams(), replyIndex: 256 }),
    'replyIndex',
  ],
  [
    'cancelResendingEncryptedMessage: a short hash',
    (h) => h.client.cancelResendingEncryptedMessage(bytes(16)),
    'envelopeHash',
  ],
  [
    'startResendingCopyCommand: a read cap',
    (h) => h.client.startResendingCopyCommand(good.rcap),
    'tempWriteCap',
  ],
  [
    'startResendingCopyCommand: a short courier hash',
    (h) =>
      h.client.startResendingCopyCommand(good.cap, {
        courierIdentityHash: bytes(31),
        courierQueueId: bytes(3),
      }),
    'courierIdentityHash',
  ],
  [
    'startResendingCopyCommand: a courier hash without a queue id',
    (h) => h.client.startResendingCopyCommand(good.cap, { courierIdentityHash: good.hash }),
    'courierIdentityHash',
  ],
  [
    'cancelResendingCopyCommand: the write cap instead of its hash',
    (h) => h.client.cancelResendingCopyCommand(good.cap),
    'writeCapHash',
  ],
  [
    'createCourierEnvelopesFromPayload: a short dest write cap',
    (h) => h.client.createCourierEnvelopesFromPayload(bytes(1), bytes(100), good.idx, true, true),
    'destWriteCap',
  ],
  [
    'createCourierEnvelopesFromPayload: a short dest start index',
    (h) => h.client.createCourierEnvelopesFromPayload(bytes(1), good.cap, bytes(1), true, true),
    'destStartIndex',
  ],
  [
    'createCourierEnvelopesFromPayload: isLast not a boolean',
    (h) => h.client.createCourierEnvelopesFromPayload(bytes(1), good.cap, good.idx, true, 1 as never),
    'isLast',
  ],
  [
    'createCourierEnvelopesFromMultiPayload: no destinations',
    (h) => h.client.createCourierEnvelopesFromMultiPayload([], true, true),
    'destinations',
  ],
  [
    'createCourierEnvelopesFromMultiPayload: a bad second write cap',
    (h) =>
      h.client.createCourierEnvelopesFromMultiPayload(
        [
          { payload: bytes(1), writeCap: good.cap, startIndex: good.idx },
          { payload: bytes(1), writeCap: bytes(3), startIndex: good.idx },
        ],
        true,
        true,
      ),
    'destinations[1].writeCap',
  ],
  [
    'createCourierEnvelopesFromTombstoneRange: a negative count',
    (h) => h.client.createCourierEnvelopesFromTombstoneRange(good.cap, good.idx, -1, true, true),
    'maxCount',
  ],
  ['tombstoneRange: a short write cap', (h) => h.client.tombstoneRange(bytes(1), good.idx, 1), 'writeCap'],
  ['tombstoneRange: a fractional count', (h) => h.client.tombstoneRange(good.cap, good.idx, 1.5), 'maxCount'],
  [
    'sendMessage: a short SURB id',
    (h) => h.client.sendMessage(bytes(15), bytes(1), good.hash, bytes(5)),
    'surbId',
  ],
  [
    'sendMessage: a short destination hash',
    (h) => h.client.sendMessage(bytes(16), bytes(1), bytes(8), bytes(5)),
    'destNode',
  ],
  [
    'sendMessageWithoutReply: an empty queue id',
    (h) => h.client.sendMessageWithoutReply(bytes(1), good.hash, bytes(0)),
    'destQueue',
  ],
  [
    'blockingSendMessage: a 33-byte queue id',
    (h) => h.client.blockingSendMessage(bytes(1), good.hash, bytes(33)),
    'destQueue',
  ],
  ['getPkiDocumentRaw: a number epoch', (h) => h.client.getPkiDocumentRaw(1 as never), 'epoch'],
  ['getPkiDocumentRaw: a negative epoch', (h) => h.client.getPkiDocumentRaw(-1n), 'epoch'],
];

describe('arguments are checked before anything is sent', () => {
  for (const [name, call, field] of calls) {
    it(`${name} → InvalidArgumentError naming ${field}`, async () => {
      const h = await setup();
      const error = await call(h).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).field).toBe(field);
      expect(h.daemon.requests.map((r) => r.key)).toEqual(['session_token']);
    });
  }

  it('a plaintext larger than one box → PayloadTooLargeError before sending', async () => {
    const h = await setup();
    const max = h.client.pigeonholeGeometry.maxPlaintextPayloadLength;
    await expect(h.client.encryptWrite(bytes(max + 1), good.cap, good.idx)).rejects.toBeInstanceOf(
      PayloadTooLargeError,
    );
    await expect(h.client.sendMessageWithoutReply(bytes(2001), good.hash, bytes(5))).rejects.toBeInstanceOf(
      PayloadTooLargeError,
    );
    expect(h.daemon.requests.map((r) => r.key)).toEqual(['session_token']);
  });

  it('a bad reconnect policy is refused before dialing', async () => {
    const { ThinClient } = await import('../../../src/client.js');
    await expect(
      ThinClient.connect({ dial: { type: 'tcp', address: '127.0.0.1:1' } }, { reconnect: { factor: 0.5 } }),
    ).rejects.toMatchObject({ field: 'reconnect.factor' });
  });
});
