/**
 * Argument checks shared by every request: each throws InvalidArgumentError naming the argument
 * before anything is encoded or sent.
 */
import { InvalidArgumentError } from '../errors.js';

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** A Uint8Array argument of an exact length (or within bounds). */
export function bytesArg(
  value: unknown,
  name: string,
  size?: number | { min?: number; max?: number },
): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new InvalidArgumentError(name, `expected a Uint8Array, got ${describeValue(value)}`);
  }
  if (typeof size === 'number' && value.length !== size) {
    throw new InvalidArgumentError(name, `expected ${size} bytes, got ${value.length}`);
  }
  if (typeof size === 'object') {
    if (size.min !== undefined && value.length < size.min) {
      throw new InvalidArgumentError(name, `expected at least ${size.min} bytes, got ${value.length}`);
    }
    if (size.max !== undefined && value.length > size.max) {
      throw new InvalidArgumentError(name, `expected at most ${size.max} bytes, got ${value.length}`);
    }
  }
  return value;
}

export function optionalBytesArg(value: unknown, name: string, size?: number): Uint8Array | undefined {
  return value === undefined || value === null ? undefined : bytesArg(value, name, size);
}

export function boolArg(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean')
    throw new InvalidArgumentError(name, `expected a boolean, got ${describeValue(value)}`);
  return value;
}

export function countArg(value: unknown, name: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new InvalidArgumentError(name, `expected an integer in [0, ${max}], got ${String(value)}`);
  }
  return value;
}

/** A positive duration in ms (Infinity allowed: no deadline). */
export function durationArg(value: unknown, name: string): number {
  if (typeof value !== 'number' || !(value > 0)) {
    throw new InvalidArgumentError(name, `expected a positive number, got ${String(value)}`);
  }
  return value;
}

export function textArg(value: unknown, name: string): string {
  if (typeof value !== 'string')
    throw new InvalidArgumentError(name, `expected a string, got ${describeValue(value)}`);
  return value;
}
