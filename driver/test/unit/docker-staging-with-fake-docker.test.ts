/**
 * Staging into the Spark master container, with a FAKE `docker` command: there is no Docker
 * engine on this machine, so a stand-in script maps `docker exec` and `docker cp` onto a local
 * folder that plays the container's file system. It records every call, so the test checks the
 * commands the driver would run against a real container.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bindPlan } from "../../src/deploy/bind-plan.js";
import { DockerStagingTarget } from "../../src/deploy/staging-target.js";
import type { CompiledPipeline } from "../../src/emit/compiled-files.js";
import { PLAN_FORMAT, type PlanJson } from "../../src/emit/plan-json.js";

const scratch = mkdtempSync(path.join(os.tmpdir(), "sensor-fake-docker-"));
const container = path.join(scratch, "container");
const calls = path.join(scratch, "docker-calls.log");
const fakeDocker = path.join(scratch, "docker");
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

mkdirSync(container);
writeFileSync(
  fakeDocker,
  `#!/usr/bin/env bash
# Stand-in for the docker CLI (no Docker engine here): absolute paths live under the fake container root.
set -euo pipefail
root='${container}'
echo "$*" >> '${calls}'
case "$1" in
  exec) shift 2; args=(); for a in "$@"; do case "$a" in /*) args+=("$root$a") ;; *) args+=("$a") ;; esac; done; "\${args[@]}" ;;
  cp) cp -r "$2" "$root\${3#*:}" ;;
  *) echo "fake docker: unsupported $1" >&2; exit 2 ;;
esac
`,
);
chmodSync(fakeDocker, 0o755);

describe("DockerStagingTarget (fake docker: no Docker engine here)", () => {
  const jar = path.join(scratch, "runner.jar");
  // As a umask of 077 leaves it: docker cp keeps the mode, and Livy reads as another user.
  writeFileSync(jar, "jar bytes", { mode: 0o600 });
  chmodSync(jar, 0o600);
  const plan: PlanJson = {
    format: PLAN_FORMAT,
    pipeline: "schools",
    generatedFrom: "pipeline.yaml",
    sparkConf: {},
    sources: [],
    views: [{ name: "parsed_readings", sqlFile: "01-parsed-readings.sql", inputs: [] }],
    sinks: [
      {
        name: "raw",
        query: "parsed_readings",
        checkpoint: "${CP:-hdfs://namenode:9000/cp}/raw",
        outputMode: "append",
        trigger: { kind: "available-now" },
        kind: "parquet",
        path: "hdfs://namenode:9000/raw",
        partitionBy: [],
      },
    ],
  };
  /** The pipeline bound with its checkpoints under `cp`, as start stages it. */
  const bound = (cp: string): CompiledPipeline => ({ plan: bindPlan(plan, { CP: cp }, scratch), sql: { "01-parsed-readings.sql": "SELECT 1\n" } });
  const target = new DockerStagingTarget("spark-master", "/opt/sensor-streaming/staging", fakeDocker);

  it("copies the bound plan, the SQL and the runner jar into content-addressed folders", async () => {
    const staged = await target.stage(bound("hdfs://namenode:9000/checkpoints"), jar);
    expect(staged.reused).toBe(false);
    expect(staged.planFile).toMatch(/^\/opt\/sensor-streaming\/staging\/schools\/[0-9a-f]{16}\/plan\.json$/);
    const plan = JSON.parse(readFileSync(path.join(container, staged.planFile), "utf8")) as { sinks: Array<{ checkpoint: string }> };
    expect(plan.sinks[0]!.checkpoint).toBe("hdfs://namenode:9000/checkpoints/raw");
    expect(readFileSync(path.join(container, path.dirname(staged.planFile), "01-parsed-readings.sql"), "utf8")).toBe("SELECT 1\n");
    expect(readFileSync(path.join(container, staged.jarFile), "utf8")).toBe("jar bytes");
    // Checkpoints on HDFS: the stop marker lives beside them, where the runner polls it wherever
    // its driver runs, and this CLI writes it through WebHDFS.
    expect(staged.stopFile).toBe("hdfs://namenode:9000/checkpoints/_control/schools.STOP");
    const log = readFileSync(calls, "utf8");
    expect(log).toMatch(/^cp \S+ spark-master:\/opt\/sensor-streaming\/staging\/schools\/[0-9a-f]{16}\.partial$/m);
    expect(log).toMatch(/^exec spark-master mv \S+\.partial \S+[0-9a-f]{16}$/m);
    // Then made readable for Livy's user: the folder (recursively) and the jar, after both copies.
    const dir = path.dirname(staged.planFile);
    const chmod = `exec spark-master chmod -R a+rX ${dir} ${staged.jarFile}`;
    const lines = log.trim().split("\n");
    expect(lines).toContain(chmod);
    expect(lines.indexOf(chmod)).toBeGreaterThan(lines.findIndex((l) => l.startsWith("exec spark-master mv ")));
    expect(lines.indexOf(chmod)).toBeGreaterThan(lines.findIndex((l) => l.startsWith("cp ") && l.endsWith(".jar")));
    for (const file of [staged.jarFile, staged.planFile, path.join(dir, "01-parsed-readings.sql")]) {
      expect(statSync(path.join(container, file)).mode & 0o444, file).toBe(0o444);
    }
    expect(statSync(path.join(container, dir)).mode & 0o555).toBe(0o555);
  });

  it("reuses what is already in the container, and asks the runner to stop with docker exec", async () => {
    const again = await target.stage(bound("hdfs://namenode:9000/checkpoints"), jar);
    expect(again.reused).toBe(true);
    // Checkpoints on the container's disk: the marker is there too.
    const local = await target.stage(bound("/data/checkpoints"), jar);
    expect(local.stopFile).toBe("/opt/sensor-streaming/staging/schools/STOP");
    await target.requestStop(local.stopFile);
    expect(existsSync(path.join(container, local.stopFile))).toBe(true);
    expect(readFileSync(calls, "utf8")).toContain("exec spark-master touch /opt/sensor-streaming/staging/schools/STOP");
  });

  it("says what docker answered when a command fails", async () => {
    const broken = new DockerStagingTarget("spark-master", "/opt/x", path.join(scratch, "no-such-docker"));
    await expect(broken.requestStop("/opt/x/STOP")).rejects.toThrow(/docker exec in spark-master failed/);
  });
});
