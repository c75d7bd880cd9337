import { defineConfig } from "vitest/config";

// Browser end-to-end tests: the real `sharelock` binary on 127.0.0.1 and Debian's Chromium via
// playwright-core. One file at a time, so two Chromiums never compete for this machine's cores.
export default defineConfig({
  test: {
    include: ["e2e/**/*.test.ts"],
    environment: "node",
    testTimeout: 180_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
