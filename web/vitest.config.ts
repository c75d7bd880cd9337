import { defineConfig } from "vitest/config";

// Unit and protocol-vector tests: node's WebCrypto is the same API the browser has.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
  },
});
