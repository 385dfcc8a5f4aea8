/**
 * Interop: the reference Python thin client (katzenpost-thinclient from PyPI, pinned in
 * test/interop/python/requirements.txt, its code unchanged) against our devnet over a real
 * TCP socket. The devnet runs in this process; Python runs as a child process and reports one
 * JSON line per run (test/interop/python/interop_flow.py; voucher_flow.py does one side of a
 * Contact Voucher introduction per run, our client the other).
 *
 *   npm run test:interop                      (creates test/interop/python/.venv on first run)
 *   npx vitest run --config vitest.interop.config.ts test/interop/python-devnet.test.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configToToml } from '../../src/config.js';
import { startDevnet } from '../../src/devnet/index.js';
import { ThinClient } from '../../src/index.js';
import { firstIndexOf, readBox, writeBox } from '../helpers/boxes.js';
import { ensurePythonEnv, runPythonScript } from './python/env.js';

interface Step {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
  [detail: string]: unknown;
}
interface FlowResult {
  ok: boolean;
  client_version: string;
  steps: Step[];
  error?: string;
  traceback?: string;
}

type VoucherRole = 'joiner-mint' | 'joiner-open' | 'inductor' | 'read';
type VoucherRun = { ok: boolean; error?: string; traceback?: string } & Record<string, string>;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (h: string | undefined) => new Uint8Array(Buffer.from(h ?? '', 'hex'));
const enc = new TextEncoder();

describe('reference Python thin client ⇄ devnet', () => {
  let net: Awaited<ReturnType<typeof startDevnet>>;
  let dir: string;
  let tomlPath: string;

  beforeAll(async () => {
    // Both at once: pip (first run only) and the devnet start do not depend on each other.
    const [, started] = await Promise.all([
      ensurePythonEnv(),
      startDevnet({ listen: 'tcp://127.0.0.1:0', profile: 'instant' }),
    ]);
    net = started;
    dir = await mkdtemp(join(tmpdir(), 'kp-py-interop-'));
    tomlPath = join(dir, 'thinclient.toml');
    await writeFile(tomlPath, configToToml(net.thinClientConfig));
  });

  /** One turn of the Python side of a voucher introduction (test/interop/python/voucher_flow.py). */
  async function voucherTurn(role: VoucherRole, input: Record<string, string>): Promise<VoucherRun> {
    const inputPath = join(dir, `${role}.json`);
    await writeFile(inputPath, JSON.stringify(input));
    const run = await runPythonScript<VoucherRun>('voucher_flow.py', [tomlPath, role, inputPath], {
      timeoutMs: 120_000,
    });
    const detail = `${run.result?.error ?? ''}\n${run.result?.traceback ?? ''}\n${run.stderr.slice(-4000)}`;
    expect(run.result?.ok, `${role} (exit ${run.exitCode}): ${detail}`).toBe(true);
    return run.result as VoucherRun;
  }

  afterAll(async () => {
    await net?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs the whole Pigeonhole flow with the Python client unchanged', async () => {
    const run = await runPythonScript<FlowResult>('interop_flow.py', [tomlPath], { timeoutMs: 240_000 });
    const result = run.result;
    const diagnostics = () =>
      `exit ${run.exitCode}\n${result?.error ?? ''}\n${result?.traceback ?? ''}\n--- stderr ---\n${run.stderr.slice(-4000)}`;
    expect(result, diagnostics()).toBeDefined();
    const steps = Object.fromEntries((result?.steps ?? []).map((s) => [s.name, s]));
    for (const s of result?.steps ?? [])
      expect(s.ok, `${s.name}: ${s.error ?? ''}\n${diagnostics()}`).toBe(true);
    expect(result?.client_version).toBe('0.0.23');

    expect(steps.handshake).toMatchObject({
      ok: true,
      is_connected: true,
      has_pki_document: true,
      instance_token_len: 16,
      same_instance: true,
    });
    expect(steps.handshake?.max_plaintext_payload_length).toBeGreaterThan(0);
    expect(steps.handshake?.courier_services).toBeGreaterThan(0);

    expect(steps.new_keypair).toMatchObject({
      write_cap_len: 168,
      read_cap_len: 136,
      first_index_len: 104,
      deterministic: true,
    });
    expect(steps.encrypt_write).toMatchObject({
      envelope_hash_len: 32,
      write_plaintext_empty: true,
      next_index_matches_request: true,
      counter_step: 1,
      courier_identity_hash_len: 32,
    });
    expect(steps.encrypt_read).toMatchObject({ plaintext_matches: true });
    expect(steps.expected_outcomes).toMatchObject({
      not_found: 'BoxIDNotFoundError',
      already_exists: 'BoxAlreadyExistsError',
      unchanged: true,
    });
    expect(steps.tombstone_range).toMatchObject({
      envelopes: 2,
      next_is_third_index: true,
      first_box_index_ok: true,
      read_first: 'TombstoneError',
      read_second: 'TombstoneError',
    });
    expect(steps.copy_from_payload).toMatchObject({ payload_matches: true });
    expect(steps.copy_from_payload?.envelopes).toBeGreaterThan(0);
    expect(steps.copy_multi_payload).toMatchObject({
      channel1_matches: true,
      channel2_matches: true,
      next_dest_indices: 2,
    });
    expect(steps.pki_and_echo).toMatchObject({ identity_key_hash_len: 32, echo_matches: true });
    expect(steps.pki_and_echo?.authorities).toBeGreaterThan(0);
    expect(steps.pki_and_echo?.raw_pki_len).toBeGreaterThan(0);
    expect(result?.ok).toBe(true);
  });

  it('introduces a Python joiner to a TypeScript inductor, who reads what Python writes', async () => {
    await using inductor = await ThinClient.connect(net.thinClientConfig);
    const minted = await voucherTurn('joiner-mint', { display_name: 'Python' });
    const voucher = fromHex(minted.voucher);

    const stream = await inductor.voucherDeriveStream(voucher);
    expect(hex(stream.voucherReadCap)).toBe(minted.voucher_read_cap);
    const published = await readBox(inductor, stream.voucherReadCap, firstIndexOf(stream.voucherReadCap));
    const inducted = await inductor.voucherInduct(voucher, published, enc.encode('from TypeScript'));
    expect(inducted.displayName).toBe('Python');
    const box1 = await inductor.nextMessageBoxIndex(firstIndexOf(stream.voucherWriteCap));
    await writeBox(inductor, stream.voucherWriteCap, box1, inducted.sealedReply);

    const opened = await voucherTurn('joiner-open', {
      voucher_read_cap: minted.voucher_read_cap!,
      voucher_secret_key: minted.voucher_secret_key!,
      message_write_cap: minted.message_write_cap!,
      message: 'hello from Python',
    });
    expect(opened.who_reply).toBe(hex(enc.encode('from TypeScript')));
    expect(opened.salt).toBe(hex(inducted.salt));
    const start = firstIndexOf(inducted.mutatedMessageReadCap);
    const message = await readBox(inductor, inducted.mutatedMessageReadCap, start);
    expect(new TextDecoder().decode(message)).toBe('hello from Python');
  });

  it('introduces a TypeScript joiner to a Python inductor, who reads what TypeScript writes', async () => {
    await using joiner = await ThinClient.connect(net.thinClientConfig);
    const messages = await joiner.newKeypair(randomBytes(32));
    const minted = await joiner.voucherMint(messages.writeCap, 'TypeScript');
    await writeBox(
      joiner,
      minted.voucherWriteCap,
      firstIndexOf(minted.voucherWriteCap),
      minted.voucherPayload,
    );

    const inducted = await voucherTurn('inductor', {
      voucher: hex(minted.voucher),
      who_reply: hex(enc.encode('from Python')),
    });
    expect(inducted.display_name).toBe('TypeScript');

    const box1 = await joiner.nextMessageBoxIndex(firstIndexOf(minted.voucherReadCap));
    const sealed = await readBox(joiner, minted.voucherReadCap, box1);
    const opened = await joiner.voucherOpen(minted.voucherSecretKey, sealed, messages.writeCap);
    expect(new TextDecoder().decode(opened.whoReply)).toBe('from Python');
    expect(hex(opened.salt)).toBe(inducted.salt);
    const live = opened.mutatedMessageWriteCap;
    await writeBox(joiner, live, firstIndexOf(live), enc.encode('hello from TypeScript'));

    const read = await voucherTurn('read', { read_cap: inducted.mutated_message_read_cap! });
    expect(new TextDecoder().decode(fromHex(read.plaintext))).toBe('hello from TypeScript');
  });
});
