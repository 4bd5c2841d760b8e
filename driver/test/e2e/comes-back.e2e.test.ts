/**
 * The job comes back without a human: the pipeline is started through Livy with the CLI (which
 * launches its supervisor), the Spark driver is killed with SIGKILL under load, and the test
 * counts that a new batch runs on its own and that every reading is in Parquet and InfluxDB
 * exactly once. `stop` then ends the supervisor and the job, and nothing restarts it.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LivyClient } from "../../src/livy/livy-client.js";
import { e2eCliEnv, runCli } from "./support/cli.js";
import { influxQuery, recreateDatabase } from "./support/influx.js";
import { readSinkRows } from "./support/parquet.js";
import { generate, message, registryCsv } from "./support/readings.js";
import { waitFor } from "./support/runner-process.js";
import { produce as produceTo } from "./support/produce.js";
import { ensureStack, root, type StackEnv } from "./support/stack.js";

const DATABASE = "sensors_e2e";
const PIPELINE = "e2e_comes_back";
let env: StackEnv;
let work: string;
let spec: string;
let cliEnv: NodeJS.ProcessEnv;
let topic: string;
const offsets: string[] = [];

async function produce(values: string[]): Promise<void> {
  offsets.push(...(await produceTo(env.KAFKA_BOOTSTRAP, topic, values)));
}

function stateFile(): { batchId: number } | undefined {
  try {
    return JSON.parse(readFileSync(path.join(work, "state", `${PIPELINE}.json`), "utf8")) as { batchId: number };
  } catch {
    return undefined;
  }
}

/** The Spark driver JVM of the pipeline's batch: spark-submit started by Livy with the runner. */
function driverPids(): number[] {
  const out = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((line) => line.includes("io.sensorstreaming.runner.Runner") && line.includes(`/${PIPELINE}/`) && line.includes("java"))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

/** Readings with a light level: each is one `light_level` value in InfluxDB. */
let withLight = 0;

async function arrived(): Promise<boolean | undefined> {
  const raw = await readSinkRows(path.join(work, "data", "raw")).catch(() => []);
  const series = await influxQuery(env.INFLUXDB_URL, DATABASE, 'SELECT count("light_level") FROM "sensor_readings"').catch(() => undefined);
  return raw.length >= offsets.length && Number(series?.values[0]?.[1] ?? 0) >= withLight ? true : undefined;
}

beforeAll(async () => {
  ({ env } = await ensureStack());
  work = mkdtempSync(path.join(os.tmpdir(), "sensor-comes-back-"));
  topic = `comes-back-${path.basename(work).slice(-6).toLowerCase()}`;
  writeFileSync(path.join(work, "registry.csv"), registryCsv());
  await recreateDatabase(env.INFLUXDB_URL, DATABASE);
  const text = readFileSync(path.join(root, "driver/test/e2e/e2e-spec.yaml"), "utf8").replace("name: e2e\n", `name: ${PIPELINE}\n`);
  spec = path.join(work, `${PIPELINE}.yaml`);
  writeFileSync(spec, text);
  cliEnv = e2eCliEnv(env, work, topic);
});

afterAll(async () => {
  await runCli(["stop", spec, "--timeout", "30"], cliEnv);
  const livy = new LivyClient(env.LIVY_URL);
  for (const batch of await livy.list()) {
    if (String(batch.name).startsWith(`sensor-streaming-${PIPELINE}-`) && !["success", "dead", "killed", "error"].includes(batch.state))
      await livy.delete(batch.id);
  }
});

describe("a killed Spark driver comes back on its own", () => {
  const T0 = Date.UTC(2026, 10, 4, 9, 0, 0);

  it("restarts the job after kill -9 of the driver; nothing lost, nothing duplicated; stop ends it for good", async () => {
    const first = generate(T0, T0 + 3 * 60_000, 10_000, 5);
    await produce(first.map(message));
    withLight = first.filter((r) => r.light_level !== undefined).length;
    const start = await runCli(["start", spec], cliEnv);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stdout).toMatch(/supervised: submitted again if its job dies \(supervisor pid \d+/);
    const supervisorPid = Number(/supervisor pid (\d+)/.exec(start.stdout)![1]);
    const firstBatch = stateFile()!.batchId;
    await waitFor("phase 1 in Parquet and InfluxDB", arrived, 240_000);

    const pids = driverPids();
    expect(pids.length, "the driver JVM of the batch").toBeGreaterThan(0);
    for (const pid of pids) process.kill(pid, "SIGKILL");
    const second = generate(T0 + 3 * 60_000, T0 + 6 * 60_000, 10_000, 6);
    await produce(second.map(message));
    withLight += second.filter((r) => r.light_level !== undefined).length;

    await waitFor(
      "a new batch started by the supervisor",
      async () => {
        const now = stateFile()?.batchId;
        return now !== undefined && now !== firstBatch ? true : undefined;
      },
      300_000,
    );
    const supervisorLogFile = path.join(work, "state", `${PIPELINE}.supervisor.log`);
    await waitFor(
      "the supervisor to see its new job run",
      async () => (/restarted pipeline/.test(readFileSync(supervisorLogFile, "utf8")) ? true : undefined),
      300_000,
    );
    await waitFor("phase 2 in Parquet and InfluxDB", arrived, 300_000);
    const status = await runCli(["status", spec, "--json"], cliEnv);
    expect((JSON.parse(status.stdout) as { running: boolean }).running, status.stdout).toBe(true);

    const raw = await readSinkRows(path.join(work, "data", "raw"));
    const rawOffsets = raw.map((r) => String(r.kafka_offset));
    expect(rawOffsets.length, "no raw row twice").toBe(new Set(rawOffsets).size);
    expect(new Set(rawOffsets)).toEqual(new Set(offsets));
    const series = await influxQuery(env.INFLUXDB_URL, DATABASE, 'SELECT count("light_level") FROM "sensor_readings"');
    expect(Number(series?.values[0]?.[1] ?? 0)).toBe(withLight);

    const supervisorLog = readFileSync(supervisorLogFile, "utf8");
    expect(supervisorLog).toMatch(/is not running: .*restarting it/);
    expect(supervisorLog).toMatch(/submitted the staged plan .* again as Livy batch/);
    expect(supervisorLog).toMatch(/restarted pipeline/);

    const stop = await runCli(["stop", spec], cliEnv);
    expect(stop.code, stop.stderr).toBe(0);
    expect(() => process.kill(supervisorPid, 0), "the supervisor has exited").toThrow();
    expect(existsSync(path.join(work, "state", `${PIPELINE}.supervisor.json`))).toBe(false);
    // Longer than a supervisor would need to notice and resubmit (5 s look + 5 s backoff + submit).
    await new Promise((r) => setTimeout(r, 30_000));
    const after = await runCli(["status", spec, "--json"], cliEnv);
    expect((JSON.parse(after.stdout) as { running: boolean }).running, "nothing restarts a stopped pipeline").toBe(false);
  }, 900_000);

  it("starts no second driver while a restarted Livy does not know the running one, and stop still ends it", async () => {
    const start = await runCli(["start", spec], cliEnv);
    expect(start.code, start.stderr).toBe(0);
    expect(driverPids()).toHaveLength(1);
    const driver = driverPids()[0]!;
    // Livy alone dies (not its process group): its Spark driver runs on, unseen by the new Livy.
    const livyPid = Number(readFileSync(path.join(root, ".local-stack/pids/livy.pid"), "utf8").trim());
    process.kill(livyPid, "SIGKILL");
    execFileSync(path.join(root, "infrastructure/local/stack.sh"), ["start", "livy"], { cwd: root, stdio: "ignore" });
    // Longer than the supervisor needs to look (5 s), back off (5 s) and submit.
    await new Promise((r) => setTimeout(r, 40_000));
    expect(driverPids(), "still the one driver, no twin on the same checkpoints").toEqual([driver]);
    const supervisorLog = readFileSync(path.join(work, "state", `${PIPELINE}.supervisor.log`), "utf8");
    expect(supervisorLog).toMatch(/wrote a heartbeat \d+ s ago: it runs outside Livy's view/);

    const stop = await runCli(["stop", spec], cliEnv);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toMatch(/the driver Livy did not know has stopped gracefully/);
    await waitFor("the unseen driver to end", async () => (driverPids().length === 0 ? true : undefined), 60_000);
  }, 600_000);
});
