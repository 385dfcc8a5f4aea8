import { describe, expect, it } from 'vitest';
import { deriveSizes } from '../../../src/devnet/geometry.js';
import { DOCKER_PIGEONHOLE_GEOMETRY, DOCKER_SPHINX_GEOMETRY } from '../../helpers/geometries.js';

describe('devnet geometry', () => {
  const sizes = deriveSizes();

  it('announces exactly the Go Sphinx geometry fields with the docker values', () => {
    expect(sizes.sphinx).toEqual(DOCKER_SPHINX_GEOMETRY);
    expect(Object.keys(sizes.sphinx)).toEqual(Object.keys(DOCKER_SPHINX_GEOMETRY));
  });

  it('derives the Pigeonhole geometry from the Sphinx one as kpclientd does (1549 plaintext bytes per box)', () => {
    expect(sizes.pigeonhole).toEqual(DOCKER_PIGEONHOLE_GEOMETRY);
    expect(Object.keys(sizes.pigeonhole)).toEqual(Object.keys(DOCKER_PIGEONHOLE_GEOMETRY));
  });

  it("has the intermediate sizes of katzenpost's pigeonhole/geo for the docker geometry", () => {
    expect(sizes.boxCiphertext).toBe(1569);
    expect(sizes.innerPadded).toBe(1674);
    expect(sizes.mkemEnvelope).toBe(1702);
    expect(sizes.courierEnvelope).toBe(1999);
    expect(sizes.replyPadded).toBe(1675);
    expect(sizes.envelopeReply).toBe(1703);
    expect(sizes.copyChunk).toBe(1545);
    expect(sizes.copyElementData).toBe(1544);
  });
});
