import { resolve } from "node:path";
import { defineConfig } from "vite";

// Two pages: the owner's vault at `/` and the recipient's page at `/s` (links are `<public_url>/s#1.…`).
// Assets get content hashes, so the server can cache them forever; pages are served with no-store.
export default defineConfig({
  base: "./",
  build: {
    target: "es2022",
    outDir: "dist",
    emptyOutDir: true,
    // No inline scripts or styles anywhere: the pages run under a CSP without 'unsafe-inline'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: {
        index: resolve(import.meta.dirname, "index.html"),
        s: resolve(import.meta.dirname, "s.html"),
      },
    },
  },
});
