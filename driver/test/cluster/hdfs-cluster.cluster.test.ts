/**
 * The pipeline on the distributed topology, as its users run it, with the same engines a cluster
 * uses (infrastructure/local/stack.sh up --cluster): the registry uploaded to HDFS, Livy
 * submitting to a Spark standalone master with two workers (the driver beside Livy, executors on
 * the workers), checkpoints, Parquet and dead letters on HDFS, the `hdfs` profile. Every HDFS
 * path of this suite has a space and a non-ASCII letter in it.
 *
 * One job runs through the file: correct results, a registry changed while it runs, a worker
 * killed, the driver killed and started again with ./start-spark-streaming.sh, a graceful stop
 * through the HDFS stop marker, and a spec edit that needs fresh state refused.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebHdfs, parseHdfsUri } from "../../src/hdfs/webhdfs.js";
import { LivyClient } from "../../src/livy/livy-client.js";
import { e2eCliEnv, e2eSpecNamed, runCli, type CliRun } from "../e2e/support/cli.js";
import { influxPoints, recreateDatabase } from "../e2e/support/influx.js";
import { readSinkRows } from "../e2e/support/parquet.js";
import { produce as produceTo } from "../e2e/support/produce.js";
import { DEVICES, expectedWindows, generate, message, type Reading } from "../e2e/support/readings.js";
import { waitFor } from "../e2e/support/runner-process.js";
import { ensureClusterStack, root, type ClusterEnv } from "../e2e/support/stack.js";

const DATABASE = "sensors_e2e";
const PIPELINE = "e2e_cluster";
const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 5, 8, 0, 0);
/** The device the first registry lacks and the second one adds. */
const NEW_DEVICE = DEVICES[DEVICES.length - 1]!;
const stack = path.join(root, "infrastructure/local/stack.sh");

let env: ClusterEnv;
let work: string;
let spec: string;
let cliEnv: NodeJS.ProcessEnv;
let base: string;
let hdfs: WebHdfs;
let topic: string;
const valid: Array<{ reading: Reading; offset: string }> = [];
const rejected: Array<{ offset: string; reason: string }> = [];

function registryOf(devices: typeof DEVICES): string {
  const quote = (s: string) => (/[",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return ["institute,DevEui,profile,classroom", ...devices.map((d) => [d.institute, d.devEui, d.profile, d.classroom].map(quote).join(","))].join("\n") + "\n";
}

async function sendValid(readings: readonly Reading[]): Promise<void> {
  const offsets = await produceTo(env.KAFKA_BOOTSTRAP, topic, readings.map(message));
  readings.forEach((reading, i) => valid.push({ reading, offset: offsets[i]! }));
}

async function sendRejected(readings: readonly Reading[], reason: string): Promise<void> {
  const offsets = await produceTo(env.KAFKA_BOOTSTRAP, topic, readings.map(message));
  offsets.forEach((offset) => rejected.push({ offset, reason }));
}

const rawLocation = () => `${base}/raw`;
const rejectedLocation = () => `${base}/rejected`;

async function rawOffsets(): Promise<string[]> {
  return (await readSinkRows(rawLocation()).catch(() => [])).map((r) => String(r.kafka_offset)).sort();
}

async function waitForRaw(what: string): Promise<void> {
  const want = valid.length;
  await waitFor(what, async () => ((await rawOffsets()).length >= want ? true : undefined), 400_000);
  // Exactly once: every valid reading once, nothing else.
  expect(await rawOffsets()).toEqual(valid.map((v) => v.offset).sort());
}

function cli(args: readonly string[]): Promise<CliRun> {
  return runCli(args, cliEnv);
}

function script(name: string, args: readonly string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    // The scripts run the stack themselves (stack.sh up, env): they need its settings from this
    // process (SENSOR_STREAMING_CACHE, ports), as an operator's shell would have them.
    const child = spawn(path.join(root, name), args, {
      cwd: root,
      env: { ...process.env, ...cliEnv, SENSOR_STREAMING_SPEC: spec, SENSOR_STREAMING_PROFILE: "hdfs" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function status(): Promise<{ running: boolean; batchId: number; state: string }> {
  return JSON.parse((await cli(["status", spec, "--profile", "hdfs", "--json"])).stdout) as { running: boolean; batchId: number; state: string };
}

/** The statistics InfluxDB holds, by classroom and window end. */
async function statistics(): Promise<Map<string, Record<string, string | number | null>>> {
  const points = await influxPoints(env.INFLUXDB_URL, DATABASE, "classroom_statistics");
  return new Map(points.map((p) => [JSON.stringify([p.institute, p.classroom, p.time]), p]));
}

function close(actual: unknown, expected: number, what: string): void {
  expect(typeof actual, what).toBe("number");
  const a = actual as number;
  expect(Math.abs(a - expected) <= 1e-9 * Math.max(Math.abs(a), Math.abs(expected)) + 1e-12, `${what}: ${a} vs ${expected}`).toBe(true);
}

/** Every window the watermark has closed is in InfluxDB with the independently computed values. */
async function expectWindows(watermark: number): Promise<void> {
  const expected = expectedWindows(
    valid.map((v) => v.reading),
    2 * MINUTE,
    MINUTE,
    watermark,
  );
  await waitFor(`${expected.length} statistics points`, async () => ((await statistics()).size >= expected.length ? true : undefined), 400_000);
  const points = await statistics();
  expect(points.size).toBe(expected.length);
  for (const window of expected) {
    const point = points.get(JSON.stringify([window.institute, window.classroom, window.end]));
    expect(point, `window of ${window.institute}/${window.classroom} ending ${new Date(window.end).toISOString()}`).toBeDefined();
    expect(point!.readings).toBe(window.readings);
    for (const [field, value] of Object.entries(window.stats)) {
      if (value === undefined) expect(point![field], `${field} must be absent`).toBeNull();
      else close(point![field], value, field);
    }
  }
}

/** The pid of the Spark driver of this suite's job (a JVM beside Livy, in client mode). */
function driverPid(): number | undefined {
  const out = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  const line = out.split("\n").find((l) => l.includes("org.apache.spark.deploy.SparkSubmit") && l.includes(`/${PIPELINE}/`) && l.includes("plan.json"));
  return line === undefined ? undefined : Number(line.trim().split(/\s+/)[0]);
}

function servicePid(name: string): number {
  const runtime = process.env.SENSOR_STREAMING_RUNTIME ?? path.join(root, ".local-stack");
  return Number(readFileSync(path.join(runtime, "pids", `${name}.pid`), "utf8").trim());
}

beforeAll(async () => {
  ({ env } = await ensureClusterStack());
  work = mkdtempSync(path.join(os.tmpdir(), "sensor-cluster-"));
  const suffix = path.basename(work).slice(-6).toLowerCase();
  base = `${env.HDFS_URL}/e2e-${suffix}/escoles dades é`;
  hdfs = WebHdfs.forUri(base, { ...process.env, WEBHDFS_URL: env.WEBHDFS_URL }).fs;
  topic = `cluster-${suffix}`;
  await recreateDatabase(env.INFLUXDB_URL, DATABASE);
  spec = e2eSpecNamed(work, PIPELINE);
  cliEnv = {
    ...e2eCliEnv(env, work, topic),
    // What the spec names, and what the hdfs profile puts in its place.
    E2E_DIR: base,
    E2E_REGISTRY: `${base}/registry.csv`,
    REGISTRY_PATH: `${base}/registry.csv`,
    CHECKPOINT_DIR: `${base}/checkpoints`,
    RAW_PATH: rawLocation(),
    REJECTED_PATH: rejectedLocation(),
    INFLUX_REFUSED_PATH: `${base}/influx-refused`,
  };
}, 900_000);

afterAll(async () => {
  if (env === undefined) return;
  await script("stop-spark-streaming.sh", ["--timeout", "60"]).catch(() => undefined);
  const livy = new LivyClient(env.LIVY_URL);
  for (const batch of await livy.list().catch(() => [])) {
    if (String(batch.name).startsWith(`sensor-streaming-${PIPELINE}`) && !["success", "dead", "killed", "error"].includes(batch.state))
      await livy.delete(batch.id);
  }
  // HDFS keeps its files across runs: this run's folder goes.
  const folder = parseHdfsUri(base)!.path.split("/").slice(0, 2).join("/");
  await hdfs.delete(folder, true).catch((error: Error) => console.error(`could not remove ${folder} from HDFS: ${error.message}`));
  // Services a failed test left stopped.
  execFileSync(stack, ["start", "spark-worker-1", "hdfs-namenode", "hdfs-datanode"], { cwd: root, stdio: "ignore" });
});

describe("on HDFS and a Spark standalone cluster, through Livy", () => {
  const phaseA = generate(T0, T0 + 5 * MINUTE, 20_000, 11).filter((r) => r.device !== NEW_DEVICE);
  const advanceA: Reading = { device: DEVICES[0]!, t: T0 + 10 * MINUTE, temperature: 20, co2: 500, light_level: 10 };

  it("checks the registry before it writes it to HDFS, then uploads it and shows it", async () => {
    const bad = path.join(work, "bad.csv");
    writeFileSync(bad, registryOf(DEVICES.slice(0, 2)) + `${DEVICES[0]!.institute},${DEVICES[0]!.devEui},iaq,Aula 9\n`);
    const refused = await cli(["registry", "upload", bad, spec, "--profile", "hdfs"]);
    expect(refused.code, refused.stderr).toBe(12);
    expect(refused.stderr).toMatch(/line 4/);
    expect(await hdfs.status(`${parseHdfsUri(base)!.path}/registry.csv`)).toBeUndefined();

    const first = path.join(work, "registry-1.csv");
    writeFileSync(first, registryOf(DEVICES.filter((d) => d !== NEW_DEVICE)));
    const upload = await cli(["registry", "upload", first, spec, "--profile", "hdfs"]);
    expect(upload.code, upload.stderr).toBe(0);
    expect(upload.stdout).toContain(`${DEVICES.length - 1} added`);
    const show = await cli(["registry", "show", spec, "--profile", "hdfs"]);
    expect(show.code, show.stderr).toBe(0);
    for (const device of DEVICES.filter((d) => d !== NEW_DEVICE)) expect(show.stdout).toContain(device.devEui);
    expect(show.stdout).not.toContain(NEW_DEVICE.devEui);
  });

  it("computes raw rows exactly once, dead letters and statistics on the cluster", async () => {
    await sendValid(phaseA);
    await sendRejected([{ device: NEW_DEVICE, t: T0 + MINUTE, temperature: 21 }], "device not in the registry");
    await sendValid([advanceA]);

    const start = await cli(["start", spec, "--profile", "hdfs", "--no-supervise"]);
    expect(start.code, start.stderr).toBe(0);
    // The job runs on the standalone master, with an executor on each worker.
    const master = (await (await fetch(`http://localhost:${process.env.SPARK_MASTER_WEBUI_PORT ?? 8080}/json/`)).json()) as {
      activeapps: Array<{ name: string; cores: number }>;
    };
    expect(master.activeapps.find((a) => a.name === `sensor-streaming ${PIPELINE}`)?.cores).toBe(2);

    await waitForRaw("every valid reading in Parquet on HDFS");
    const dead = await readSinkRows(rejectedLocation());
    expect(dead.map((r) => [String(r.kafka_offset), r.reject_reason]).sort()).toEqual(rejected.map((r) => [r.offset, r.reason]).sort());
    await expectWindows(advanceA.t - 30_000);

    const inspect = await cli(["inspect", "raw", spec, "--profile", "hdfs", "--limit", "2", "--columns", "kafka_offset,device_id"]);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).toContain(`rows read from ${rawLocation()}`);
  });

  it("picks up a registry with a new device while it runs, without a restart", async () => {
    const before = await status();
    const second = path.join(work, "registry-2.csv");
    writeFileSync(second, registryOf(DEVICES));
    const upload = await cli(["registry", "upload", second, spec, "--profile", "hdfs"]);
    expect(upload.code, upload.stderr).toBe(0);
    expect(upload.stdout).toContain(NEW_DEVICE.devEui);
    await waitFor(
      "the runner to read the new registry",
      async () => ((await cli(["logs", spec, "--profile", "hdfs"])).stdout.includes('"event":"static-input-reloaded"') ? true : undefined),
      120_000,
    );
    await sendValid(generate(T0 + 10 * MINUTE + 1_000, T0 + 11 * MINUTE, 20_000, 12).filter((r) => r.device === NEW_DEVICE));
    await waitForRaw("the new device's readings in Parquet");
    const after = await status();
    expect(after).toMatchObject({ running: true, batchId: before.batchId });
  });

  it("loses and duplicates nothing when a worker is killed mid-stream", async () => {
    const worker = servicePid("spark-worker-1");
    await sendValid(generate(T0 + 11 * MINUTE, T0 + 12 * MINUTE, 10_000, 13));
    process.kill(worker, "SIGKILL");
    await sendValid(generate(T0 + 12 * MINUTE, T0 + 13 * MINUTE, 10_000, 14));
    await waitForRaw("every reading, with one worker gone");
    execFileSync(stack, ["start", "spark-worker-1"], { cwd: root, stdio: "ignore" });
    await sendValid(generate(T0 + 13 * MINUTE, T0 + 14 * MINUTE, 10_000, 15));
    await waitForRaw("every reading, with the worker back");
    expect((await status()).running).toBe(true);
    // The fault really reached the job: Spark lost the executor that ran on the killed worker.
    expect((await cli(["logs", spec, "--profile", "hdfs"])).stdout).toMatch(/Lost executor \d+ on|Executor lost|worker lost/i);
  });

  it("resumes from the HDFS checkpoints after the driver is killed, started again with ./start-spark-streaming.sh", async () => {
    const advance: Reading = { device: DEVICES[0]!, t: T0 + 20 * MINUTE, temperature: 22, co2: 520, light_level: 12 };
    const closedBefore = await statistics();
    const pid = driverPid();
    expect(pid, "the Spark driver's process").toBeDefined();
    process.kill(pid!, "SIGKILL");
    await sendValid(generate(T0 + 14 * MINUTE, T0 + 16 * MINUTE, 15_000, 16));
    await sendValid([advance]);
    await waitFor("Livy to see the driver gone", async () => ((await status()).running ? undefined : true), 120_000);

    const start = await script("start-spark-streaming.sh", ["--background"]);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stderr).toContain("resumes from its checkpoint");
    await waitForRaw("every reading after the restart");
    await expectWindows(advance.t - 30_000);
    // Windows closed before the kill are unchanged.
    const now = await statistics();
    for (const [key, point] of closedBefore) expect(now.get(key), key).toEqual(point);
  });

  it("keeps what HDFS holds when its daemons stop and start again", async () => {
    execFileSync(stack, ["stop", "hdfs-datanode", "hdfs-namenode"], { cwd: root, stdio: "ignore" });
    const away = await cli(["registry", "show", spec, "--profile", "hdfs"]);
    expect(away.code).toBe(3);
    expect(away.stderr).toContain("cannot reach WebHDFS");
    execFileSync(stack, ["start", "hdfs-namenode", "hdfs-datanode"], { cwd: root, stdio: "ignore" });
    const back = await cli(["registry", "show", spec, "--profile", "hdfs"]);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain(`(${DEVICES.length} devices in`);
    expect(await rawOffsets()).toEqual(valid.map((v) => v.offset).sort());
  });

  it("stops gracefully through the stop marker on HDFS, and refuses a spec edit that needs fresh state", async () => {
    const stop = await script("stop-spark-streaming.sh", []);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toMatch(/stopped gracefully in \d+ s \(success\)/);
    const logs = await cli(["logs", spec, "--profile", "hdfs"]);
    expect(logs.stdout).toMatch(/"event":"runner-stopping".*stop marker hdfs:\/\/localhost:\d+\/e2e-/);
    const control = `${parseHdfsUri(base)!.path}/checkpoints/${PIPELINE}/_control`;
    expect(await hdfs.status(`${control}/${PIPELINE}.STOP`)).toBeUndefined();
    expect(await hdfs.status(`${control}/${PIPELINE}.STOP.alive`)).toBeUndefined();

    const changed = path.join(work, "changed.yaml");
    writeFileSync(
      changed,
      readFileSync(spec, "utf8").replace("{ name: 2m, size: 2 minutes, slide: 1 minute,", "{ name: 2m, size: 4 minutes, slide: 1 minute,"),
    );
    const refused = await cli(["start", changed, "--profile", "hdfs", "--no-supervise"]);
    expect(refused.code, refused.stderr).toBe(9);
    expect(refused.stderr).toContain("influx_window_2m: the state of window_2m changed");
    expect((await status()).running).toBe(false);
  });
});
