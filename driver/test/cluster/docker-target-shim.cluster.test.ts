/**
 * The `docker` staging target (SENSOR_STREAMING_TARGET=docker, as the Compose cluster uses it)
 * run against the cluster mode of the local stack, with a DOCKER SHIM: there is no Docker engine
 * on this machine, so a stand-in `docker` runs each `docker exec spark-master CMD` as CMD on this
 * host and each `docker cp SRC spark-master:DST` as a copy, and records every call. What the shim
 * cannot prove is the container itself; everything else is real: the commands the CLI sends,
 * the files they stage where Livy (allowed folder: the stack's staging) reads them, the job on
 * the standalone master writing Parquet to HDFS, and the stop through the HDFS marker.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebHdfs, parseHdfsUri } from "../../src/hdfs/webhdfs.js";
import { LivyClient } from "../../src/livy/livy-client.js";
import { e2eCliEnv, e2eSpecNamed, runCli, type CliRun } from "../e2e/support/cli.js";
import { recreateDatabase } from "../e2e/support/influx.js";
import { readSinkRows } from "../e2e/support/parquet.js";
import { produce } from "../e2e/support/produce.js";
import { generate, message, registryCsv } from "../e2e/support/readings.js";
import { waitFor } from "../e2e/support/runner-process.js";
import { ensureClusterStack, root, type ClusterEnv } from "../e2e/support/stack.js";

const PIPELINE = "e2e_docker_target";
const T0 = Date.UTC(2026, 10, 6, 8, 0, 0);

let env: ClusterEnv;
let work: string;
let spec: string;
let cliEnv: NodeJS.ProcessEnv;
let base: string;
let hdfs: WebHdfs;
let calls: string;

function cli(args: readonly string[]): Promise<CliRun> {
  return runCli(args, cliEnv);
}

beforeAll(async () => {
  ({ env } = await ensureClusterStack());
  work = mkdtempSync(path.join(os.tmpdir(), "sensor-docker-target-"));
  const suffix = path.basename(work).slice(-6).toLowerCase();
  base = `${env.HDFS_URL}/e2e-docker-${suffix}`;
  hdfs = WebHdfs.forUri(base, { ...process.env, WEBHDFS_URL: env.WEBHDFS_URL }).fs;
  await recreateDatabase(env.INFLUXDB_URL, "sensors_e2e");

  calls = path.join(work, "docker-calls.log");
  const shim = path.join(work, "docker");
  writeFileSync(
    shim,
    `#!/usr/bin/env bash
# Docker shim (no Docker engine here): the "spark-master container" is this host.
set -euo pipefail
printf '%s\\n' "$*" >> '${calls}'
case "$1" in
  exec) [[ "$2" == spark-master ]] || { echo "no such container: $2" >&2; exit 1; }; shift 2; exec "$@" ;;
  cp) [[ "$3" == spark-master:* ]] || { echo "unexpected cp target $3" >&2; exit 1; }; cp -r "$2" "\${3#spark-master:}" ;;
  *) echo "docker shim: unsupported command $1" >&2; exit 2 ;;
esac
`,
  );
  chmodSync(shim, 0o755);

  const runtime = process.env.SENSOR_STREAMING_RUNTIME ?? path.join(root, ".local-stack");
  spec = e2eSpecNamed(work, PIPELINE);
  cliEnv = {
    ...e2eCliEnv(env, work, `docker-target-${suffix}`),
    SENSOR_STREAMING_TARGET: "docker",
    SPARK_MASTER_CONTAINER: "spark-master",
    DOCKER: shim,
    // The folder "in the container" (SENSOR_STREAMING_CONTAINER_STAGING, the docker target's own
    // variable): in the Compose cluster the one its Livy allows; here, through the shim, the
    // stack's staging, which the stack's Livy allows. The stack's SENSOR_STREAMING_STAGING (in
    // env) is the same folder, but the docker target no longer reads it.
    SENSOR_STREAMING_CONTAINER_STAGING: path.join(runtime, "staging"),
    E2E_DIR: base,
    E2E_REGISTRY: `${base}/registry.csv`,
    REGISTRY_PATH: `${base}/registry.csv`,
    CHECKPOINT_DIR: `${base}/checkpoints`,
    RAW_PATH: `${base}/raw`,
    REJECTED_PATH: `${base}/rejected`,
    INFLUX_REFUSED_PATH: `${base}/influx-refused`,
  };
  const registry = path.join(work, "registry.csv");
  writeFileSync(registry, registryCsv());
  const upload = await cli(["registry", "upload", registry, spec, "--profile", "hdfs"]);
  expect(upload.code, upload.stderr).toBe(0);
}, 900_000);

afterAll(async () => {
  if (env === undefined) return;
  await cli(["stop", spec, "--profile", "hdfs", "--timeout", "60"]).catch(() => undefined);
  const livy = new LivyClient(env.LIVY_URL);
  for (const batch of await livy.list().catch(() => [])) {
    if (String(batch.name).startsWith(`sensor-streaming-${PIPELINE}`) && !["success", "dead", "killed", "error"].includes(batch.state))
      await livy.delete(batch.id);
  }
  await hdfs.delete(parseHdfsUri(base)!.path, true).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

describe("SENSOR_STREAMING_TARGET=docker against the cluster-mode stack (docker shim: no Docker engine here)", () => {
  it("stages through docker cp/exec, runs on the standalone cluster through Livy, and stops through the HDFS marker", async () => {
    const readings = generate(T0, T0 + 2 * 60_000, 10_000, 21);
    const offsets = await produce(env.KAFKA_BOOTSTRAP, cliEnv.E2E_TOPIC!, readings.map(message));

    const start = await cli(["start", spec, "--profile", "hdfs", "--no-supervise"]);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stdout + start.stderr).toContain("container spark-master:");

    // The commands a real container would have received: a content-addressed folder copied
    // beside its place and moved in, the runner jar, and nothing but exec and cp.
    const log = readFileSync(calls, "utf8").trim().split("\n");
    const staging = cliEnv.SENSOR_STREAMING_CONTAINER_STAGING!;
    expect(log).toContainEqual(expect.stringMatching(new RegExp(`^cp \\S+ spark-master:${staging}/${PIPELINE}/[0-9a-f]{16}\\.partial$`)));
    expect(log).toContainEqual(
      expect.stringMatching(new RegExp(`^exec spark-master mv ${staging}/${PIPELINE}/[0-9a-f]{16}\\.partial ${staging}/${PIPELINE}/[0-9a-f]{16}$`)),
    );
    expect(log).toContainEqual(expect.stringMatching(/^cp \S+\.jar spark-master:\S+\/runner\/sensor-streaming-runner-[0-9a-f]{16}\.jar$/));
    // Then made readable for Livy's user, whatever the umask of the machine that copied them.
    expect(log).toContainEqual(
      expect.stringMatching(
        new RegExp(`^exec spark-master chmod -R a\\+rX ${staging}/${PIPELINE}/[0-9a-f]{16} ${staging}/runner/sensor-streaming-runner-[0-9a-f]{16}\\.jar$`),
      ),
    );
    expect(log.every((line) => /^(exec|cp) /.test(line))).toBe(true);

    // Livy runs the staged plan: every valid reading lands once in Parquet on HDFS.
    await waitFor(
      "the readings in Parquet on HDFS",
      async () => ((await readSinkRows(`${base}/raw`).catch(() => [])).length >= readings.length ? true : undefined),
      400_000,
    );
    const rows = await readSinkRows(`${base}/raw`);
    expect(rows.map((r) => String(r.kafka_offset)).sort()).toEqual([...offsets].sort());
    expect(new Set(rows.map((r) => r.device_id))).toEqual(new Set(readings.map((r) => r.device.devEui)));

    // A second start is refused while the job runs, before anything is sent to the container.
    const callsBefore = readFileSync(calls, "utf8").split("\n").length;
    const again = await cli(["start", spec, "--profile", "hdfs", "--no-supervise"]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already runs as Livy batch/);
    expect(readFileSync(calls, "utf8").split("\n").length).toBe(callsBefore);

    const stop = await cli(["stop", spec, "--profile", "hdfs", "--timeout", "120"]);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toMatch(/stopped gracefully/);
    const logs = await cli(["logs", spec, "--profile", "hdfs"]);
    expect(logs.stdout).toMatch(/"event":"runner-stopping".*stop marker hdfs:\/\/localhost:\d+\/e2e-docker-/);
  });
});
