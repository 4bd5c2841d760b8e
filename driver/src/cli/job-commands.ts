/**
 * start, stop, status and logs: a compiled pipeline as a Livy batch running the Java runner.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { compiledFiles } from "../emit/compiled-files.js";
import { BindError, bindPlan } from "../deploy/bind-plan.js";
import { checkCheckpoints, freshCheckpoint, recordCheckpoints, type PlanJson, type SinkVerdict } from "../deploy/checkpoint-compat.js";
import { acquireLock, clearJobState, clearStopped, isStopped, markStopped, readStagedJob, writeStagedJob, DEFAULT_STATE_DIR, LockHeldError, readJobState, writeJobState, type JobState } from "../deploy/job-state.js";
import { prepareInfluxDatabases } from "../deploy/influx-database.js";
import { DockerStagingTarget, LocalStagingTarget, type StagingTarget } from "../deploy/staging-target.js";
import { FINAL_STATES, LivyClient, LivyError, type Batch } from "../livy/livy-client.js";
import { LogCursor } from "../livy/log-cursor.js";
import { LivyOutage } from "../livy/livy-outage.js";
import { pipelineHealth, queryHealth, type Health, type QueryHealth } from "../livy/query-health.js";
import { isNotable, parseEvents, type QueryProgress, type RunnerEvent } from "../livy/runner-events.js";
import { numberOption, type Output } from "./commands.js";
import type { PlanNode } from "../plan/nodes.js";
import { EXIT, ExitError } from "./exit-codes.js";
import { DEFAULT_SPEC, loadPlan, type SpecOptions } from "./pipeline-input.js";
import { HEARTBEAT_STALE_MS, launchSupervisor, liveSupervisor, stopSupervisor, type SupervisorRecord } from "../job/supervisor.js";

export const RUNNER_CLASS = "io.sensorstreaming.runner.Runner";
export const RUNNER_JAR = "infrastructure/spark/runner/build/sensor-streaming-runner.jar";

export interface JobOptions extends SpecOptions {
  readonly livy?: string;
  readonly target?: string;
  readonly container?: string;
  readonly stateDir?: string;
}

export function livyClient(options: JobOptions): LivyClient {
  return new LivyClient(options.livy ?? process.env.LIVY_URL ?? "http://localhost:8998");
}

export function stateDir(options: JobOptions): string {
  return options.stateDir ?? process.env.SENSOR_STREAMING_STATE ?? DEFAULT_STATE_DIR;
}

export function stagingTarget(options: JobOptions): StagingTarget {
  const kind = options.target ?? process.env.SENSOR_STREAMING_TARGET ?? "local";
  if (kind === "local") return new LocalStagingTarget(path.resolve(process.env.SENSOR_STREAMING_STAGING ?? ".local-stack/staging"));
  if (kind === "docker") {
    return new DockerStagingTarget(options.container ?? process.env.SPARK_MASTER_CONTAINER ?? "spark-master", process.env.SENSOR_STREAMING_STAGING ?? "/opt/sensor-streaming/staging");
  }
  throw new ExitError(EXIT.usage, `unknown target "${kind}"`, "use --target local (the local stack) or --target docker (the Docker Compose cluster)");
}

/**
 * A Livy error as an exit: unreachable is 8; Livy failing (HTTP 5xx) is 8 too unless the caller
 * says otherwise (a failed submit is a failed start); a request Livy refused (4xx) ends with the
 * caller's code and Livy's own message.
 */
function livyExit(error: LivyError, refused: number, failing: number = EXIT.livyUnreachable): ExitError {
  if (error.status === undefined) {
    return new ExitError(EXIT.livyUnreachable, error.message, "is Livy running? For the local stack: infrastructure/local/stack.sh up (or set LIVY_URL)");
  }
  if (error.unavailable) return new ExitError(failing, error.message, "Livy is up but failing; its own log says why");
  return new ExitError(refused, `Livy refused the request: ${error.livyMessage ?? error.message}`);
}

async function withLivy<T>(action: () => Promise<T>, refused: number, failing?: number): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw error instanceof LivyError ? livyExit(error, refused, failing) : error;
  }
}

async function fullLog(livy: LivyClient, id: number): Promise<string[]> {
  const lines: string[] = [];
  for (let from = 0; ; ) {
    const page = await livy.log(id, from, 1000);
    lines.push(...page.log);
    from += page.log.length;
    if (page.log.length === 0 || from >= page.total) return lines;
  }
}

async function runnerJar(io: Output): Promise<string> {
  const jar = path.resolve(RUNNER_JAR);
  if (existsSync(jar)) return jar;
  if (process.env.SPARK_HOME === undefined) {
    throw new ExitError(EXIT.failedToStart, `the runner jar ${RUNNER_JAR} is not built and SPARK_HOME is not set`, "run infrastructure/spark/runner/build.sh with SPARK_HOME set (eval \"$(infrastructure/local/stack.sh env)\")");
  }
  io.err(`building the runner (${RUNNER_JAR})`);
  await execa("infrastructure/spark/runner/build.sh", [jar], { stdio: "inherit" });
  return jar;
}

/** The pipeline's live batch, from the state file or, when that is stale or lost, from Livy. */
export async function liveBatch(livy: LivyClient, pipeline: string, options: JobOptions): Promise<{ state: JobState | undefined; batch: Batch | undefined }> {
  const state = readJobState(stateDir(options), pipeline);
  // Livy numbers batches from 0 again after a restart: the recorded id counts only when the
  // batch is still this pipeline's, on the same Livy.
  if (state !== undefined && state.livyUrl === livy.url) {
    const batch = await livy.find(state.batchId);
    if (batch !== undefined && isBatchOf(batch, pipeline) && !FINAL_STATES.includes(batch.state)) return { state, batch };
  }
  const named = (await livy.list()).find((b) => isBatchOf(b, pipeline) && !FINAL_STATES.includes(b.state));
  return { state: named !== undefined && state?.batchId === named.id ? state : undefined, batch: named };
}

/**
 * Livy refuses a batch name it still remembers, even of a finished batch, so each start gets
 * its own name; the pipeline's batches share the prefix.
 */
export function batchName(pipeline: string, at: Date): string {
  return `sensor-streaming-${pipeline}-${at.toISOString().replace(/[-:.]/g, "").slice(0, 15)}`;
}

function isBatchOf(batch: Batch, pipeline: string): boolean {
  return typeof batch.name === "string" && batch.name.startsWith(`sensor-streaming-${pipeline}-`);
}

function elapsed(since: number): string {
  const s = Math.round((Date.now() - since) / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** Why a batch ended, from the runner's own words or Spark's exception, for the user. */
function failureReason(lines: readonly string[]): string {
  const runner = lines.filter((l) => l.includes("sensor-streaming runner:"));
  if (runner.length > 0) return runner.join("\n");
  const exception = lines.find((l) => /Exception|Error:/.test(l));
  return exception ?? lines.slice(-15).join("\n");
}

/**
 * Says per query whether it resumes from its checkpoint, and which folder it uses. Refuses
 * (exit 9) when a query's checkpoint cannot be resumed, unless freshState moves that query to a
 * new checkpoint folder (the old one stays untouched).
 */
export function checkpointsToUse(verdicts: readonly SinkVerdict[], plan: PlanJson, freshState: boolean, io: Output): Map<string, string> {
  const used = new Map<string, string>();
  const refused: string[] = [];
  for (const { sink, planned, verdict } of verdicts) {
    switch (verdict.kind) {
      case "new":
        io.err(`  ${sink}: starts on a new checkpoint`);
        used.set(sink, planned);
        break;
      case "resumes":
        io.err(`  ${sink}: resumes from its checkpoint${verdict.notes.length > 0 ? ` (${verdict.notes.join("; ")})` : ""}`);
        used.set(sink, verdict.checkpoint);
        break;
      case "unchecked":
        io.err(`  ${sink}: ${verdict.notes.join("; ")}`);
        used.set(sink, verdict.checkpoint);
        break;
      case "incompatible": {
        // A file sink's folder remembers the batch ids it committed (_spark_metadata): a query on
        // a fresh checkpoint numbers its batches from 0 again, and the sink would silently skip
        // them. Fresh state for a file sink needs a new folder too.
        const kind = plan.sinks.find((x) => x.name === sink)?.kind;
        const newFolder = verdict.reasons.some((r) => r.startsWith("the output folder changed"));
        if (freshState && kind === "parquet" && !newFolder) {
          refused.push(`${sink}: ${verdict.reasons.join("; ")}; and --fresh-state needs a new output folder for it (its folder records the old query's batches): change sinks.*.path too`);
        } else if (freshState) {
          const fresh = freshCheckpoint(planned, new Date());
          io.err(`  ${sink}: starts with fresh state on ${fresh}, because ${verdict.reasons.join("; ")}`);
          used.set(sink, fresh);
        } else {
          refused.push(`${sink}: ${verdict.reasons.join("; ")}`);
        }
      }
    }
  }
  if (refused.length > 0) {
    throw new ExitError(
      EXIT.incompatibleCheckpoint,
      `these queries cannot resume from their checkpoints:\n  ${refused.join("\n  ")}`,
      "undo that change, or start with --fresh-state to run those queries on new checkpoints (their old state is kept, not used)",
    );
  }
  return used;
}

export interface StartOptions extends JobOptions {
  readonly freshState?: boolean;
  readonly foreground?: boolean;
  readonly replace?: boolean;
  readonly timeout?: string;
  /** false: no supervisor brings the job back when it dies (--no-supervise). */
  readonly supervise?: boolean;
  /** Set by the supervisor when it submits the job again itself: its pid. */
  readonly supervisedBy?: number;
}

/**
 * Submits the pipeline's last staged plan again, exactly as it ran: what the supervisor does when
 * the job died. Neither the spec on disk (which may be half edited) nor the checkpoint checks
 * come into it; the staged files are content-addressed and stay where `start` put them.
 * Returns undefined when there is no staged job to submit again (then a full start is needed).
 */
export async function resubmit(pipeline: string, options: StartOptions, io: Output): Promise<JobState | undefined> {
  const dir = stateDir(options);
  const last = readStagedJob(dir, pipeline);
  if (last === undefined) return undefined;
  const livy = livyClient(options);
  const target = stagingTarget({ ...options, target: last.target });
  if (target.kind === "local" && ![last.planFile, last.jarFile].every((f) => existsSync(f))) return undefined;
  return whileLocked(dir, pipeline, io, async () => {
    if (isStopped(dir, pipeline)) throw new ExitError(EXIT.alreadyRunning, `pipeline ${pipeline} was stopped; it is not submitted again`);
    const running = await withLivy(() => liveBatch(livy, pipeline, options), EXIT.livyUnreachable);
    if (running.batch !== undefined) throw new ExitError(EXIT.alreadyRunning, `pipeline ${pipeline} already runs as Livy batch ${running.batch.id}`);
    await refuseUnseenDriver(pipeline, options);
    await target.clearStop(last.stopFile).catch((error: Error) => {
      throw new ExitError(EXIT.failedToStart, `cannot remove the old stop marker ${last.stopFile}: ${error.message}`);
    });
    const batch = await submit(livy, last, pipeline, target.kind);
    const state: JobState = { ...last, batchId: batch.id, livyUrl: livy.url, startedAt: new Date().toISOString() };
    writeJobState(dir, state);
    io.err(`submitted the staged plan ${last.planFile} again as Livy batch ${batch.id}; waiting until Spark runs every query`);
    await waitUntilRunning(livy, state, numberOption(options.timeout ?? "300", "timeout", 1) * 1000, dir, io);
    return state;
  });
}

/**
 * How long ago the pipeline's driver last wrote its heartbeat, wherever Livy thinks it is: a
 * driver Livy forgot (Livy restarted under it) still beats. Undefined when there is no heartbeat.
 */
export async function driverHeartbeatAge(pipeline: string, options: JobOptions): Promise<number | undefined> {
  const staged = readStagedJob(stateDir(options), pipeline);
  const state = readJobState(stateDir(options), pipeline);
  const target = stagingTarget({ ...options, target: staged?.target ?? state?.target ?? options.target });
  const stopFile = staged?.stopFile ?? state?.stopFile ?? target.stopFileFor(pipeline);
  return target.heartbeatAgeMs(stopFile).catch(() => undefined);
}

/** Refuses to submit while a driver of the pipeline beats outside Livy's view. */
async function refuseUnseenDriver(pipeline: string, options: JobOptions): Promise<void> {
  const age = await driverHeartbeatAge(pipeline, options);
  if (age !== undefined && age < HEARTBEAT_STALE_MS) {
    throw new ExitError(
      EXIT.alreadyRunning,
      `a driver of pipeline ${pipeline} still runs although Livy does not know it (its heartbeat is ${Math.round(age / 1000)} s old; was Livy restarted?)`,
      "stop it first: sensor-streaming stop (it is asked to stop through its stop marker)",
    );
  }
}

/** ` SPEC --profile P ...` as the user would type them again, empty for the defaults. */
export function pipelineArguments(specFile: string | undefined, options: JobOptions): string {
  const quote = (text: string): string => (/^[A-Za-z0-9_./:@%+=-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`);
  const parts = [
    ...(specFile === undefined || path.resolve(specFile) === path.resolve(DEFAULT_SPEC) ? [] : [specFile]),
    ...(options.profile === undefined ? [] : ["--profile", options.profile]),
    ...(options.target === undefined ? [] : ["--target", options.target]),
    ...(options.livy === undefined ? [] : ["--livy", options.livy]),
  ];
  return parts.map((p) => ` ${quote(p)}`).join("");
}

/** The command line that runs `supervise` for the same spec and options as this command. */
function superviseCommandLine(specFile: string | undefined, options: StartOptions): [string, ...string[]] {
  const flags: Array<[string, string | undefined]> = [
    ["--profile", options.profile],
    ["--livy", options.livy],
    ["--target", options.target],
    ["--container", options.container],
  ];
  return [
    process.execPath,
    ...process.execArgv,
    process.argv[1]!,
    "supervise",
    ...(specFile === undefined ? [] : [specFile]),
    ...flags.flatMap(([flag, value]) => (value === undefined ? [] : [flag, value])),
  ];
}

function supervisionNote(supervisor: SupervisorRecord | undefined): string {
  return supervisor === undefined
    ? "  not supervised (--no-supervise): nothing submits it again if its job dies"
    : `  supervised: submitted again if its job dies (supervisor pid ${supervisor.pid}, log ${supervisor.logFile})`;
}

export async function startCommand(specFile: string | undefined, options: StartOptions, io: Output): Promise<number> {
  const { plan } = loadPlan(specFile, options);
  const livy = livyClient(options);
  const target = stagingTarget(options);
  const timeoutMs = numberOption(options.timeout ?? "300", "timeout", 1) * 1000;
  const launch = options.supervise !== false && options.supervisedBy === undefined;
  const supervise = (): SupervisorRecord | undefined => (launch ? launchSupervisor(stateDir(options), plan.pipeline, superviseCommandLine(specFile, options)) : undefined);
  let state: JobState;
  try {
    state = await whileLocked(stateDir(options), plan.pipeline, io, () => startLocked(plan, livy, target, timeoutMs, options, io));
  } catch (error) {
    // A job that runs (it already did, or it was left running after a slow start) is supervised
    // all the same, so `start` at boot is enough to put a surviving job back under supervision.
    if (launch && error instanceof ExitError && (error.exitCode === EXIT.alreadyRunning || error.exitCode === EXIT.failedToStart)) {
      const running = await liveBatch(livy, plan.pipeline, options).catch(() => undefined);
      if (running?.batch !== undefined) {
        const record = supervise();
        if (record !== undefined) io.err(`pipeline ${plan.pipeline} runs as Livy batch ${running.batch.id}; supervised by pid ${record.pid}`);
      }
    }
    throw error;
  }
  const supervisor = supervise();
  if (options.foreground !== true) {
    io.out(`pipeline ${plan.pipeline} is running as Livy batch ${state.batchId}`);
    if (options.supervisedBy === undefined) io.out(supervisionNote(supervisor));
    // The hints name this pipeline: without its spec they would show the default one.
    const which = pipelineArguments(specFile, options);
    io.out(`  follow it:  npx sensor-streaming status${which}   |   npx sensor-streaming logs -f${which}`);
    io.out(which === "" ? `  stop it:    ./stop-spark-streaming.sh  (or npx sensor-streaming stop)` : `  stop it:    npx sensor-streaming stop${which}`);
    return EXIT.ok;
  }
  return follow(livy, state, stateDir(options), io);
}

/**
 * One start at a time per pipeline: between "is it running?" and the submit, a second start
 * would otherwise run a second job on the same checkpoints. The lock names this process, so a
 * start that died leaves nothing in the way, and it is released on Ctrl-C and SIGTERM too (Node
 * would otherwise exit on them without running any finally block).
 */
async function whileLocked<T>(dir: string, pipeline: string, io: Output, action: () => Promise<T>): Promise<T> {
  let release: () => void;
  try {
    release = acquireLock(dir, pipeline);
  } catch (error) {
    if (!(error instanceof LockHeldError)) throw error;
    throw new ExitError(EXIT.alreadyRunning, `another start of pipeline ${pipeline} is in progress: ${error.message}`, "wait for it to finish");
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    release();
    io.err(`start of pipeline ${pipeline} interrupted (${signal}); a job already submitted keeps running: see sensor-streaming status`);
    process.exit(signal === "SIGINT" ? EXIT.interrupted : EXIT.terminated);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    return await action();
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    release();
  }
}

async function startLocked(plan: PlanNode, livy: LivyClient, target: StagingTarget, timeoutMs: number, options: StartOptions, io: Output): Promise<JobState> {
  // Not knowing whether the pipeline runs is Livy's trouble (8), not "already running" (7).
  const running = await withLivy(() => liveBatch(livy, plan.pipeline, options), EXIT.livyUnreachable);
  if (running.batch !== undefined && options.replace !== true) {
    throw new ExitError(
      EXIT.alreadyRunning,
      `pipeline ${plan.pipeline} already runs as Livy batch ${running.batch.id} (${running.batch.state})`,
      "stop it first (sensor-streaming stop), or start with --replace to stop it gracefully and start the new one",
    );
  }

  if (running.batch === undefined) await refuseUnseenDriver(plan.pipeline, options);

  const files = compiledFiles(plan);
  const sql = Object.fromEntries(files.filter((f) => f.name.endsWith(".sql")).map((f) => [f.name, f.content]));
  const planIndex = files.findIndex((f) => f.name === "plan.json");
  let bound: PlanJson;
  try {
    bound = JSON.parse(bindPlan(files[planIndex]!.content, process.env, process.cwd())) as PlanJson;
  } catch (error) {
    if (error instanceof BindError) throw new ExitError(EXIT.invalidSpec, `cannot bind ${plan.specFile}: ${error.message}`, `export ${error.unset.map((v) => `${v}=...`).join(" ")}`);
    throw error;
  }
  for (const line of await prepareInfluxDatabases(bound)) io.err(`  ${line}`);
  const used = checkpointsToUse(target.kind === "local" ? checkCheckpoints(bound, sql) : [], bound, options.freshState === true, io);
  // Queries that resume on (or start on) a checkpoint other than the planned one get it written in.
  const template = JSON.parse(files[planIndex]!.content) as { sinks: Array<{ name: string; checkpoint: string }> };
  const boundCheckpoints = new Map(bound.sinks.map((s) => [s.name, s.checkpoint]));
  for (const sink of template.sinks) {
    const location = used.get(sink.name);
    if (location !== undefined && location !== boundCheckpoints.get(sink.name)) sink.checkpoint = location;
  }
  files[planIndex] = { name: "plan.json", content: `${JSON.stringify(template, null, 2)}\n` };

  io.err(`staging ${plan.specFile}${options.profile === undefined ? "" : ` (profile ${options.profile})`} in ${target.description}`);
  const jar = await runnerJar(io);
  let staged;
  try {
    staged = await target.stage(plan.pipeline, files, jar, process.env, process.cwd());
  } catch (error) {
    throw new ExitError(EXIT.failedToStart, `staging failed: ${(error as Error).message}`);
  }
  io.err(`  plan ${staged.planFile}${staged.reused ? " (already staged)" : ""}`);

  // Only now, with the new job validated and staged, is the old one stopped.
  if (running.batch !== undefined) {
    io.err(`replacing: stopping batch ${running.batch.id} gracefully first`);
    const replacedBatch = running.batch;
    await withLivy(() => stopBatch(livy, target, replacedBatch.id, running.state?.stopFile, plan.pipeline, options, io), EXIT.failedToStart);
  }
  await target.clearStop(staged.stopFile).catch((error: Error) => {
    throw new ExitError(EXIT.failedToStart, `cannot remove the old stop marker ${staged.stopFile}: ${error.message}`);
  });

  clearStopped(stateDir(options), plan.pipeline);
  const sinks = plan.sinks.map((s) => s.name);
  writeStagedJob(stateDir(options), { pipeline: plan.pipeline, target: target.kind, planFile: staged.planFile, jarFile: staged.jarFile, stopFile: staged.stopFile, sinks });
  const batch = await submit(livy, staged, plan.pipeline, target.kind);
  const state: JobState = {
    pipeline: plan.pipeline,
    batchId: batch.id,
    livyUrl: livy.url,
    target: target.kind,
    planFile: staged.planFile,
    stopFile: staged.stopFile,
    jarFile: staged.jarFile,
    sinks: plan.sinks.map((s) => s.name),
    startedAt: new Date().toISOString(),
  };
  writeJobState(stateDir(options), state);
  io.err(`submitted Livy batch ${batch.id} to ${livy.url}; waiting until Spark runs every query`);
  await waitUntilRunning(livy, state, timeoutMs, stateDir(options), io);

  if (target.kind === "local") {
    const usedPlan = { ...bound, sinks: bound.sinks.map((s) => ({ ...s, checkpoint: used.get(s.name) ?? s.checkpoint })) };
    recordCheckpoints(usedPlan, sql, used, boundCheckpoints);
  }
  return state;
}

/**
 * A driver out of memory would otherwise linger half alive, holding its Livy batch "running";
 * exiting lets the batch end dead and the supervisor submit it again. Only on the local stack,
 * whose Spark settings are ours: on a cluster this option would replace the site's own
 * spark.driver.extraJavaOptions, so it belongs in its spark-defaults.conf (see the README).
 */
const LOCAL_DRIVER_CONF = { "spark.driver.extraJavaOptions": "-XX:+ExitOnOutOfMemoryError" } as const;

async function submit(livy: LivyClient, staged: { jarFile: string; planFile: string; stopFile: string }, pipeline: string, targetKind: StagingTarget["kind"]): Promise<Batch> {
  // The marker lives on the driver's local disk, where this CLI writes it; a bare path would be
  // resolved on the cluster's default file system (HDFS) by the runner.
  const stopFile = staged.stopFile.startsWith("/") ? `file://${staged.stopFile}` : staged.stopFile;
  const jars = (process.env.SPARK_KAFKA_JARS ?? "").split(",").filter((j) => j !== "");
  const name = batchName(pipeline, new Date());
  // A submit Livy fails (5xx) is a start that failed (5), like one it refuses.
  return withLivy(
    async () => {
      try {
        return await livy.submit({
          file: staged.jarFile,
          className: RUNNER_CLASS,
          args: [staged.planFile, "--stop-file", stopFile],
          jars,
          name,
          conf: { "spark.ui.enabled": "false", ...(targetKind === "local" ? LOCAL_DRIVER_CONF : {}) },
        });
      } catch (error) {
        // Livy 0.7 leaves a batch it refused behind in "starting"; it would pass for a running job.
        if (error instanceof LivyError && error.status !== undefined && !/Duplicate session name/i.test(error.livyMessage ?? "")) {
          for (const ghost of (await livy.list().catch(() => [])).filter((b) => b.name === name)) await livy.delete(ghost.id).catch(() => undefined);
        }
        throw error;
      }
    },
    EXIT.failedToStart,
    EXIT.failedToStart,
  );
}

/** A query counts as started once it made progress, is idle, or waits for InfluxDB (it runs; its sink waits). */
const STARTED: ReadonlySet<Health> = new Set<Health>(["ok", "idle", "waiting"]);

/** Waits until Spark runs every query; a line when something changes, and every 15 s, so a slow start shows life. */
async function waitUntilRunning(livy: LivyClient, state: JobState, timeoutMs: number, states: string, io: Output): Promise<void> {
  const started = Date.now();
  let lastLine = "";
  let lastShown = 0;
  for (;;) {
    const current = await withLivy(() => livy.batch(state.batchId), EXIT.failedToStart);
    const lines = await withLivy(() => fullLog(livy, state.batchId), EXIT.failedToStart);
    const events = parseEvents(lines);
    if (FINAL_STATES.includes(current.state) || events.some((e) => e.event === "runner-exit")) {
      const final = FINAL_STATES.includes(current.state) ? current.state : "ending";
      clearJobState(states, state.pipeline);
      throw new ExitError(EXIT.failedToStart, `the job did not start: Livy batch ${state.batchId} is ${final}\n${failureReason(lines)}`, `see the whole log: sensor-streaming logs`);
    }
    const queries = state.sinks.map((sink) => queryHealth(sink, events));
    const line = `  ${current.state}, ${queries.filter((q) => STARTED.has(q.health)).length}/${state.sinks.length} queries running${startNotes(queries)}`;
    if (line !== lastLine || Date.now() - lastShown >= 15_000) {
      io.err(`${line} (${elapsed(started)})`);
      lastShown = Date.now();
    }
    lastLine = line;
    if (current.state === "running" && queries.every((q) => STARTED.has(q.health))) return;
    if (Date.now() - started > timeoutMs) {
      throw new ExitError(EXIT.failedToStart, `the job did not report progress of every query within ${timeoutMs / 1000} s (batch ${state.batchId} is ${current.state}, left running)`, "look at sensor-streaming logs; stop it with sensor-streaming stop");
    }
    await sleep(1000);
  }
}

/** Why queries are not running yet, when the runner said so. */
function startNotes(queries: readonly QueryHealth[]): string {
  const notes = queries.filter((q) => q.health === "restarting" || q.health === "waiting").map((q) => `${q.query}: ${DESCRIBE[q.health](q)}`);
  return notes.length === 0 ? "" : `; ${notes.join("; ")}`;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface FollowTiming {
  /** Between two looks at Livy. */
  readonly pollMs: number;
  /** How long Livy has been away; the view gives up (exit 8) once it exceeds its limit. */
  readonly outage: LivyOutage;
}

/** The batch and its log, or undefined for the batch when Livy no longer knows it. */
async function readBatch(livy: LivyClient, id: number): Promise<{ batch: Batch | undefined; lines: string[] }> {
  const batch = await livy.find(id);
  return { batch, lines: batch === undefined ? [] : await fullLog(livy, id) };
}

/**
 * Reads the batch for the foreground view; while Livy is away or failing, undefined (the outage
 * is recorded) until it stayed away longer than the outage limit, which ends the view with 8.
 */
async function readThroughOutage(livy: LivyClient, id: number, outage: LivyOutage): Promise<{ batch: Batch | undefined; lines: string[] } | undefined> {
  try {
    const read = await readBatch(livy, id);
    outage.recovered();
    return read;
  } catch (error) {
    if (!(error instanceof LivyError)) throw error;
    if (!error.unavailable) throw livyExit(error, EXIT.jobFailed);
    outage.failed(error);
    if (!outage.exceeded) return undefined;
    throw new ExitError(
      EXIT.livyUnreachable,
      `Livy has not answered since ${clock(outage.since!.toISOString())} (${elapsed(outage.since!.getTime())}): ${outage.cause}`,
      `the job may still run in Spark; once Livy is back: sensor-streaming status`,
    );
  }
}

/** The foreground view: job state and every query's progress until the job ends or Ctrl-C. */
export async function follow(livy: LivyClient, first: JobState, states: string, io: Output, timing: FollowTiming = { pollMs: 2000, outage: new LivyOutage() }): Promise<number> {
  let state = first;
  let detached = false;
  const onInterrupt = (): void => {
    detached = true;
  };
  process.once("SIGINT", onInterrupt);
  const screen = new LiveScreen(io);
  let cursor = new LogCursor();
  let view = "";
  try {
    while (!detached) {
      const read = await readThroughOutage(livy, state.batchId, timing.outage);
      if (read === undefined) {
        screen.show(`${view}\n  Livy not answering since ${clock(timing.outage.since!.toISOString())}, retrying: ${timing.outage.cause}`.trimStart(), []);
        await sleep(timing.pollMs);
        continue;
      }
      if (read.batch === undefined) {
        io.err(`Livy no longer knows batch ${state.batchId} (Livy restarted, or the batch ended long ago)`);
        const next = liveSupervisor(states, state.pipeline) === undefined ? undefined : await nextJob(state, states, timing.pollMs, () => detached);
        if (detached) break;
        if (next === undefined) {
          // Not cleared: the driver may run on unseen (its heartbeat tells stop and the supervisor).
          io.err("see sensor-streaming status");
          return EXIT.jobFailed;
        }
        io.err(`the supervisor submitted the pipeline again as Livy batch ${next.batchId}; following it`);
        state = next;
        cursor = new LogCursor();
        continue;
      }
      view = renderStatus(state, read.batch, parseEvents(read.lines));
      screen.show(view, cursor.next(read.lines).filter(isNotable));
      if (FINAL_STATES.includes(read.batch.state)) {
        if (read.batch.state === "success") {
          clearJobState(states, state.pipeline);
          return EXIT.ok;
        }
        io.err(`the job ended with an error (${read.batch.state}):\n${failureReason(read.lines)}`);
        const next = liveSupervisor(states, state.pipeline) === undefined ? undefined : await nextJob(state, states, timing.pollMs, () => detached);
        if (detached) break;
        if (next === undefined) {
          clearJobState(states, state.pipeline);
          return EXIT.jobFailed;
        }
        io.err(`the supervisor submitted the pipeline again as Livy batch ${next.batchId}; following it`);
        state = next;
        cursor = new LogCursor();
      }
      await sleep(timing.pollMs);
    }
  } finally {
    process.removeListener("SIGINT", onInterrupt);
  }
  io.out(`detached; the job keeps running as Livy batch ${state.batchId}. Stop it with: sensor-streaming stop`);
  return EXIT.ok;
}

/** Waits while the supervisor lives for the job it submits next; undefined when it gave up or the user detached. */
async function nextJob(ended: JobState, states: string, pollMs: number, detached: () => boolean): Promise<JobState | undefined> {
  while (!detached() && liveSupervisor(states, ended.pipeline) !== undefined) {
    const now = readJobState(states, ended.pipeline);
    // Livy numbers batches from 0 again after a restart: the start time tells jobs apart.
    if (now !== undefined && (now.batchId !== ended.batchId || now.startedAt !== ended.startedAt)) return now;
    await sleep(pollMs);
  }
  return undefined;
}

/**
 * On a terminal the view is redrawn in place (cursor up, clear below); log lines that matter are
 * printed above it and stay. Elsewhere each changed view is printed once.
 */
class LiveScreen {
  private last = "";
  private readonly terminal = process.stdout.isTTY === true;

  constructor(private readonly io: Output) {}

  show(view: string, notable: readonly string[]): void {
    if (view === this.last && notable.length === 0) return;
    if (this.terminal && this.last !== "") process.stdout.write(`\x1b[${this.last.split("\n").length}F\x1b[J`);
    for (const line of notable) this.io.out(`  log: ${line}`);
    this.io.out(view);
    this.last = view;
  }
}

/** A time of day in the local time zone, HH:MM:SS. */
export function clock(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : at.toLocaleTimeString("en-GB", { hour12: false });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function cut(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function progressText(p: QueryProgress): string {
  return (
    `batch ${p.batchId}, ${p.numInputRows} rows, in ${p.inputRowsPerSecond.toFixed(1)}/s, processed ${p.processedRowsPerSecond.toFixed(1)}/s, ${p.batchDurationMs} ms` +
    `${p.watermark !== undefined && !p.watermark.startsWith("1970") ? `, watermark ${p.watermark}` : ""}${p.stateRows > 0 ? `, state rows ${p.stateRows}` : ""}`
  );
}

/** One phrase per health; a new health does not compile until it has its phrase. */
const DESCRIBE: Readonly<Record<Health, (q: QueryHealth) => string>> = {
  ok: (q) => `${progressText(q.progress!)}${q.lastWrite === undefined ? "" : `, last write ${q.lastWrite.lines} lines at ${clock(q.lastWrite.at)}`}`,
  idle: () => "running, idle: nothing new to read since it started",
  "no-progress": () => "no progress yet",
  waiting: (q) => `waiting for InfluxDB since ${clock(q.waiting!.since)} (${plural(q.waiting!.attempts, "attempt")}; last: ${cut(q.waiting!.cause)})`,
  restarting: (q) => `failed, restarting (attempt ${q.restarting!.attempt}): ${cut(q.restarting!.cause)}`,
  failed: (q) => `failed: ${cut(q.error ?? "")}`,
  stopped: () => "stopped",
};

function queryLines(q: QueryHealth): string[] {
  const line = `  ${q.query.padEnd(20)} ${DESCRIBE[q.health](q)}`;
  if (q.refusedTotal === 0) return [line];
  return [line, `  ${"".padEnd(20)} refused ${plural(q.refusedTotal, "line")} in total (last: ${cut(q.lastRefusal?.reason ?? "")})`];
}

export function renderStatus(state: JobState, batch: Batch | undefined, events: readonly RunnerEvent[]): string {
  const lines = [
    `pipeline ${state.pipeline}: Livy batch ${state.batchId} ${batch?.state ?? "gone"}, up ${elapsed(Date.parse(state.startedAt))}${batch?.appId ? `, ${batch.appId}` : ""}`,
  ];
  for (const sink of state.sinks) lines.push(...queryLines(queryHealth(sink, events)));
  return lines.join("\n");
}

async function stopBatch(livy: LivyClient, target: StagingTarget, id: number, stopFile: string | undefined, pipeline: string, options: JobOptions & { timeout?: string }, io: Output): Promise<string> {
  const timeoutMs = numberOption(options.timeout ?? "120", "timeout", 1) * 1000;
  // Without a state file the marker is where this target always puts it.
  const marker = stopFile !== undefined && stopFile !== "" ? stopFile : target.stopFileFor(pipeline);
  try {
    await target.requestStop(marker);
  } catch (error) {
    throw new ExitError(EXIT.failedToStart, `cannot write the stop marker ${marker}: ${(error as Error).message}`, "stop it without the marker: the batch is deleted after --timeout, or use Livy's DELETE /batches/{id}");
  }
  io.err(`asked batch ${id} to stop gracefully (stop marker ${marker}); waiting for its running micro-batch`);
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const batch = await livy.find(id);
    if (batch === undefined || FINAL_STATES.includes(batch.state)) {
      clearJobState(stateDir(options), pipeline);
      return `stopped gracefully in ${elapsed(started)} (${batch?.state ?? "gone"})`;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  io.err(`no graceful stop within ${timeoutMs / 1000} s; deleting the batch`);
  await livy.delete(id).catch((error: unknown) => {
    // Ended between the last look and the delete: stopped all the same.
    if (!(error instanceof LivyError && error.status === 404)) throw error;
  });
  clearJobState(stateDir(options), pipeline);
  return "deleted through Livy (DELETE /batches) after the graceful stop timed out";
}

/**
 * A driver Livy no longer knows (Livy was restarted under it) still reads its stop marker: when
 * its heartbeat is fresh, the marker is written and the heartbeat awaited to end.
 */
async function stopUnseenDriver(pipeline: string, options: JobOptions & { timeout?: string }, io: Output): Promise<boolean> {
  const staged = readStagedJob(stateDir(options), pipeline);
  const state = readJobState(stateDir(options), pipeline);
  const target = stagingTarget({ ...options, target: staged?.target ?? state?.target ?? options.target });
  const stopFile = staged?.stopFile ?? state?.stopFile ?? target.stopFileFor(pipeline);
  const fresh = async (): Promise<boolean> => ((await driverHeartbeatAge(pipeline, options)) ?? Infinity) < HEARTBEAT_STALE_MS;
  if (!(await fresh())) return false;
  io.err(`Livy knows no job of pipeline ${pipeline}, but its driver still runs (heartbeat beside ${stopFile}); asking it to stop through its stop marker`);
  await target.requestStop(stopFile);
  // The runner removes its heartbeat when it has stopped; a killed one leaves it to go stale.
  const deadline = Date.now() + numberOption(options.timeout ?? "120", "timeout", 1) * 1000;
  while ((await fresh()) && Date.now() < deadline) await sleep(1000);
  if (await fresh()) throw new ExitError(EXIT.failedToStart, `the driver of pipeline ${pipeline} did not stop within the timeout`, "its process runs outside Livy: find it with ps and end it");
  clearJobState(stateDir(options), pipeline);
  io.out(`pipeline ${pipeline}: the driver Livy did not know has stopped gracefully`);
  return true;
}

export async function stopCommand(specFile: string | undefined, options: JobOptions & { timeout?: string }, io: Output): Promise<number> {
  const { plan } = loadPlan(specFile, options);
  const livy = livyClient(options);
  // The stop is recorded first, so that nothing (a supervisor, one launched by a start racing
  // this stop) submits the job again; then the supervisor goes.
  markStopped(stateDir(options), plan.pipeline);
  if (await stopSupervisor(stateDir(options), plan.pipeline)) io.err(`stopped the supervisor of pipeline ${plan.pipeline}`);
  const { state, batch } = await withLivy(() => liveBatch(livy, plan.pipeline, options), EXIT.livyUnreachable);
  if (batch === undefined) {
    if (await stopUnseenDriver(plan.pipeline, options, io)) return EXIT.ok;
    clearJobState(stateDir(options), plan.pipeline);
    io.out(`pipeline ${plan.pipeline} is not running; nothing to stop`);
    return EXIT.ok;
  }
  // The job's marker is where the target it was started with put it.
  const target = stagingTarget(state !== undefined && options.target === undefined ? { ...options, target: state.target } : options);
  const outcome = await withLivy(() => stopBatch(livy, target, batch.id, state?.stopFile, plan.pipeline, options, io), EXIT.livyUnreachable);
  io.out(`pipeline ${plan.pipeline}: Livy batch ${batch.id} ${outcome}`);
  return EXIT.ok;
}

/** A query's health for `status --json`: its latest progress (if any) and what the runner reported. */
function queryJson(q: QueryHealth): Record<string, unknown> {
  return {
    ...q.progress,
    query: q.query,
    health: q.health,
    ...(q.waiting === undefined ? {} : { waitingSince: q.waiting.since, waitingAttempts: q.waiting.attempts, waitingCause: q.waiting.cause, retryInMs: q.waiting.retryInMs }),
    ...(q.restarting === undefined ? {} : { restartAttempt: q.restarting.attempt, restartCause: q.restarting.cause, restartInMs: q.restarting.inMs, restartingSince: q.restarting.at }),
    ...(q.error === undefined ? {} : { error: q.error }),
    refusedTotal: q.refusedTotal,
    lastRefusal: q.lastRefusal ?? null,
    lastWrite: q.lastWrite ?? null,
  };
}

/**
 * Exits as `systemctl status` does, so scripts can alert: 0 healthy, 11 running but degraded (a
 * sink waits for InfluxDB, a query restarts), 10 not running at all.
 */
export async function statusCommand(specFile: string | undefined, options: JobOptions & { json?: boolean }, io: Output): Promise<number> {
  const { plan } = loadPlan(specFile, options);
  const livy = livyClient(options);
  const { state, batch } = await withLivy(() => liveBatch(livy, plan.pipeline, options), EXIT.livyUnreachable);
  const supervisor = liveSupervisor(stateDir(options), plan.pipeline);
  if (batch === undefined) {
    const ended = await lastBatchEnd(livy, plan.pipeline).catch(() => undefined);
    if (options.json === true) io.out(JSON.stringify({ pipeline: plan.pipeline, running: false, health: "not-running", lastJob: ended ?? null, supervisor: supervisor ?? null }, null, 2));
    else {
      io.out(`pipeline ${plan.pipeline} is not running${ended === undefined ? "" : `: ${ended}`}`);
      io.out(supervisor === undefined ? "  no supervisor: start it with ./start-spark-streaming.sh" : `  its supervisor (pid ${supervisor.pid}) is submitting it again; log ${supervisor.logFile}`);
    }
    return EXIT.notRunning;
  }
  const lines = await withLivy(() => fullLog(livy, batch.id), EXIT.livyUnreachable);
  const events = parseEvents(lines);
  const known: JobState = state ?? {
    pipeline: plan.pipeline,
    batchId: batch.id,
    livyUrl: livy.url,
    target: "unknown",
    planFile: "",
    stopFile: "",
    sinks: plan.sinks.map((s) => s.name),
    startedAt: events.find((e) => e.event === "runner-started")?.at ?? new Date().toISOString(),
  };
  const queries = known.sinks.map((sink) => queryHealth(sink, events));
  const verdict = pipelineHealth(batch, queries);
  if (options.json === true) {
    const json = { pipeline: plan.pipeline, running: true, health: verdict.health, problems: verdict.problems, batchId: batch.id, state: batch.state, appId: batch.appId, startedAt: known.startedAt, supervisor: supervisor ?? null };
    io.out(JSON.stringify({ ...json, queries: Object.fromEntries(queries.map((q) => [q.query, queryJson(q)])) }, null, 2));
  } else {
    io.out(renderStatus(known, batch, events));
    io.out(supervisorLine(supervisor));
    if (verdict.health === "degraded") io.out(`not running as it should: ${verdict.problems.join("; ")}`);
  }
  return verdict.health === "healthy" ? EXIT.ok : EXIT.degraded;
}

function supervisorLine(supervisor: SupervisorRecord | undefined): string {
  if (supervisor === undefined) return "  not supervised: nothing submits it again if its job dies (start it with ./start-spark-streaming.sh)";
  const restarts = supervisor.restarts === 0 ? "no restarts" : `${supervisor.restarts} restart${supervisor.restarts === 1 ? "" : "s"}, last at ${clock(supervisor.lastRestartAt ?? "")} after: ${supervisor.lastCause ?? "?"}`;
  return `  supervised by pid ${supervisor.pid} since ${clock(supervisor.startedAt)} (${restarts})`;
}

/** What became of the pipeline's newest batch Livy remembers, in one line; undefined when it knows none. */
/** The pipeline's newest batch Livy remembers, running or ended. */
export async function lastBatch(livy: LivyClient, pipeline: string): Promise<Batch | undefined> {
  return (await livy.list()).filter((b) => isBatchOf(b, pipeline)).sort((a, b) => b.id - a.id)[0];
}

export async function lastBatchEnd(livy: LivyClient, pipeline: string): Promise<string> {
  const newest = await lastBatch(livy, pipeline);
  if (newest === undefined) return "Livy knows no job of it (never started, or Livy restarted)";
  if (!FINAL_STATES.includes(newest.state) || newest.state === "success") return `its last job, Livy batch ${newest.id}, is ${newest.state}`;
  const lines = await fullLog(livy, newest.id).catch(() => []);
  // The last word of the runner or of an exception; a killed driver leaves neither.
  const last = [...lines].reverse().find((l) => l.includes("sensor-streaming runner:") || /Exception|Error:/.test(l));
  const why = last === undefined ? "its log ends without an error: the driver was killed or lost" : last.length > 300 ? `${last.slice(0, 300)}...` : last;
  return `its last job, Livy batch ${newest.id}, is ${newest.state} (${why})`;
}

export async function logsCommand(specFile: string | undefined, options: JobOptions & { follow?: boolean }, io: Output): Promise<number> {
  const { plan } = loadPlan(specFile, options);
  const livy = livyClient(options);
  const recorded = readJobState(stateDir(options), plan.pipeline);
  const { batch } = await withLivy(() => liveBatch(livy, plan.pipeline, options), EXIT.livyUnreachable);
  // When nothing runs, the log of the pipeline's newest batch Livy still remembers.
  const newest = async (): Promise<number | undefined> =>
    (await livy.list()).filter((b) => isBatchOf(b, plan.pipeline)).sort((a, b) => b.id - a.id)[0]?.id;
  const id = batch?.id ?? recorded?.batchId ?? (await withLivy(newest, EXIT.livyUnreachable));
  if (id === undefined) {
    io.out(`pipeline ${plan.pipeline} has no batch to show the log of`);
    return EXIT.ok;
  }
  const cursor = new LogCursor();
  let shown = 0;
  let stop = false;
  process.once("SIGINT", () => (stop = true));
  do {
    const lines = await withLivy(() => fullLog(livy, id), EXIT.livyUnreachable).catch((error: unknown) => {
      if (error instanceof ExitError && shown > 0) return undefined;
      throw error;
    });
    if (lines === undefined) break;
    for (const line of cursor.next(lines)) io.out(line);
    shown += lines.length;
    const current = await withLivy(() => livy.find(id), EXIT.livyUnreachable);
    if (current === undefined || FINAL_STATES.includes(current.state)) break;
    if (options.follow === true) await new Promise((resolve) => setTimeout(resolve, 2000));
  } while (options.follow === true && !stop);
  return EXIT.ok;
}
