/** The two operator scripts: help, and clear refusals before anything starts. */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../../..");

function script(name: string, args: string[], env: Record<string, string> = {}) {
  const run = spawnSync(path.join(root, name), args, { cwd: root, encoding: "utf8", env: { PATH: process.env.PATH ?? "", ...env } });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("./start-spark-streaming.sh and ./stop-spark-streaming.sh", () => {
  it("explain themselves with --help", () => {
    const start = script("start-spark-streaming.sh", ["--help"]);
    expect(start.code).toBe(0);
    expect(start.stdout).toContain("--background");
    expect(start.stdout).toContain("--foreground");
    expect(start.stdout).toContain("SENSOR_STREAMING_TARGET");
    const stop = script("stop-spark-streaming.sh", ["--help"]);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain("gracefully");
  });

  it("refuse unknown options and targets with exit 64, before starting anything", () => {
    const option = script("start-spark-streaming.sh", ["--fast"]);
    expect(option.code).toBe(64);
    expect(option.stderr).toContain("unknown option --fast");
    const target = script("stop-spark-streaming.sh", [], { SENSOR_STREAMING_TARGET: "cloud" });
    expect(target.code).toBe(64);
    expect(target.stderr).toContain("SENSOR_STREAMING_TARGET must be local or docker");
  });
});
