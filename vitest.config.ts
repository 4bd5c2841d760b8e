import path from "node:path";
import { defineConfig } from "vitest/config";

/** .ci/run asks for a JSON report of each vitest run (npm test runs two) in this folder. */
const reportDir = process.env.SENSOR_STREAMING_TEST_REPORTS;

export default defineConfig({
  test: {
    ...(reportDir === undefined ? {} : { reporters: ["default", "json"], outputFile: { json: path.join(reportDir, `report-${process.pid}.json`) } }),
    projects: [
      {
        test: {
          name: "unit",
          include: ["driver/test/**/*.test.ts"],
          exclude: ["driver/test/e2e/**", "driver/test/cluster/**"],
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
      {
        test: {
          name: "cluster",
          // The distributed topology: HDFS, a Spark standalone master with two workers, Livy
          // submitting to it (infrastructure/local/stack.sh up --cluster). Run after the e2e
          // project, in a vitest run of its own (npm test does), as both change Livy's mode.
          include: ["driver/test/cluster/**/*.cluster.test.ts"],
          globalSetup: ["driver/test/e2e/support/global-setup-cluster.ts"],
          pool: "forks",
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 900_000,
          hookTimeout: 900_000,
        },
      },
    ],
  },
});
