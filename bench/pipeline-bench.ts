/**
 * Benchmark of the schools pipeline on the local stack (Kafka in, Parquet and InfluxDB out).
 * Prints its figures; nothing asserts on them.
 *
 *  capacity   a backlog of N readings (the real message shape, the sample registry, one hour of
 *             event time) run by the default spec with available-now triggers: wall time until
 *             EVERY query has processed every reading (the runner ends when all have), readings/s
 *             of the whole pipeline, each query's busy time, and the CPU seconds of the Spark JVM
 *             (split into Spark's task threads, the JIT compilers, the garbage collector and the
 *             rest), InfluxDB and Kafka: steadier than wall time on a shared machine.
 *  warm       READINGS more readings sent as fast as Kafka takes them to a job that is already
 *             running (one-second triggers, or --warm-trigger INTERVAL) and has read a first
 *             backlog (--warm-up N, default a third of READINGS): what the pipeline carries
 *             once started, without the JVM's start; the time runs from the first reading sent
 *             until every query's micro-batch ends at the topic's end (it includes the sending,
 *             which it prints). Not with --only or --noop. CPU: in the cluster mode the Spark
 *             JVM is the driver only.
 *  ceiling    in the same run, on the same topic: one query that reads and parses the JSON into
 *             Spark's no-op sink, i.e. reading-and-parsing alone.
 *  baseline   with --baseline REF, the plan committed at REF (sql/schools/) run by the runner of
 *             REF, on the same backlog, so the ratio is measured side by side.
 *  latency    the default spec's triggers: from the reading that closes windows to their
 *             statistics in InfluxDB, and the driver's CPU while idle.
 *  scaling    --cores 1,2 runs capacity with local[1], local[2] too (in the cluster mode: with
 *             executors on one, then two one-core workers).
 *
 * Usage: npm run bench -- [READINGS] [--baseline REF] [--cores LIST] [--mode local|cluster]
 *                         [--no-latency] [--no-ceiling] [--no-warm] [--warm-up N]
 *                         [--warm-trigger INTERVAL] [--repeat N]
 * To find where the time goes (the pipeline runs only): --only SINK,... keeps those sinks,
 * --noop SINK,... computes those sinks' rows but writes nothing, --conf KEY=VALUE sets a Spark
 * setting in the plan (repeatable), --ceiling-sql FILE runs this SELECT over the source (the
 * view kafka_readings) as the ceiling instead of the parse, --jfr FILE records a Java Flight
 * Recorder profile of the pipeline run's driver (local mode: the executors' threads too),
 * --java-options OPTS adds JVM options to the pipeline runs' driver (e.g. -XX:TieredStopAtLevel=1),
 * --windows-in-one-query plain|shuffled runs both windows as one union query (shuffled: from one
 * shared shuffle of the valid readings, so Kafka is read and parsed once for both; the raw
 * sinks, which read the valid readings too, then start from that shuffle as well),
 * --influx-trigger INTERVAL runs the latency part with that trigger for the InfluxDB queries,
 * --split also runs each query alone on the same backlog (what each costs by itself; the sum
 * beside the whole pipeline's wall time says how much the queries overlap on the cores).
 *
 * Memory and state (a compressed soak): --hours H spreads the backlog over H hours of event time
 * (default 1) and --batch N caps each micro-batch at N readings (default: the whole backlog in
 * one); each pipeline run then prints, per stateful query and micro-batch, the state rows
 * Spark keeps, and the driver's resident memory: with the watermark, state stays bounded.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { bindPlan } from "../driver/src/deploy/bind-plan.js";
import { stageLocal } from "../driver/src/deploy/stage-local.js";
import { compilePipeline } from "../driver/src/emit/compiled-files.js";
import type { PlanJson, SinkJson } from "../driver/src/emit/plan-json.js";
import { parseEvent, type RunnerEvent } from "../driver/src/livy/runner-events.js";
import { buildPlan } from "../driver/src/plan/build-plan.js";
import { parseDuration } from "../driver/src/spec/duration.js";
import { loadSpec } from "../driver/src/spec/load.js";
import { parseRegistryCsv, readingMessage, seededRandom } from "../driver/src/simulator/readings.js";

const root = path.resolve(import.meta.dirname, "..");
const stack = path.join(root, "infrastructure/local/stack.sh");

interface Options {
  readings: number;
  baseline?: string;
  cores: string[];
  mode: "local" | "cluster";
  latency: boolean;
  ceiling: boolean;
  warm: boolean;
  warmUp?: number;
  warmTrigger: string;
  windowsInOneQuery?: "plain" | "shuffled";
  repeat: number;
  only?: string[];
  noop: string[];
  conf: Record<string, string>;
  ceilingSql?: string;
  jfr?: string;
  javaOptions: string[];
  influxTrigger?: string;
  hours: number;
  batch?: number;
  split: boolean;
}

/** A trigger interval in its canonical text ("10 seconds"), as the compiler writes triggers into a plan. */
function duration(option: string, text: string): string {
  const parsed = parseDuration(text);
  if (!parsed.ok) throw new Error(`${option}: ${parsed.problem}; ${parsed.hint}`);
  return parsed.duration.text;
}

function parseArgs(argv: string[]): Options {
  const options: Options = {
    readings: 300_000,
    cores: [],
    mode: "local",
    latency: true,
    ceiling: true,
    warm: true,
    warmTrigger: "1 second",
    repeat: 1,
    noop: [],
    conf: {},
    hours: 1,
    split: false,
    javaOptions: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--baseline") options.baseline = value();
    else if (arg === "--cores") options.cores = value().split(",").filter(Boolean);
    else if (arg === "--mode") {
      const mode = value();
      if (mode !== "local" && mode !== "cluster") throw new Error(`--mode must be local or cluster, not ${mode}`);
      options.mode = mode;
    } else if (arg === "--no-latency") options.latency = false;
    else if (arg === "--no-ceiling") options.ceiling = false;
    else if (arg === "--no-warm") options.warm = false;
    else if (arg === "--warm-up") {
      options.warmUp = Number(value());
      if (!Number.isInteger(options.warmUp) || options.warmUp < 1) throw new Error("--warm-up needs a whole number of readings, at least 1");
    } else if (arg === "--warm-trigger") {
      options.warmTrigger = duration(arg, value());
    } else if (arg === "--windows-in-one-query") {
      const how = value();
      if (how !== "plain" && how !== "shuffled") throw new Error(`--windows-in-one-query must be plain or shuffled, not ${how}`);
      options.windowsInOneQuery = how;
    } else if (arg === "--split") options.split = true;
    else if (arg === "--repeat") options.repeat = Number(value());
    else if (arg === "--only") options.only = value().split(",");
    else if (arg === "--noop") options.noop = value().split(",");
    else if (arg === "--hours") options.hours = Number(value());
    else if (arg === "--batch") options.batch = Number(value());
    else if (arg === "--influx-trigger") options.influxTrigger = duration(arg, value());
    else if (arg === "--jfr") options.jfr = path.resolve(value());
    else if (arg === "--java-options") options.javaOptions.push(value());
    else if (arg === "--ceiling-sql") options.ceilingSql = readFileSync(value(), "utf8");
    else if (arg === "--conf") {
      const [key, ...rest] = value().split("=");
      options.conf[key!] = rest.join("=");
    } else if (/^\d+$/.test(arg)) options.readings = Number(arg);
    else if (arg === "--help" || arg === "-h") {
      console.log(
        readFileSync(new URL(import.meta.url), "utf8")
          .split("*/")[0]!
          .replace(/^\/\*\*|^ \* ?/gm, ""),
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${arg} (see --help)`);
  }
  if (!hasWarmRun(options)) {
    if (options.warmTrigger !== "1 second") console.error("--warm-trigger is ignored: there is no warm run with --no-warm, --only or --noop");
    if (options.warmUp !== undefined) console.error("--warm-up is ignored: there is no warm run with --no-warm, --only or --noop");
  }
  return options;
}

/** The warm run needs the whole pipeline. */
function hasWarmRun(options: Options): boolean {
  return options.warm && options.only === undefined && options.noop.length === 0;
}

function envFromStack(mode: Options["mode"]): Record<string, string> {
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

async function influxCount(url: string, db: string, measurement: string, field: string): Promise<number> {
  const response = await fetch(`${url}/query`, { method: "POST", body: new URLSearchParams({ db, q: `SELECT count("${field}") FROM "${measurement}"` }) });
  const body = (await response.json()) as { results: Array<{ series?: Array<{ values: number[][] }> }> };
  return body.results[0]?.series?.[0]?.values[0]?.[1] ?? 0;
}

/** Spark's no-op sink, which the runner knows for the bench only (it is not in sql/plan.schema.json). */
type NoopSink = Pick<SinkJson, "name" | "query" | "checkpoint" | "outputMode" | "trigger"> & { readonly kind: "noop" };

/** plan.json as the bench runs it: the pipeline's, reshaped by the experiment. */
type BenchPlan = Omit<PlanJson, "sinks"> & { readonly sinks: ReadonlyArray<SinkJson | NoopSink> };

/** A plan to run and its SQL files by name. */
interface BenchPipeline {
  readonly plan: BenchPlan;
  readonly sql: Readonly<Record<string, string>>;
}

/** The plan and SQL files to run: compiled now from conf/pipeline.yaml, or as committed at a git ref. */
function pipelineToRun(ref: string | undefined): BenchPipeline {
  if (ref === undefined) {
    const loaded = loadSpec("conf/pipeline.yaml", { env: {}, cwd: root });
    if (loaded.spec === undefined) throw new Error("conf/pipeline.yaml is not valid");
    return compilePipeline(buildPlan(loaded.spec, loaded.specFile));
  }
  const names = execFileSync("git", ["ls-tree", "--name-only", `${ref}:sql/schools`], { cwd: root, encoding: "utf8" })
    .trim()
    .split("\n");
  const committed = (name: string): string => execFileSync("git", ["show", `${ref}:sql/schools/${name}`], { cwd: root, encoding: "utf8" });
  // The plan as committed then, for the runner built at the same ref (it may lack newer keys).
  return {
    plan: JSON.parse(committed("plan.json")) as BenchPlan,
    sql: Object.fromEntries(names.filter((n) => n.endsWith(".sql")).map((n) => [n, committed(n)])),
  };
}

/** The runner jar: built from this checkout, or from the runner's source at a git ref. */
function runnerJar(ref: string | undefined, sparkHome: string, work: string): string {
  const jar = path.join(work, `runner-${ref ?? "current"}.jar`);
  let buildScript = path.join(root, "infrastructure/spark/runner/build.sh");
  if (ref !== undefined) {
    const source = path.join(work, `source-${ref}`);
    mkdirSync(source, { recursive: true });
    execFileSync("bash", ["-c", `git archive "$1" infrastructure/spark/runner | tar -x -C "$2"`, "archive", ref, source], { cwd: root });
    buildScript = path.join(source, "infrastructure/spark/runner/build.sh");
  }
  execFileSync(buildScript, [jar], { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, SPARK_HOME: sparkHome } });
  return jar;
}

const AVAILABLE_NOW = { kind: "available-now" } as const;

function noopSink(sink: SinkJson | NoopSink): NoopSink {
  return { name: sink.name, query: sink.query, checkpoint: sink.checkpoint, outputMode: sink.outputMode, trigger: sink.trigger, kind: "noop" };
}

/** Every trigger available-now, and micro-batches as large as the backlog; the experiment's changes. */
function forCapacity(pipeline: BenchPipeline, readings: number, options?: Options): BenchPipeline {
  pipeline = windowsInOneQuery(pipeline, options?.windowsInOneQuery);
  const plan = pipeline.plan;
  const batch = String(options?.batch ?? readings);
  return {
    ...pipeline,
    plan: {
      ...plan,
      sparkConf: { ...plan.sparkConf, ...options?.conf },
      sources: plan.sources.map((s) => (s.kind === "kafka" ? { ...s, options: { ...s.options, maxOffsetsPerTrigger: batch } } : s)),
      sinks: plan.sinks
        .filter((s) => options?.only === undefined || options.only.includes(s.name))
        .map((s) => ({ ...s, trigger: AVAILABLE_NOW }))
        .map((s) => (options?.noop.includes(s.name) ? noopSink(s) : s)),
    },
  };
}

/**
 * --windows-in-one-query: the window sinks' lines as one union query with one InfluxDB sink instead
 * of a query each ("plain": each branch reads and parses Kafka again; "shuffled": the valid
 * readings are first distributed by institute and classroom, so both branches start from the same
 * shuffle and Spark reuses it: one read and parse, plus a shuffle).
 */
function windowsInOneQuery(pipeline: BenchPipeline, how: Options["windowsInOneQuery"]): BenchPipeline {
  if (how === undefined) return pipeline;
  const { plan } = pipeline;
  let sql = pipeline.sql;
  if (how === "shuffled") {
    const valid = plan.views.find((v) => v.name === "valid_readings")!;
    sql = { ...sql, [valid.sqlFile]: `${sql[valid.sqlFile]}\nDISTRIBUTE BY institute, classroom` };
  }
  const lines = plan.views.filter((v) => /^influx_window_.*_lines$/.test(v.name));
  const union = { name: "influx_windows_lines", sqlFile: "99-influx-windows-lines.sql", inputs: lines.map((l) => l.name) };
  sql = { ...sql, [union.sqlFile]: lines.map((l) => `SELECT line FROM ${l.name}`).join("\nUNION ALL\n") };
  const first = plan.sinks.find((s) => s.query === lines[0]!.name)!;
  const sink = { ...first, name: "influx_windows", query: union.name, checkpoint: first.checkpoint.replace(/[^/]+$/, "influx_windows") };
  return {
    plan: { ...plan, views: [...plan.views, union], sinks: [...plan.sinks.filter((s) => !lines.some((l) => l.name === s.query)), sink] },
    sql,
  };
}

/** The pipeline run's driver JVM options: --java-options, and the flight recording of --jfr. */
function driverJavaOptions(options: Options): string[] {
  const java = [...options.javaOptions, ...(options.jfr === undefined ? [] : [`-XX:StartFlightRecording=filename=${options.jfr},settings=profile`])];
  return java.length === 0 ? [] : ["--conf", `spark.driver.extraJavaOptions=${java.join(" ")}`];
}

/** The ceiling: the same source and parse view, one query into Spark's no-op sink. */
function ceiling(pipeline: BenchPipeline, readings: number, sql?: string): BenchPipeline {
  const plan = pipeline.plan;
  const parse = plan.views[0]!;
  const checkpoint = plan.sinks[0]!.checkpoint.replace(/[^/]+$/, "ceiling");
  return {
    plan: {
      ...plan,
      sources: plan.sources.flatMap((s) => (s.kind === "kafka" ? [{ ...s, options: { ...s.options, maxOffsetsPerTrigger: String(readings) } }] : [])),
      views: [parse],
      sinks: [{ name: "ceiling_noop", query: parse.name, checkpoint, outputMode: "append", trigger: AVAILABLE_NOW, kind: "noop" }],
    },
    sql: { [parse.sqlFile]: sql ?? pipeline.sql[parse.sqlFile]! },
  };
}

interface Run {
  readonly label: string;
  readonly jvmToStartS: number;
  readonly wallS: number;
  readonly perSecond: number;
  readonly busyS: Record<string, number>;
  readonly rowsIn: Record<string, number>;
  readonly driverPeakRssMiB: number;
  /** Per stateful query, the state rows after each micro-batch. */
  readonly stateRows: Record<string, number[]>;
  /** CPU seconds used from the runner's start to its end, per process: steadier than wall time on a shared machine. */
  readonly cpuS: CpuSample;
}

/** The kernel's clock ticks per second, in which /proc reports CPU time. */
const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** A process's or thread's name and CPU seconds (user + system) so far, from its /proc stat file; throws when it is gone. */
function procStat(file: string): { name: string; seconds: number } {
  const stat = readFileSync(file, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { name: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")), seconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS };
}

/** CPU seconds a process has used so far; 0 when it is not there (or not on this machine). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    return procStat(`/proc/${pid}/stat`).seconds;
  } catch {
    return 0;
  }
}

/** The Spark JVM's CPU seconds by kind of thread: Spark's tasks, the JIT compilers, the garbage collector, and the rest. */
const THREAD_KINDS = ["tasks", "jit", "gc", "other"] as const;
type ThreadCpu = Record<(typeof THREAD_KINDS)[number], number>;

/** Each live thread's kind and CPU seconds so far, by thread id. */
type ThreadSample = Map<string, { kind: (typeof THREAD_KINDS)[number]; seconds: number }>;

function threadCpu(pid: number | undefined): ThreadSample {
  const out: ThreadSample = new Map();
  if (pid === undefined) return out;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const { name, seconds } = procStat(`/proc/${pid}/task/${tid}/stat`);
      // Linux keeps 15 characters of a thread's name: "Executor task l", "C2 CompilerThre", "G1 Conc#0", "GC Thread#1".
      const kind = /^Executor task/.test(name) ? "tasks" : /Compiler/.test(name) ? "jit" : /^(G1|GC |VM Thread)/.test(name) ? "gc" : "other";
      out.set(tid, { kind, seconds });
    } catch {
      // The thread ended in between.
    }
  }
  return out;
}

/** CPU of the processes at one moment. */
interface CpuSnapshot {
  readonly spark: number;
  readonly influxdb: number;
  readonly kafka: number;
  readonly threads: ThreadSample;
}

/**
 * CPU used between two snapshots. A thread's share is what it used in between (a thread born in
 * between counts from 0); what threads that ended in between used counts as other.
 */
function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): CpuSample {
  const sparkThreads: ThreadCpu = { tasks: 0, jit: 0, gc: 0, other: 0 };
  for (const [tid, { kind, seconds }] of after.threads) sparkThreads[kind] += seconds - (before.threads.get(tid)?.seconds ?? 0);
  const spark = after.spark - before.spark;
  sparkThreads.other = spark - sparkThreads.tasks - sparkThreads.jit - sparkThreads.gc;
  return { spark, influxdb: after.influxdb - before.influxdb, kafka: after.kafka - before.kafka, sparkThreads };
}

/** The local stack's process of a service (its pid file), for its CPU time. */
function servicePid(service: string): number | undefined {
  try {
    return Number(readFileSync(path.join(process.env.SENSOR_STREAMING_RUNTIME ?? path.join(root, ".local-stack"), "pids", `${service}.pid`), "utf8").trim());
  } catch {
    return undefined;
  }
}

/** Who the CPU is counted for: the Spark JVM (driver, and in local mode the executors), and the stack's InfluxDB and Kafka. */
const CPU_OF = ["spark", "influxdb", "kafka"] as const;
type CpuSample = Record<(typeof CPU_OF)[number], number> & { readonly sparkThreads: ThreadCpu };

interface Job {
  readonly child: ReturnType<typeof spawn>;
  readonly events: Array<{ at: number; event: RunnerEvent; cpu?: CpuSnapshot }>;
  readonly started: number;
  readonly stopFile: string;
  peakRssKiB: number;
  cpuSeconds(): number;
  cpuNow(): CpuSnapshot;
}

function submit(env: Record<string, string>, master: string, jar: string, planFile: string, work: string, extraConf: string[] = []): Job {
  const stopFile = path.join(work, `STOP-${Date.now()}`);
  const child = spawn(
    path.join(env.SPARK_HOME!, "bin/spark-submit"),
    [
      "--master",
      master,
      "--driver-memory",
      "2g",
      "--conf",
      "spark.ui.enabled=false",
      ...extraConf,
      "--jars",
      env.SPARK_KAFKA_JARS!,
      "--class",
      "io.sensorstreaming.runner.Runner",
      jar,
      planFile,
      "--stop-file",
      `file://${stopFile}`,
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, SPARK_HOME: env.SPARK_HOME, SPARK_LOCAL_IP: "127.0.0.1" } },
  );
  const job: Job = {
    child,
    events: [],
    started: Date.now(),
    stopFile,
    peakRssKiB: 0,
    // spark-submit execs java in the same process: the driver JVM's CPU.
    cpuSeconds: () => cpuSeconds(child.pid),
    cpuNow: () => cpuNow(),
  };
  const influxdb = servicePid("influxdb");
  const kafka = servicePid("kafka");
  const cpuNow = (): CpuSnapshot => ({
    spark: cpuSeconds(child.pid),
    influxdb: cpuSeconds(influxdb),
    kafka: cpuSeconds(kafka),
    threads: threadCpu(child.pid),
  });
  let pending = "";
  let errors = "";
  child.stdout.on("data", (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      const event = parseEvent(line);
      if (event === undefined) continue;
      // CPU used between the runner's start and its end: sampled as those events arrive.
      const sample = event.event === "runner-started" || event.event === "runner-finished";
      job.events.push({ at: Date.now(), event, ...(sample ? { cpu: cpuNow() } : {}) });
    }
  });
  child.stderr.on("data", (chunk: Buffer) => (errors = (errors + chunk.toString()).slice(-20_000)));
  child.on("exit", (code) => {
    if (code !== 0) console.error(`the job exited with ${code}; the end of its log:\n${errors.slice(-4000)}`);
  });
  const rss = setInterval(() => {
    try {
      const kib = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? 0);
      job.peakRssKiB = Math.max(job.peakRssKiB, kib);
    } catch {
      clearInterval(rss);
    }
  }, 1000);
  child.on("exit", () => clearInterval(rss));
  return job;
}

async function ended(job: Job): Promise<number> {
  return job.child.exitCode ?? (await new Promise<number>((resolve) => job.child.on("exit", (code) => resolve(code ?? -1))));
}

function stageRun(pipeline: BenchPipeline, bindings: Record<string, string>, work: string, label: string): string {
  const files = [
    ...Object.entries(pipeline.sql).map(([name, content]) => ({ name, content })),
    { name: "plan.json", content: `${JSON.stringify(bindPlan(pipeline.plan, bindings, root), null, 2)}\n` },
  ];
  return stageLocal(`bench-${label.replace(/[^a-z0-9]+/gi, "-")}`, files, path.join(work, "staging")).planFile;
}

/** One capacity run: available-now triggers over the whole backlog, until every query has finished. */
async function capacity(
  label: string,
  pipeline: BenchPipeline,
  jar: string,
  ctx: Context,
  master: string,
  expectRaw: boolean,
  extraConf: string[] = [],
): Promise<Run> {
  const files2 = `${ctx.dataRoot}/run-${++ctx.runs}`;
  const bindings = {
    ...ctx.bindings,
    CHECKPOINT_DIR: `${files2}/checkpoints`,
    RAW_PATH: `${files2}/raw`,
    REJECTED_PATH: `${files2}/rejected`,
    INFLUX_REFUSED_PATH: `${files2}/refused`,
  };
  if (expectRaw) await recreateDatabase(ctx.env.INFLUXDB_URL!, "sensors");
  const job = submit(ctx.env, master, jar, stageRun(pipeline, bindings, ctx.work, `${label}-${ctx.runs}`), ctx.work, extraConf);
  const code = await ended(job);
  if (code !== 0) throw new Error(`${label}: the job failed (exit ${code})`);
  const started = job.events.find((e) => e.event.event === "runner-started");
  const finished = job.events.find((e) => e.event.event === "runner-finished");
  if (started === undefined || finished === undefined) throw new Error(`${label}: no runner-started/runner-finished events`);
  const [startedAt, finishedAt] = [started.at, finished.at];
  if (started.cpu === undefined || finished.cpu === undefined) throw new Error(`${label}: no CPU samples at the runner's start and end`);
  const cpuS = cpuBetween(started.cpu, finished.cpu);
  const busy: Record<string, number> = {};
  const rowsIn: Record<string, number> = {};
  const stateRows: Record<string, number[]> = {};
  for (const { event } of job.events) {
    if (event.event !== "query-progress") continue;
    const progress = event.progress as { numInputRows: number; durationMs: { triggerExecution?: number }; stateOperators?: Array<{ numRowsTotal: number }> };
    const query = String(event.query);
    if ((progress.stateOperators ?? []).length > 0) (stateRows[query] ??= []).push(progress.stateOperators!.reduce((a, o) => a + o.numRowsTotal, 0));
    busy[query] = (busy[query] ?? 0) + (progress.durationMs.triggerExecution ?? 0) / 1000;
    rowsIn[query] = (rowsIn[query] ?? 0) + progress.numInputRows;
  }
  const wallS = (finishedAt - startedAt) / 1000;
  // Every sink caught up: each query read the whole backlog, and InfluxDB holds every reading.
  for (const [query, rows] of Object.entries(rowsIn))
    if (rows < ctx.readings) throw new Error(`${label}: query ${query} read ${rows} of ${ctx.readings} readings`);
  if (expectRaw) {
    const points = await influxCount(ctx.env.INFLUXDB_URL!, "sensors", "sensor_readings", "battery");
    if (points !== ctx.readings) throw new Error(`${label}: InfluxDB holds ${points} raw points, not ${ctx.readings}`);
  }
  const run: Run = {
    label,
    jvmToStartS: (startedAt - job.started) / 1000,
    wallS,
    perSecond: Math.round(ctx.readings / wallS),
    busyS: busy,
    rowsIn,
    driverPeakRssMiB: Math.round(job.peakRssKiB / 1024),
    stateRows,
    cpuS,
  };
  console.log(
    `[${label}] ${ctx.readings} readings in ${wallS.toFixed(1)} s: ${run.perSecond} readings/s; busy ${Object.entries(busy)
      .map(([q, s]) => `${q} ${s.toFixed(1)} s (${rowsIn[q]} rows in)`)
      .join(", ")}; driver RSS peak ${run.driverPeakRssMiB} MiB; CPU ${cpuText(cpuS)}`,
  );
  for (const [query, rows] of Object.entries(stateRows)) console.log(`[${label}] ${query}: state rows after each micro-batch ${rows.join(" ")}`);
  if (!files2.startsWith("hdfs:")) rmSync(files2, { recursive: true, force: true });
  return run;
}

function cpuText(cpu: CpuSample): string {
  const threads = THREAD_KINDS.map((kind) => `${kind} ${cpu.sparkThreads[kind].toFixed(1)}`).join(", ");
  return `${CPU_OF.map((who) => `${who} ${cpu[who].toFixed(1)}${who === "spark" ? ` (${threads})` : ""}`).join(", ")} s`;
}

interface Context {
  readonly env: Record<string, string>;
  readonly work: string;
  /** Where checkpoints and outputs go: the work folder, or a folder on HDFS in the cluster mode. */
  readonly dataRoot: string;
  readonly readings: number;
  readonly bindings: Record<string, string>;
  readonly topic: string;
  runs: number;
}

/** `count` readings of every registered device as Kafka messages, their event times spread over `spanMs` from `startMs`. */
function backlog(count: number, startMs: number, spanMs: number): Array<{ value: string }> {
  const devices = parseRegistryCsv(readFileSync(path.join(root, "data/registry.csv"), "utf8"));
  const random = seededRandom(7);
  const messages = [];
  for (let j = 0; j < count; j++)
    messages.push({ value: JSON.stringify(readingMessage(devices[j % devices.length]!, startMs + Math.floor((j / count) * spanMs), random)) });
  return messages;
}

/** Sends messages as fast as Kafka takes them. */
async function send(kafka: Kafka, topic: string, messages: Array<{ value: string }>): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < messages.length; i += 5000) await producer.send({ topic, messages: messages.slice(i, i + 5000) });
  await producer.disconnect();
}

async function produceBacklog(kafka: Kafka, topic: string, count: number, startMs: number, spanMs: number): Promise<void> {
  await send(kafka, topic, backlog(count, startMs, spanMs));
}

/**
 * Capacity of a running pipeline: the job is started with one-second triggers (or --warm-trigger)
 * on a fresh topic and warmed up by a first backlog (a third of the readings; the JIT compiles the
 * generated code while it runs), then the measured backlog is sent as fast as Kafka takes it,
 * faster than the pipeline reads it. Wall time from the first measured reading sent until every query has read the last;
 * CPU over the same time.
 */
async function warmCapacity(
  pipeline: BenchPipeline,
  jar: string,
  ctx: Context,
  master: string,
  warmUp: number,
  trigger: string,
  extraConf: string[] = [],
): Promise<Run> {
  const topic = `${ctx.topic}-warm`;
  const kafka = new Kafka({ clientId: "bench-warm", brokers: [ctx.env.KAFKA_BOOTSTRAP!], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  await admin.disconnect();
  const start = Date.UTC(2026, 0, 12, 8, 0, 0);
  // 12 ms of event time per reading, as in the capacity backlog of 300 000 readings over an hour.
  const warmUpSpan = warmUp * 12;
  await produceBacklog(kafka, topic, warmUp, start, warmUpSpan);
  const files2 = `${ctx.dataRoot}/warm`;
  await recreateDatabase(ctx.env.INFLUXDB_URL!, "sensors");
  const bindings = runBindings(ctx, topic, files2);
  const running: BenchPipeline = {
    ...pipeline,
    plan: { ...pipeline.plan, sinks: pipeline.plan.sinks.map((s) => ({ ...s, trigger: { kind: "processing-time", interval: trigger } })) },
  };
  // Built before the clock starts: the measured time is the pipeline's, not the making of messages.
  const measured = backlog(ctx.readings, start + warmUpSpan + 10 * 60_000, 60 * 60_000);
  const job = submit(ctx.env, master, jar, stageRun(running, bindings, ctx.work, "warm"), ctx.work, extraConf);
  const sinks = running.plan.sinks.map((s) => s.name);
  // Caught up: every query's latest micro-batch ends at the topic's end in every partition (a
  // query that reads Kafka twice counts its rows twice, so rows are not the measure).
  const caughtUp = async (what: string): Promise<void> => {
    const admin = kafka.admin();
    await admin.connect();
    const end = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    const reached = (sink: string): boolean => {
      const last = [...job.events].reverse().find(({ event }) => event.event === "query-progress" && event.query === sink);
      const progress = last?.event.event === "query-progress" ? (last.event.progress as { sources?: Array<{ endOffset?: unknown }> }) : undefined;
      const offsets = (progress?.sources?.[0]?.endOffset as Record<string, Record<string, number>> | undefined)?.[topic];
      return offsets !== undefined && end.every(({ partition, high }) => (offsets[String(partition)] ?? -1) >= Number(high));
    };
    for (const since = Date.now(); !sinks.every(reached);) {
      if (job.child.exitCode !== null) throw new Error(`the warm job ended (exit ${job.child.exitCode}) ${what}`);
      if (Date.now() - since > 20 * 60_000) throw new Error(`the warm job's queries did not all catch up within 20 minutes ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  let wallS: number;
  let cpuS: CpuSample;
  try {
    await caughtUp("during the warm-up");
    const before = job.cpuNow();
    const sent = Date.now();
    await send(kafka, topic, measured);
    const sentS = (Date.now() - sent) / 1000;
    await caughtUp("on the measured backlog");
    wallS = (Date.now() - sent) / 1000;
    cpuS = cpuBetween(before, job.cpuNow());
    console.log(`[warm] sending the measured backlog took ${sentS.toFixed(1)} s of that time (the sender's CPU is not counted; Kafka's is)`);
  } finally {
    // A failed warm run must not leave a job with its short triggers running.
    writeFileSync(job.stopFile, "");
    const stopped = setTimeout(() => job.child.kill(), 120_000);
    const code = await ended(job);
    clearTimeout(stopped);
    if (code !== 0) console.error(`the warm job exited with ${code}`);
  }
  const points = await influxCount(ctx.env.INFLUXDB_URL!, "sensors", "sensor_readings", "battery");
  if (points !== warmUp + ctx.readings) throw new Error(`warm: InfluxDB holds ${points} raw points, not ${warmUp + ctx.readings}`);
  const run: Run = {
    label: `pipeline, warm: a running job's second backlog (a trigger every ${trigger})`,
    jvmToStartS: 0,
    wallS,
    perSecond: Math.round(ctx.readings / wallS),
    busyS: {},
    rowsIn: {},
    driverPeakRssMiB: Math.round(job.peakRssKiB / 1024),
    stateRows: {},
    cpuS,
  };
  console.log(
    `[warm] ${ctx.readings} readings (after ${warmUp} to warm up, a trigger every ${trigger}) in ${wallS.toFixed(1)} s: ` +
      `${run.perSecond} readings/s; CPU ${cpuText(cpuS)}`,
  );
  if (!files2.startsWith("hdfs:")) rmSync(files2, { recursive: true, force: true });
  return run;
}

/** The spec's bindings for a job on `topic` that keeps its checkpoints and outputs under `files`. */
function runBindings(ctx: Context, topic: string, files: string): Record<string, string> {
  return {
    ...ctx.bindings,
    KAFKA_TOPIC: topic,
    CHECKPOINT_DIR: `${files}/checkpoints`,
    RAW_PATH: `${files}/raw`,
    REJECTED_PATH: `${files}/rejected`,
    INFLUX_REFUSED_PATH: `${files}/refused`,
  };
}

/** The default spec's triggers: from the reading that closes windows to their statistics in InfluxDB. */
async function latency(pipeline: BenchPipeline, jar: string, ctx: Context, master: string): Promise<{ latencyS?: number; idleCpuPercent: number }> {
  const topic = `${ctx.topic}-latency`;
  const devices = parseRegistryCsv(readFileSync(path.join(root, "data/registry.csv"), "utf8"));
  const random = seededRandom(11);
  const now = Date.now();
  const kafka = new Kafka({ clientId: "bench-latency", brokers: [ctx.env.KAFKA_BOOTSTRAP!], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  // Ten minutes of readings up to two minutes ago, then the job starts and settles.
  const backfill = [];
  for (let t = now - 12 * 60_000; t < now - 2 * 60_000; t += 2_000)
    backfill.push({ value: JSON.stringify(readingMessage(devices[Math.floor(random() * devices.length)]!, t, random)) });
  await producer.send({ topic, messages: backfill });
  const files2 = `${ctx.dataRoot}/latency`;
  await recreateDatabase(ctx.env.INFLUXDB_URL!, "sensors");
  const bindings = runBindings(ctx, topic, files2);
  const job = submit(ctx.env, master, jar, stageRun(pipeline, bindings, ctx.work, "latency"), ctx.work);
  const count = () => influxCount(ctx.env.INFLUXDB_URL!, "sensors", "classroom_statistics", "readings");
  // Settled: the backfill's closed windows written, then nothing new for longer than a trigger.
  while ((await count()) === 0) {
    if (job.child.exitCode !== null) throw new Error(`the latency job ended (exit ${job.child.exitCode})`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const settled = await waitStable(count, 45_000);
  // Idle CPU: the driver with nothing to read, over 30 s.
  const cpu0 = job.cpuSeconds();
  await new Promise((r) => setTimeout(r, 30_000));
  const idleCpuPercent = ((job.cpuSeconds() - cpu0) / 30) * 100;
  // One reading two minutes and a half later than the newest: the watermark passes the end of
  // the windows that ended before it, in both window sizes.
  const sent = Date.now();
  await producer.send({ topic, messages: [{ value: JSON.stringify(readingMessage(devices[0]!, now + 60_000, random)) }] });
  await producer.disconnect();
  let latencyS: number | undefined;
  while (latencyS === undefined && Date.now() - sent < 180_000) {
    if ((await count()) > settled) latencyS = (Date.now() - sent) / 1000;
    else await new Promise((r) => setTimeout(r, 100));
  }
  writeFileSync(job.stopFile, "");
  await ended(job);
  console.log(
    `[latency] ${latencyS === undefined ? "no new statistics point within 180 s" : `${latencyS.toFixed(1)} s`}` +
      ` from the reading that closes windows to their statistics in InfluxDB; driver CPU while idle ${idleCpuPercent.toFixed(1)}% of one core`,
  );
  return { latencyS, idleCpuPercent };
}

/** Polls until a value stops changing for `quietMs`. */
async function waitStable(probe: () => Promise<number>, quietMs: number): Promise<number> {
  let last = -1;
  let since = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== last) {
      last = value;
      since = Date.now();
    } else if (Date.now() - since > quietMs) return value;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const env = envFromStack(options.mode);
  const work = mkdtempSync(path.join(os.tmpdir(), "sensor-bench-"));
  const topic = `bench-${path.basename(work).slice(-6).toLowerCase()}`;

  // The backlog: readings of every registered device over an hour of event time.
  const devices = parseRegistryCsv(readFileSync(path.join(root, "data/registry.csv"), "utf8"));
  const start = Date.UTC(2026, 0, 12, 8, 0, 0);
  const span = options.hours * 60 * 60_000;
  const kafka = new Kafka({ clientId: "bench", brokers: [env.KAFKA_BOOTSTRAP!], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  await admin.disconnect();
  const produceStart = Date.now();
  await produceBacklog(kafka, topic, options.readings, start, span);
  console.log(
    `produced ${options.readings} readings (${devices.length} devices, ${options.hours} h of event time)` +
      ` in ${((Date.now() - produceStart) / 1000).toFixed(1)} s`,
  );

  const where = options.mode === "cluster" ? `${env.HDFS_URL}/bench/${path.basename(work)}` : work;
  const ctx: Context = {
    env,
    work,
    dataRoot: where,
    readings: options.readings,
    bindings: { ...process.env, ...env, KAFKA_TOPIC: topic },
    topic,
    runs: 0,
  };
  const master = options.mode === "cluster" ? env.SPARK_MASTER_URL! : "local[*]";
  const current = pipelineToRun(undefined);
  const jar = runnerJar(undefined, env.SPARK_HOME!, work);
  const baselineJar = options.baseline === undefined ? undefined : runnerJar(options.baseline, env.SPARK_HOME!, work);
  const baselinePipeline = options.baseline === undefined ? undefined : pipelineToRun(options.baseline);

  const runs: Run[] = [];
  for (let r = 0; r < options.repeat; r++) {
    if (options.ceiling)
      runs.push(await capacity("ceiling: read + parse, no-op sink", ceiling(current, options.readings, options.ceilingSql), jar, ctx, master, false));
    const whole = options.only === undefined && options.noop.length === 0;
    runs.push(
      await capacity(
        "pipeline",
        forCapacity(current, options.readings, options),
        jar,
        ctx,
        master,
        whole || (options.only?.includes("influx_raw") === true && !options.noop.includes("influx_raw")),
        driverJavaOptions(options),
      ),
    );
    if (baselineJar !== undefined)
      runs.push(await capacity(`pipeline at ${options.baseline}`, forCapacity(baselinePipeline!, options.readings), baselineJar, ctx, master, true));
  }
  // Each query alone: what it costs by itself.
  const alone: Run[] = [];
  if (options.split)
    for (const sink of forCapacity(current, options.readings, options).plan.sinks) {
      const only = forCapacity(current, options.readings, { ...options, only: [sink.name] });
      // The raw InfluxDB query alone is held to every point, like the whole pipeline.
      alone.push(await capacity(`${sink.name} alone`, only, jar, ctx, master, sink.name === "influx_raw"));
    }
  runs.push(...alone);
  // Scaling: local[N] in the local mode; in the cluster mode, executors on N one-core workers.
  for (const cores of options.cores) {
    runs.push(
      options.mode === "cluster"
        ? await capacity(`pipeline, ${cores} worker core(s)`, forCapacity(current, options.readings, options), jar, ctx, master, true, [
            "--conf",
            `spark.cores.max=${cores}`,
          ])
        : await capacity(`pipeline, local[${cores}]`, forCapacity(current, options.readings, options), jar, ctx, `local[${cores}]`, true),
    );
  }
  if (hasWarmRun(options))
    runs.push(
      await warmCapacity(
        forCapacity(current, options.readings, options),
        jar,
        ctx,
        master,
        options.warmUp ?? Math.ceil(options.readings / 3),
        options.warmTrigger,
        // --jfr records the cold pipeline run only.
        driverJavaOptions({ ...options, jfr: undefined }),
      ),
    );
  const influxTrigger = options.influxTrigger;
  const latencyRun: BenchPipeline =
    influxTrigger === undefined
      ? current
      : {
          ...current,
          plan: {
            ...current.plan,
            sinks: current.plan.sinks.map((s) => (s.kind === "influx-lines" ? { ...s, trigger: { kind: "processing-time", interval: influxTrigger } } : s)),
          },
        };
  const late = options.latency ? await latency(latencyRun, jar, ctx, master) : undefined;

  const fmt = (n: number) => n.toLocaleString("en");
  console.log(`\n${fmt(options.readings)} readings, ${devices.length} devices, ${os.cpus().length} cores, ${master}`);
  console.log("| run | wall (s) | readings/s | CPU (s) | busy time per query (s) | driver RSS peak (MiB) |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const run of runs)
    console.log(
      `| ${run.label} | ${run.wallS.toFixed(1)} | ${fmt(run.perSecond)} | ${cpuText(run.cpuS)} | ${Object.entries(run.busyS)
        .map(([q, s]) => `${q} ${s.toFixed(1)}`)
        .join(", ")} | ${fmt(run.driverPeakRssMiB)} |`,
    );
  const best = (label: string) => Math.max(...runs.filter((r) => r.label === label).map((r) => r.perSecond));
  if (options.ceiling) console.log(`pipeline / ceiling: ${(best("pipeline") / best("ceiling: read + parse, no-op sink")).toFixed(2)}`);
  if (alone.length > 0) {
    const sum = alone.reduce((total, run) => total + run.wallS, 0);
    const whole = Math.min(...runs.filter((r) => r.label === "pipeline").map((r) => r.wallS));
    console.log(`queries alone: ${sum.toFixed(1)} s in all (each with its own JVM start), the whole pipeline ${whole.toFixed(1)} s`);
  }
  if (options.baseline !== undefined)
    console.log(`pipeline / pipeline at ${options.baseline}: ${(best("pipeline") / best(`pipeline at ${options.baseline}`)).toFixed(2)}`);
  if (late !== undefined)
    console.log(
      `window latency (${options.influxTrigger === undefined ? "the spec's triggers" : `InfluxDB queries every ${options.influxTrigger}`}): ` +
        `${late.latencyS === undefined ? "-" : `${late.latencyS.toFixed(1)} s`}; driver CPU while idle: ${late.idleCpuPercent.toFixed(1)}% of one core`,
    );
  if (options.mode === "local") rmSync(work, { recursive: true, force: true });
}

await main();
