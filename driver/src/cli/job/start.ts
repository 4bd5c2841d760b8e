/** `start` (and the supervisor's resubmit): validate, compile, stage, submit through Livy, wait until every query runs, launch the supervisor. */
import { existsSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { compiledFiles } from "../../emit/compiled-files.js";
import { BindError, bindPlan } from "../../deploy/bind-plan.js";
import { isHdfs } from "../../deploy/file-store.js";
import { HdfsError } from "../../hdfs/webhdfs.js";
import { checkCheckpoints, freshCheckpoint, recordCheckpoints, type PlanJson, type SinkVerdict } from "../../deploy/checkpoint-compat.js";
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
} from "../../deploy/job-state.js";
import { prepareInfluxDatabases } from "../../deploy/influx-database.js";
import type { StagingTarget } from "../../deploy/staging-target.js";
import { FINAL_STATES, LivyClient, LivyError, type Batch } from "../../livy/livy-client.js";
import { queryHealth, type Health, type QueryHealth } from "../../livy/query-health.js";
import { parseEvents } from "../../livy/runner-events.js";
import { numberOption, type Output } from "../commands.js";
import type { PlanNode } from "../../plan/nodes.js";
import { EXIT, ExitError } from "../exit-codes.js";
import { loadPlan } from "../pipeline-input.js";
import { launchSupervisor, type SupervisorRecord } from "../../job/supervisor.js";
import { stopPipeline } from "./stop.js";
import {
  type JobOptions,
  RUNNER_CLASS,
  batchName,
  elapsed,
  failureReason,
  fullLog,
  liveBatch,
  livyClient,
  pipelineArguments,
  refuseUnseenDriver,
  sleep,
  stagingTarget,
  stateDir,
  withLivy,
  RUNNER_JAR,
} from "./session.js";
import { stopBatch } from "./stop.js";
import { DESCRIBE, follow } from "./view.js";

export async function runnerJar(io: Output, target: string = "local"): Promise<string> {
  const jar = path.resolve(RUNNER_JAR);
  if (existsSync(jar)) return jar;
  if (process.env.SPARK_HOME === undefined) {
    const hint =
      target === "docker"
        ? "./infrastructure/start-all.sh copies it out of the Livy image (run it again), or run infrastructure/spark/runner/build.sh with SPARK_HOME set"
        : 'run infrastructure/spark/runner/build.sh with SPARK_HOME set (eval "$(infrastructure/local/stack.sh env)")';
    throw new ExitError(EXIT.failedToStart, `the runner jar ${RUNNER_JAR} is not built and SPARK_HOME is not set`, hint);
  }
  io.err(`building the runner (${RUNNER_JAR})`);
  await execa("infrastructure/spark/runner/build.sh", [jar], { stdio: "inherit" });
  return jar;
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
          refused.push(
            `${sink}: ${verdict.reasons.join("; ")}; and --fresh-state needs a new output folder for it (its folder records the old query's batches): change sinks.*.path too`,
          );
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
  /** With foreground: Ctrl-C stops the pipeline gracefully instead of detaching (the demo). */
  readonly stopOnInterrupt?: boolean;
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
    await refuseUnseenDriver(pipeline, options, livy, io);
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

export function supervisionNote(supervisor: SupervisorRecord | undefined): string {
  return supervisor === undefined
    ? "  not supervised (--no-supervise): nothing submits it again if its job dies"
    : `  supervised: submitted again if its job dies (supervisor pid ${supervisor.pid}, log ${supervisor.logFile})`;
}

export async function startCommand(specFile: string | undefined, options: StartOptions, io: Output): Promise<number> {
  if (options.stopOnInterrupt === true && options.foreground !== true)
    throw new ExitError(EXIT.usage, "--stop-on-interrupt needs --foreground", "sensor-streaming start --foreground --stop-on-interrupt");
  const { plan } = loadPlan(specFile, options);
  const livy = livyClient(options);
  const target = stagingTarget(options);
  const timeoutMs = numberOption(options.timeout ?? "300", "timeout", 1) * 1000;
  const launch = options.supervise !== false && options.supervisedBy === undefined;
  const supervise = (): SupervisorRecord | undefined =>
    launch ? launchSupervisor(stateDir(options), plan.pipeline, superviseCommandLine(specFile, options)) : undefined;
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
  if (options.stopOnInterrupt === true) {
    io.err("Ctrl-C stops the pipeline gracefully (its running micro-batch finishes; the next start resumes from the checkpoints)");
    // Said at once, and every further Ctrl-C (or SIGTERM) while the stop runs is answered, not
    // obeyed: killing this process half way would leave the job running.
    let stopping = false;
    const onSignal = (): void => {
      io.err(stopping ? "still stopping gracefully; please wait" : "stopping gracefully: the running micro-batch finishes first");
      stopping = true;
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    try {
      // By the pipeline's name, not by reading the spec again: it may have been edited meanwhile.
      return await follow(livy, state, stateDir(options), io, undefined, () => stopPipeline(state.pipeline, { ...options, timeout: undefined }, io));
    } finally {
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
    }
  }
  io.err(`Ctrl-C detaches: the job keeps running (stop it with sensor-streaming stop${pipelineArguments(specFile, options)})`);
  return follow(livy, state, stateDir(options), io);
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

export async function startLocked(
  plan: PlanNode,
  livy: LivyClient,
  target: StagingTarget,
  timeoutMs: number,
  options: StartOptions,
  io: Output,
): Promise<JobState> {
  // Not knowing whether the pipeline runs is Livy's trouble (8), not "already running" (7).
  const running = await withLivy(() => liveBatch(livy, plan.pipeline, options), EXIT.livyUnreachable);
  if (running.batch !== undefined && options.replace !== true) {
    throw new ExitError(
      EXIT.alreadyRunning,
      `pipeline ${plan.pipeline} already runs as Livy batch ${running.batch.id} (${running.batch.state})`,
      "stop it first (sensor-streaming stop), or start with --replace to stop it gracefully and start the new one",
    );
  }

  if (running.batch === undefined) await refuseUnseenDriver(plan.pipeline, options, livy, io);

  const files = compiledFiles(plan);
  const sql = Object.fromEntries(files.filter((f) => f.name.endsWith(".sql")).map((f) => [f.name, f.content]));
  const planIndex = files.findIndex((f) => f.name === "plan.json");
  let bound: PlanJson;
  try {
    bound = JSON.parse(bindPlan(files[planIndex]!.content, process.env, process.cwd())) as PlanJson;
  } catch (error) {
    if (error instanceof BindError)
      throw new ExitError(EXIT.invalidSpec, `cannot bind ${plan.specFile}: ${error.message}`, `export ${error.unset.map((v) => `${v}=...`).join(" ")}`);
    throw error;
  }
  for (const line of await prepareInfluxDatabases(bound)) io.err(`  ${line}`);
  // A docker target's file: locations are inside the container: only HDFS ones can be read here.
  const readable = target.kind === "local" ? bound : { ...bound, sinks: bound.sinks.filter((s) => isHdfs(s.checkpoint)) };
  const verdicts = await checkCheckpoints(readable, sql).catch((error: Error): SinkVerdict[] => {
    // The Compose cluster publishes the NameNode, not always a DataNode this machine can reach.
    if (target.kind !== "docker") return cannotReadCheckpoints(error);
    io.err(`  warning: the checkpoints' records on HDFS cannot be read from here (${error.message}); Spark checks each checkpoint when its query starts`);
    return readable.sinks.map((s) => ({
      sink: s.name,
      planned: s.checkpoint,
      verdict: { kind: "unchecked", checkpoint: s.checkpoint, notes: ["not checked"] },
    }));
  });
  const used = checkpointsToUse(verdicts, bound, options.freshState === true, io);
  // Queries that resume on (or start on) a checkpoint other than the planned one get it written in.
  const template = JSON.parse(files[planIndex]!.content) as { sinks: Array<{ name: string; checkpoint: string }> };
  const boundCheckpoints = new Map(bound.sinks.map((s) => [s.name, s.checkpoint]));
  for (const sink of template.sinks) {
    const location = used.get(sink.name);
    if (location !== undefined && location !== boundCheckpoints.get(sink.name)) sink.checkpoint = location;
  }
  files[planIndex] = { name: "plan.json", content: `${JSON.stringify(template, null, 2)}\n` };

  io.err(`staging ${plan.specFile}${options.profile === undefined ? "" : ` (profile ${options.profile})`} in ${target.description}`);
  const jar = await runnerJar(io, target.kind);
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
  writeStagedJob(stateDir(options), {
    pipeline: plan.pipeline,
    target: target.kind,
    planFile: staged.planFile,
    jarFile: staged.jarFile,
    stopFile: staged.stopFile,
    sinks,
  });
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

  const usedPlan = { ...readable, sinks: readable.sinks.map((s) => ({ ...s, checkpoint: used.get(s.name) ?? s.checkpoint })) };
  await recordCheckpoints(usedPlan, sql, used, boundCheckpoints).catch((error: Error) =>
    io.err(`  warning: the record of the plan beside the checkpoints was not written (${error.message}); the next start resumes them unchecked`),
  );
  return state;
}

function cannotReadCheckpoints(error: Error): never {
  throw new ExitError(
    EXIT.failedToStart,
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
    EXIT.failedToStart,
    EXIT.failedToStart,
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
    const current = await withLivy(() => livy.batch(state.batchId), EXIT.failedToStart);
    const lines = await withLivy(() => fullLog(livy, state.batchId), EXIT.failedToStart);
    const events = parseEvents(lines);
    if (FINAL_STATES.includes(current.state) || events.some((e) => e.event === "runner-exit")) {
      const final = FINAL_STATES.includes(current.state) ? current.state : "ending";
      clearJobState(states, state.pipeline);
      throw new ExitError(
        EXIT.failedToStart,
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
      throw new ExitError(
        EXIT.failedToStart,
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
