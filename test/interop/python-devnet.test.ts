/**
 * Interop: the reference Python thin client (katzenpost-thinclient from PyPI, pinned in
 * test/interop/python/requirements.txt, its code unchanged) against our devnet over a real
 * TCP socket. The devnet runs in this process; Python runs as a child process and reports one
 * JSON line per run (test/interop/python/interop_flow.py).
 *
 *   npm run test:interop                      (creates test/interop/python/.venv on first run)
 *   npx vitest run --config vitest.interop.config.ts test/interop/python-devnet.test.ts
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configToToml } from '../../src/config.js';
import { startDevnet } from '../../src/devnet/index.js';
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
});
