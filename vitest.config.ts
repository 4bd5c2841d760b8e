import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["driver/test/**/*.test.ts"],
    testTimeout: 20_000,
  },
});
