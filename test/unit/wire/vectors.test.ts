import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decodeRequest,
  decodeResponse,
  encodeFrame,
  encodeRequest,
  encodeResponse,
  FrameDecoder,
} from '../../../src/wire/index.js';

interface Vector {
  title: string;
  frame: Uint8Array;
}

/** Parses shared/vectors/wire-vectors.txt: `### title`, `len(body) = N`, then indented hex lines. */
function loadVectors(): Vector[] {
  const text = readFileSync(new URL('../../fixtures/vectors/wire-vectors.txt', import.meta.url), 'utf8');
  const vectors: Vector[] = [];
  let title: string | undefined;
  let hex = '';
  const flush = () => {
    if (title && hex) vectors.push({ title, frame: Uint8Array.from(Buffer.from(hex, 'hex')) });
    hex = '';
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('### ')) {
      flush();
      title = line.slice(4);
    } else if (/^ {4}[0-9a-f]+$/.test(line)) {
      hex += line.trim();
    } else if (line.startsWith('decoded:')) {
      flush();
    }
  }
  flush();
  return vectors;
}

const vectors = loadVectors();

describe('shared wire vectors', () => {
  it('contains the vectors the spec promises', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(10);
  });

  for (const v of vectors) {
    const isResponse = /Response|daemon/.test(v.title);
    const style = v.title.startsWith('Python/Rust') ? 'minimal' : 'go';

    it(`decodes and re-encodes byte-identically: ${v.title}`, () => {
      const frames = new FrameDecoder().push(v.frame);
      expect(frames).toHaveLength(1);
      const body = frames[0]!;
      const decoded = isResponse ? decodeResponse(body) : decodeRequest(body);
      expect(decoded.key).not.toBe('unknown');
      if (decoded.key === 'unknown') return;
      const reencoded = isResponse
        ? // biome-ignore lint/suspicious/noExplicitAny: the union is checked by decode above
          encodeResponse(decoded.key as any, (decoded as any).body, style)
        : // biome-ignore lint/suspicious/noExplicitAny: idem
          encodeRequest(decoded.key as any, (decoded as any).body, style);
      expect(Buffer.from(encodeFrame(reencoded)).toString('hex')).toBe(Buffer.from(v.frame).toString('hex'));
    });
  }
});
