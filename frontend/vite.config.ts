import { defineConfig } from "vitest/config";

// Built into dist/ and served by Django's staticfiles under /static/ (index.html by frontend/views.py).
export default defineConfig({
  base: "/static/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { outDir: "dist", emptyOutDir: true, assetsDir: "assets", sourcemap: false },
  test: { environment: "jsdom", globals: true, include: ["src/**/*.test.ts"] },
});
