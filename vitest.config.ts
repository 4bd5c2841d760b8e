import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["driver/test/**/*.test.ts"],
          exclude: ["driver/test/e2e/**"],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["driver/test/e2e/**/*.e2e.test.ts"],
          // Starts the local stack once (installing it on first use) and builds the runner.
          globalSetup: ["driver/test/e2e/support/global-setup.ts"],
          // One Spark job at a time (the machine has two cores): every file in one process.
          pool: "forks",
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 600_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
