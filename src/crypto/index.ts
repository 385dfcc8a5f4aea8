export * from './bacap.js';
export * from './hash.js';
