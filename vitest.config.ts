import { defineConfig } from 'vitest/config';

// The default suite: unit, model, integration (client ⇄ devnet over real sockets), the runnable
// examples, chaos (SIGKILLed daemons), hostile peers and fuzz.
// Interop against reference clients lives in test/interop and has its own config.
export default defineConfig({
  test: {
    include: ['test/{unit,model,integration,fuzz,examples,chaos,hostile}/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
