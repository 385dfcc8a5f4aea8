/**
 * `pigeonhole devnet --listen ws://… --allow-origin …` as a process: it prints its ws:// address and
 * a [Dial.Ws] thinclient.toml, admits pages from the origins it was given and no others, and exits
 * cleanly on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config.js';
import { WsPeer } from '../../helpers/wsPeer.js';

describe('pigeonhole devnet on ws://', () => {
  it('serves the allowed origins, refuses others, prints its [Dial.Ws] config and stops on SIGTERM', async () => {
    const cli = new URL('../../../src/cli/main.ts', import.meta.url).pathname;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        cli,
        'devnet',
        '--listen',
        'ws://127.0.0.1:0',
        '--allow-origin',
        'http://localhost:8080',
        '--allow-origin',
        'http://app.example',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('[Dial.Ws]') && /Address = ".*"/.test(out)) resolve();
        });
        child.on('error', reject);
        child.on('close', () => reject(new Error(`the devnet exited early: ${out}`)));
      });
      const address = /listening on (ws:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
      expect(address).toBeDefined();
      const toml = out.slice(out.indexOf('[Dial'));
      expect(parseConfig(toml)).toEqual({ dial: { type: 'ws', address } });
      for (const origin of ['http://localhost:8080', 'http://app.example']) {
        const peer = await WsPeer.open(address!, { origin });
        await peer.frame('connection_status_event');
        peer.close();
      }
      await expect(WsPeer.open(address!, { origin: 'http://localhost:8081' })).rejects.toThrow(
        'Unexpected server response: 403',
      );
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
