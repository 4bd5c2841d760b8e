/**
 * Benchmark of the schools pipeline on the local stack (Kafka in, Parquet and InfluxDB out):
 *  1. throughput: readings per second the job sustains while catching up on a backlog;
 *  2. window latency: wall time from the reading that closes windows (its event time moves the
 *     watermark past their end) to their statistics points being in InfluxDB.
 * Prints its figures; nothing asserts on them.
 * Usage: npm run bench [-- READINGS] [--mode local|cluster|both]
 *   local    Spark local[*], files on the local disk (default)
 *   cluster  the stack's cluster mode: a Spark standalone master with two workers (one core
 *            each), checkpoints and Parquet on HDFS
 *   both     one after the other on the same backlog size, and a table side by side
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { stageLocal } from "../driver/src/deploy/stage-local.js";
import { compiledFiles } from "../driver/src/emit/compiled-files.js";
import { buildPlan } from "../driver/src/plan/build-plan.js";
import { loadSpec } from "../driver/src/spec/load.js";
import { parseRegistryCsv, readingMessage, seededRandom } from "../driver/src/simulator/readings.js";

const root = path.resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const modeAt = args.indexOf("--mode");
const modeArg = modeAt >= 0 ? args.splice(modeAt, 2)[1] : "local";
if (!["local", "cluster", "both"].includes(modeArg ?? "")) throw new Error(`--mode must be local, cluster or both, not ${modeArg}`);
const readings = Number(args[0] ?? 200_000);
const stack = path.join(root, "infrastructure/local/stack.sh");
const PREFIX = "SENSOR_STREAMING_EVENT ";

type Mode = "local" | "cluster";

interface Figures {
  readonly mode: Mode;
  readonly firstBatchS: number;
  readonly wallS: number;
  readonly perSecond: number;
  readonly rawQueryPerSecond: number;
  readonly batches: number;
  readonly windowLatencyS: number | undefined;
}

function envFromStack(mode: Mode): Record<string, string> {
  execFileSync(stack, mode === "cluster" ? ["up", "--cluster"] : ["up"], { stdio: "inherit" });
  const out: Record<string, string> = {};
  for (const line of execFileSync(stack, ["env"], { encoding: "utf8" }).split("\n")) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.replace(/\\(.)/g, "$1").replace(/^'(.*)'$/, "$1");
  }
  return out;
}

/**
 * A fresh database. InfluxDB 1.6 may finish a DROP after answering it: a CREATE right behind it
 * can be undone, so the database is created until SHOW DATABASES lists it for a while.
 */
async function recreateDatabase(url: string, database: string): Promise<void> {
  const query = (q: string) => fetch(`${url}/query`, { method: "POST", body: new URLSearchParams({ q }) }).then((r) => r.text());
  await query(`DROP DATABASE "${database}"`);
  for (let stable = 0, attempt = 0; stable < 3; attempt++) {
    if (attempt > 50) throw new Error(`InfluxDB at ${url} does not keep the database ${database}`);
    if ((await query("SHOW DATABASES")).includes(`["${database}"]`)) stable++;
    else {
      stable = 0;
      await query(`CREATE DATABASE "${database}"`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function influxCount(url: string, db: string, measurement: string): Promise<number> {
  const response = await fetch(`${url}/query`, { method: "POST", body: new URLSearchParams({ db, q: `SELECT count(readings) FROM "${measurement}"` }) });
  const body = (await response.json()) as { results: Array<{ series?: Array<{ values: number[][] }> }> };
  return body.results[0]?.series?.[0]?.values[0]?.[1] ?? 0;
}

async function run(mode: Mode): Promise<Figures> {
  const env = envFromStack(mode);
  execFileSync(path.join(root, "infrastructure/spark/runner/build.sh"), { stdio: "inherit", env: { ...process.env, SPARK_HOME: env.SPARK_HOME } });
  const work = mkdtempSync(path.join(os.tmpdir(), "sensor-bench-"));
  const topic = `bench-${path.basename(work).slice(-6).toLowerCase()}`;
  const database = "sensors";
  await recreateDatabase(env.INFLUXDB_URL!, database);

  // The backlog: readings of every registered device over an hour of event time.
  const devices = parseRegistryCsv(readFileSync(path.join(root, "data/registry.csv"), "utf8"));
  const random = seededRandom(7);
  const start = Date.UTC(2026, 0, 12, 8, 0, 0);
  const span = 60 * 60_000;
  const kafka = new Kafka({ clientId: "bench", brokers: [env.KAFKA_BOOTSTRAP!], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  const produceStart = Date.now();
  for (let i = 0; i < readings; i += 5000) {
    const messages = [];
    for (let j = i; j < Math.min(readings, i + 5000); j++) {
      const device = devices[j % devices.length]!;
      messages.push({ value: JSON.stringify(readingMessage(device, start + Math.floor((j / readings) * span), random)) });
    }
    await producer.send({ topic, messages });
  }
  console.log(`produced ${readings} readings (${devices.length} devices, 1 h of event time) in ${((Date.now() - produceStart) / 1000).toFixed(1)} s`);

  // The cluster mode keeps every file on HDFS, as the deployment does.
  const files = mode === "cluster" ? `${env.HDFS_URL}/bench/${path.basename(work)}` : work;
  const bindings = { ...process.env, ...env, KAFKA_TOPIC: topic, CHECKPOINT_DIR: `${files}/checkpoints`, RAW_PATH: `${files}/raw`, REJECTED_PATH: `${files}/rejected`, INFLUX_REFUSED_PATH: `${files}/refused` };
  const loaded = loadSpec("conf/pipeline.yaml", { env: bindings, profile: "local", cwd: root });
  if (loaded.spec === undefined) throw new Error("conf/pipeline.yaml is not valid");
  const plan = buildPlan(loaded.spec, loaded.specFile);
  const staged = stageLocal(plan.pipeline, compiledFiles(plan), bindings, root, path.join(work, "staging"));

  const jobStart = Date.now();
  const child = spawn(
    path.join(env.SPARK_HOME!, "bin/spark-submit"),
    ["--master", mode === "cluster" ? env.SPARK_MASTER_URL! : "local[*]", "--driver-memory", "2g", "--conf", "spark.ui.enabled=false", "--jars", env.SPARK_KAFKA_JARS!, "--class", "io.sensorstreaming.runner.Runner",
      path.join(root, "infrastructure/spark/runner/build/sensor-streaming-runner.jar"), staged.planFile, "--stop-file", `file://${path.join(work, "STOP")}`],
    { stdio: ["ignore", "pipe", "ignore"], env: { ...process.env, SPARK_HOME: env.SPARK_HOME, SPARK_LOCAL_IP: "127.0.0.1" } },
  );
  const rawBatches: Array<{ at: number; rows: number; durationMs: number }> = [];
  let firstRawBatchAt: number | undefined;
  let pending = "";
  child.stdout.on("data", (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines.filter((l) => l.startsWith(PREFIX))) {
      const event = JSON.parse(line.slice(PREFIX.length)) as { event: string; query?: string; progress?: { numInputRows: number; durationMs: { triggerExecution: number } } };
      if (event.event === "query-progress" && event.query === "raw_parquet" && event.progress!.numInputRows > 0) {
        firstRawBatchAt ??= Date.now() - event.progress!.durationMs.triggerExecution;
        rawBatches.push({ at: Date.now(), rows: event.progress!.numInputRows, durationMs: event.progress!.durationMs.triggerExecution });
      }
    }
  });
  const rawRows = () => rawBatches.reduce((a, b) => a + b.rows, 0);
  while (rawRows() < readings) {
    if (child.exitCode !== null) throw new Error(`the job ended early (exit ${child.exitCode})`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const caughtUp = Date.now();
  const busyMs = rawBatches.reduce((a, b) => a + b.durationMs, 0);
  const wallS = (caughtUp - firstRawBatchAt!) / 1000;
  console.log(`[${mode}] job start to first batch: ${((firstRawBatchAt! - jobStart) / 1000).toFixed(1)} s`);
  console.log(`[${mode}] raw Parquet query: ${readings} readings in ${rawBatches.length} micro-batches, ${wallS.toFixed(1)} s wall`);
  console.log(`[${mode}] throughput (5 queries sharing 2 cores): ${Math.round(readings / wallS)} readings/s wall, raw query alone ${Math.round(readings / (busyMs / 1000))} readings/s of batch time`);

  // Let the window queries catch up too, then close windows with one reading far ahead.
  const expectedBefore = await waitStable(() => influxCount(env.INFLUXDB_URL!, database, "classroom_statistics"));
  const advance = readingMessage(devices[0]!, start + span + 3 * 60 * 60_000, random);
  const sent = Date.now();
  await producer.send({ topic, messages: [{ value: JSON.stringify(advance) }] });
  await producer.disconnect();
  let closedAt: number | undefined;
  while (closedAt === undefined && Date.now() - sent < 300_000) {
    if ((await influxCount(env.INFLUXDB_URL!, database, "classroom_statistics")) > expectedBefore) closedAt = Date.now();
    else await new Promise((r) => setTimeout(r, 250));
  }
  console.log(
    closedAt === undefined
      ? `[${mode}] window latency: no new statistics point within 300 s`
      : `[${mode}] window latency: ${((closedAt - sent) / 1000).toFixed(1)} s from the reading that closes windows to their first statistics point in InfluxDB (trigger interval 30 s)`,
  );
  execFileSync("touch", [path.join(work, "STOP")]);
  await new Promise((r) => child.on("exit", r));
  console.log(`[${mode}] stopped gracefully; work folder ${work}${files === work ? "" : `, files ${files}`}`);
  return {
    mode,
    firstBatchS: (firstRawBatchAt! - jobStart) / 1000,
    wallS,
    perSecond: Math.round(readings / wallS),
    rawQueryPerSecond: Math.round(readings / (busyMs / 1000)),
    batches: rawBatches.length,
    windowLatencyS: closedAt === undefined ? undefined : (closedAt - sent) / 1000,
  };
}

async function main(): Promise<void> {
  const modes: Mode[] = modeArg === "both" ? ["local", "cluster"] : [modeArg as Mode];
  const results: Figures[] = [];
  for (const mode of modes) results.push(await run(mode));
  const cell = (f: Figures, key: keyof Figures): string => {
    const value = f[key];
    return typeof value === "number" ? (Number.isInteger(value) ? value.toLocaleString("en") : value.toFixed(1)) : String(value ?? "-");
  };
  const rows: Array<[string, keyof Figures]> = [
    ["job start to first micro-batch (s)", "firstBatchS"],
    ["catch-up wall time, five queries (s)", "wallS"],
    ["readings/s while catching up", "perSecond"],
    ["raw Parquet query, readings/s of its batch time", "rawQueryPerSecond"],
    ["micro-batches of the raw query", "batches"],
    ["window latency (s)", "windowLatencyS"],
  ];
  console.log(`\n${readings.toLocaleString("en")} readings | ${results.map((r) => (r.mode === "local" ? "local[*], local disk" : "standalone, 2 workers, HDFS")).join(" | ")}`);
  for (const [label, key] of rows) console.log(`${label} | ${results.map((r) => cell(r, key)).join(" | ")}`);
}

/** Polls until a value stops changing for 40 s (longer than a 30 s trigger). */
async function waitStable(probe: () => Promise<number>): Promise<number> {
  let last = -1;
  let since = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== last) {
      last = value;
      since = Date.now();
    } else if (Date.now() - since > 40_000) return value;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

await main();
