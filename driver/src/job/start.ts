/** `start` (and the supervisor's resubmit): validate, compile, stage, submit through Livy, wait until every query runs, launch the supervisor. */
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { compilePipeline, type CompiledPipeline } from "../emit/compiled-files.js";
import type { PlanJson } from "../emit/plan-json.js";
import { BindError, bindPlan } from "../deploy/bind-plan.js";
import { isHdfs } from "../deploy/file-store.js";
import { HdfsError } from "../hdfs/webhdfs.js";
import { checkCheckpoints, recordCheckpoints, type SinkVerdict } from "../deploy/checkpoint-compat.js";
import { checkpointsToUse, IncompatibleCheckpoints, withCheckpoints } from "../deploy/checkpoint-policy.js";
import {
  acquireLock,
  clearJobState,
  clearStopped,
  isStopped,
  readStagedJob,
  writeStagedJob,
  LockHeldError,
  writeJobState,
  type JobState,
  type StagedJobRecord,
} from "../deploy/job-state.js";
import { prepareInfluxDatabases } from "../deploy/influx-database.js";
import type { StagingTarget } from "../deploy/staging-target.js";
import { FINAL_STATES, LivyClient, LivyError, type Batch } from "../livy/livy-client.js";
import { queryHealth, type Health, type QueryHealth } from "../livy/query-health.js";
import { parseEvents } from "../livy/runner-events.js";
import type { PlanNode } from "../plan/nodes.js";
import { JobError, type Output } from "./errors.js";
import { launchSupervisor, type SupervisorRecord } from "./supervisor.js";
import {
  type JobOptions,
  RUNNER_CLASS,
  batchName,
  elapsed,
  failureReason,
  fullLog,
  liveBatch,
  livyClient,
  refuseUnseenDriver,
  sleep,
  stagingTarget,
  stateDir,
  withLivy,
  RUNNER_JAR,
} from "./session.js";
import { stopBatch } from "./stop.js";
import { DESCRIBE } from "./monitor.js";
import { windowTimings } from "./first-statistics.js";

export async function runnerJar(io: Output, target: string = "local"): Promise<string> {
  const jar = path.resolve(RUNNER_JAR);
  if (existsSync(jar)) return jar;
  if (process.env.SPARK_HOME === undefined) {
    const hint =
      target === "docker"
        ? "./infrastructure/start-all.sh copies it out of the Livy image (run it again), or run infrastructure/spark/runner/build.sh with SPARK_HOME set"
        : 'run infrastructure/spark/runner/build.sh with SPARK_HOME set (eval "$(infrastructure/local/stack.sh env)")';
    throw new JobError("failed-to-start", `the runner jar ${RUNNER_JAR} is not built and SPARK_HOME is not set`, hint);
  }
  io.err(`building the runner (${RUNNER_JAR})`);
  await execa("infrastructure/spark/runner/build.sh", [jar], { stdio: "inherit" });
  return jar;
}

export const DEFAULT_START_TIMEOUT_MS = 300_000;

export interface StartOptions extends JobOptions {
  readonly freshState?: boolean;
  readonly foreground?: boolean;
  /** With foreground: Ctrl-C stops the pipeline gracefully instead of detaching (the demo). */
  readonly stopOnInterrupt?: boolean;
  readonly replace?: boolean;
  /** How long Spark may take until every query runs (default 300 s). */
  readonly timeoutMs?: number;
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
    if (isStopped(dir, pipeline)) throw new JobError("already-running", `pipeline ${pipeline} was stopped; it is not submitted again`);
    const running = await withLivy(() => liveBatch(livy, pipeline, options), "livy-unreachable");
    if (running.batch !== undefined) throw new JobError("already-running", `pipeline ${pipeline} already runs as Livy batch ${running.batch.id}`);
    await refuseUnseenDriver(pipeline, options, livy, io);
    await target.clearStop(last.stopFile).catch((error: Error) => {
      throw new JobError("failed-to-start", `cannot remove the old stop marker ${last.stopFile}: ${error.message}`);
    });
    const batch = await submit(livy, last, pipeline, target.kind);
    const state: JobState = { ...last, batchId: batch.id, livyUrl: livy.url, startedAt: new Date().toISOString() };
    writeJobState(dir, state);
    io.err(`submitted the staged plan ${last.planFile} again as Livy batch ${batch.id}; waiting until Spark runs every query`);
    await waitUntilRunning(livy, state, options.timeoutMs ?? DEFAULT_START_TIMEOUT_MS, dir, io);
    return state;
  });
}

/** The command line that runs `supervise` for the same spec and options as this command. */
export function superviseCommandLine(specFile: string | undefined, options: StartOptions): [string, ...string[]] {
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

/**
 * Starts the pipeline (under its lock: validate what the plan needs, check the checkpoints,
 * stage, submit, wait until every query runs) and launches its supervisor unless told not to. A
 * job that turns out to be running already is put under supervision all the same, so `start` at
 * boot is enough to supervise a surviving job.
 */
export async function startJob(
  plan: PlanNode,
  specFile: string | undefined,
  options: StartOptions,
  io: Output,
): Promise<{ state: JobState; supervisor: SupervisorRecord | undefined }> {
  const livy = livyClient(options);
  const target = stagingTarget(options);
  const launch = options.supervise !== false && options.supervisedBy === undefined;
  const supervise = (): SupervisorRecord | undefined =>
    launch ? launchSupervisor(stateDir(options), plan.pipeline, superviseCommandLine(specFile, options)) : undefined;
  let state: JobState;
  try {
    state = await whileLocked(stateDir(options), plan.pipeline, io, () =>
      startLocked(plan, livy, target, options.timeoutMs ?? DEFAULT_START_TIMEOUT_MS, options, io),
    );
  } catch (error) {
    if (launch && error instanceof JobError && (error.failure === "already-running" || error.failure === "failed-to-start")) {
      const running = await liveBatch(livy, plan.pipeline, options).catch(() => undefined);
      if (running?.batch !== undefined) {
        const record = supervise();
        if (record !== undefined) io.err(`pipeline ${plan.pipeline} runs as Livy batch ${running.batch.id}; supervised by pid ${record.pid}`);
      }
    }
    throw error;
  }
  return { state, supervisor: supervise() };
}

/**
 * One start at a time per pipeline: between "is it running?" and the submit, a second start
 * would otherwise run a second job on the same checkpoints. The lock names this process, so a
 * start that died leaves nothing in the way, and it is released on Ctrl-C and SIGTERM too (Node
 * would otherwise exit on them without running any finally block).
 */
export async function whileLocked<T>(dir: string, pipeline: string, io: Output, action: () => Promise<T>): Promise<T> {
  let release: () => void;
  try {
    release = acquireLock(dir, pipeline);
  } catch (error) {
    if (!(error instanceof LockHeldError)) throw error;
    throw new JobError("already-running", `another start of pipeline ${pipeline} is in progress: ${error.message}`, "wait for it to finish");
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    release();
    io.err(`start of pipeline ${pipeline} interrupted (${signal}); a job already submitted keeps running: see sensor-streaming status`);
    // 128 + the signal's number, as shells report a process ended by it.
    process.exit(128 + os.constants.signals[signal]);
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

export async function startLocked(
  plan: PlanNode,
  livy: LivyClient,
  target: StagingTarget,
  timeoutMs: number,
  options: StartOptions,
  io: Output,
): Promise<JobState> {
  // Not knowing whether the pipeline runs is Livy's trouble (8), not "already running" (7).
  const running = await withLivy(() => liveBatch(livy, plan.pipeline, options), "livy-unreachable");
  if (running.batch !== undefined && options.replace !== true) {
    throw new JobError(
      "already-running",
      `pipeline ${plan.pipeline} already runs as Livy batch ${running.batch.id} (${running.batch.state})`,
      "stop it first (sensor-streaming stop), or start with --replace to stop it gracefully and start the new one",
    );
  }

  if (running.batch === undefined) await refuseUnseenDriver(plan.pipeline, options, livy, io);

  // The plan stays an object from here to staging, which writes its text once.
  const compiled = compilePipeline(plan);
  let bound: PlanJson;
  try {
    bound = bindPlan(compiled.plan, process.env, process.cwd());
  } catch (error) {
    if (error instanceof BindError)
      throw new JobError("invalid-plan", `cannot bind ${plan.specFile}: ${error.message}`, `export ${error.unset.map((v) => `${v}=...`).join(" ")}`);
    throw error;
  }
  for (const line of await prepareInfluxDatabases(bound)) io.err(`  ${line}`);
  // A docker target's file: locations are inside the container: only HDFS ones can be read here.
  const readable: CompiledPipeline = {
    plan: target.kind === "local" ? bound : { ...bound, sinks: bound.sinks.filter((s) => isHdfs(s.checkpoint)) },
    sql: compiled.sql,
  };
  const verdicts = await checkCheckpoints(readable).catch((error: Error): SinkVerdict[] => {
    // The Compose cluster publishes the NameNode, not always a DataNode this machine can reach.
    if (target.kind !== "docker") return cannotReadCheckpoints(error);
    io.err(`  warning: the checkpoints' records on HDFS cannot be read from here (${error.message}); Spark checks each checkpoint when its query starts`);
    return readable.plan.sinks.map((s) => ({
      sink: s.name,
      planned: s.checkpoint,
      verdict: { kind: "unchecked", checkpoint: s.checkpoint, notes: ["not checked"] },
    }));
  });
  let used: Map<string, string>;
  try {
    used = checkpointsToUse(verdicts, bound, options.freshState === true, io.err);
  } catch (error) {
    if (error instanceof IncompatibleCheckpoints) throw new JobError("incompatible-checkpoint", error.message, error.hint);
    throw error;
  }
  io.err(`staging ${plan.specFile}${options.profile === undefined ? "" : ` (profile ${options.profile})`} in ${target.description}`);
  const jar = await runnerJar(io, target.kind);
  let staged;
  try {
    // Queries that resume on (or start on) a checkpoint other than the planned one get it written in.
    staged = await target.stage({ plan: withCheckpoints(bound, used), sql: compiled.sql }, jar);
  } catch (error) {
    throw new JobError("failed-to-start", `staging failed: ${(error as Error).message}`);
  }
  io.err(`  plan ${staged.planFile}${staged.reused ? " (already staged)" : ""}`);

  // Only now, with the new job validated and staged, is the old one stopped.
  if (running.batch !== undefined) {
    io.err(`replacing: stopping batch ${running.batch.id} gracefully first`);
    const replacedBatch = running.batch;
    await withLivy(() => stopBatch(livy, target, replacedBatch.id, running.state?.stopFile, plan.pipeline, options, io), "failed-to-start");
  }
  await target.clearStop(staged.stopFile).catch((error: Error) => {
    throw new JobError("failed-to-start", `cannot remove the old stop marker ${staged.stopFile}: ${error.message}`);
  });

  clearStopped(stateDir(options), plan.pipeline);
  const stagedJob: StagedJobRecord = {
    pipeline: plan.pipeline,
    target: target.kind,
    planFile: staged.planFile,
    jarFile: staged.jarFile,
    stopFile: staged.stopFile,
    sinks: plan.sinks.map((s) => s.name),
    windows: windowTimings(plan),
  };
  writeStagedJob(stateDir(options), stagedJob);
  const batch = await submit(livy, staged, plan.pipeline, target.kind);
  // As resubmit does: the staged job, and which batch runs it since when.
  const state: JobState = { ...stagedJob, batchId: batch.id, livyUrl: livy.url, startedAt: new Date().toISOString() };
  writeJobState(stateDir(options), state);
  io.err(`submitted Livy batch ${batch.id} to ${livy.url}; waiting until Spark runs every query`);
  await waitUntilRunning(livy, state, timeoutMs, stateDir(options), io);

  // Each record beside the checkpoint the plan names, whichever folder its query uses.
  const planned = new Map(bound.sinks.map((s) => [s.name, s.checkpoint]));
  await recordCheckpoints({ ...readable, plan: withCheckpoints(readable.plan, used) }, used, planned).catch((error: Error) =>
    io.err(`  warning: the record of the plan beside the checkpoints was not written (${error.message}); the next start resumes them unchecked`),
  );
  return state;
}

function cannotReadCheckpoints(error: Error): never {
  throw new JobError(
    "failed-to-start",
    `cannot read the checkpoints' records: ${error.message}`,
    error instanceof HdfsError ? error.hint : "check that the checkpoint folder is readable",
  );
}

/**
 * A driver out of memory would otherwise linger half alive, holding its Livy batch "running";
 * exiting lets the batch end dead and the supervisor submit it again. Only on the local stack,
 * whose Spark settings are ours: on a cluster this option would replace the site's own
 * spark.driver.extraJavaOptions, so it belongs in its spark-defaults.conf (see the README).
 */
export const LOCAL_DRIVER_CONF = { "spark.driver.extraJavaOptions": "-XX:+ExitOnOutOfMemoryError" } as const;

export async function submit(
  livy: LivyClient,
  staged: { jarFile: string; planFile: string; stopFile: string },
  pipeline: string,
  targetKind: StagingTarget["kind"],
): Promise<Batch> {
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
    "failed-to-start",
    "failed-to-start",
  );
}

/** A query counts as started once it made progress, is idle, or waits for InfluxDB (it runs; its sink waits). */
export const STARTED: ReadonlySet<Health> = new Set<Health>(["ok", "idle", "waiting"]);

/** Waits until Spark runs every query; a line when something changes, and every 15 s, so a slow start shows life. */
export async function waitUntilRunning(livy: LivyClient, state: JobState, timeoutMs: number, states: string, io: Output): Promise<void> {
  const started = Date.now();
  let lastLine = "";
  let lastShown = 0;
  for (;;) {
    const current = await withLivy(() => livy.batch(state.batchId), "failed-to-start");
    const lines = await withLivy(() => fullLog(livy, state.batchId), "failed-to-start");
    const events = parseEvents(lines);
    if (FINAL_STATES.includes(current.state) || events.some((e) => e.event === "runner-exit")) {
      const final = FINAL_STATES.includes(current.state) ? current.state : "ending";
      clearJobState(states, state.pipeline);
      throw new JobError(
        "failed-to-start",
        `the job did not start: Livy batch ${state.batchId} is ${final}\n${failureReason(lines)}`,
        `see the whole log: sensor-streaming logs`,
      );
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
      throw new JobError(
        "failed-to-start",
        `the job did not report progress of every query within ${timeoutMs / 1000} s (batch ${state.batchId} is ${current.state}, left running)`,
        "look at sensor-streaming logs; stop it with sensor-streaming stop",
      );
    }
    await sleep(1000);
  }
}

/** Why queries are not running yet, when the runner said so. */
export function startNotes(queries: readonly QueryHealth[]): string {
  const notes = queries.filter((q) => q.health === "restarting" || q.health === "waiting").map((q) => `${q.query}: ${DESCRIBE[q.health](q)}`);
  return notes.length === 0 ? "" : `; ${notes.join("; ")}`;
}
