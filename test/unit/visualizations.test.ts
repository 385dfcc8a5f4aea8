import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { docPath, renderMachineDoc } from '../../visualizations/generate.js';
import { MACHINES } from '../../visualizations/machines.js';

describe('machine diagrams', () => {
  it.each(Object.keys(MACHINES))(
    'visualizations/%s.md matches its machine (run npx tsx visualizations/generate.ts)',
    async (name) => {
      expect(await readFile(docPath(name), 'utf8')).toBe(renderMachineDoc(name));
    },
  );

  it('draws every state of the connection machine', () => {
    const doc = renderMachineDoc('connection');
    for (const state of ['dialing', 'awaitingSessionReply', 'ready', 'backoff', 'closed'])
      expect(doc).toContain(state);
  });
});
