/**
 * start, stop, status and logs: a compiled pipeline as a Livy batch running the Java runner.
 */
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { compiledFiles } from "../emit/compiled-files.js";
import { BindError, bindPlan } from "../deploy/bind-plan.js";
import { checkCheckpoints, freshCheckpoint, recordCheckpoints, type PlanJson, type SinkVerdict } from "../deploy/checkpoint-compat.js";
import { clearJobState, DEFAULT_STATE_DIR, readJobState, writeJobState, type JobState } from "../deploy/job-state.js";
import { DockerStagingTarget, LocalStagingTarget, type StagingTarget } from "../deploy/staging-target.js";
import { FINAL_STATES, LivyClient, LivyError, type Batch } from "../livy/livy-client.js";
import { LogCursor } from "../livy/log-cursor.js";
import { isNotable, latestProgress, parseEvents, runningQueries, type QueryProgress, type RunnerEvent } from "../livy/runner-events.js";
import { numberOption, type Output } from "./commands.js";
import type { PlanNode } from "../plan/nodes.js";
import { EXIT, ExitError } from "./exit-codes.js";
import { loadPlan, type SpecOptions } from "./pipeline-input.js";

export const RUNNER_CLASS = "io.sensorstreaming.runner.Runner";
export const RUNNER_JAR = "infrastructure/spark/runner/build/sensor-streaming-runner.jar";

export interface JobOptions extends SpecOptions {
  readonly livy?: string;
  readonly target?: string;
  readonly container?: string;
  readonly stateDir?: string;
}

function livyClient(options: JobOptions): LivyClient {
  return new LivyClient(options.livy ?? process.env.LIVY_URL ?? "http://localhost:8998");
}

function stateDir(options: JobOptions): string {
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

/** Livy errors become exit codes: unreachable (8) or a refusal with Livy's own message. */
async function withLivy<T>(action: () => Promise<T>, failure: number = EXIT.failedToStart): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof LivyError) {
      if (error.status === undefined) {
        throw new ExitError(EXIT.livyUnreachable, error.message, "is Livy running? For the local stack: infrastructure/local/stack.sh up (or set LIVY_URL)");
      }
      throw new ExitError(failure, `Livy refused the request: ${error.livyMessage ?? error.message}`);
    }
    throw error;
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
async function liveBatch(livy: LivyClient, pipeline: string, options: JobOptions): Promise<{ state: JobState | undefined; batch: Batch | undefined }> {
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
}

export async function startCommand(specFile: string | undefined, options: StartOptions, io: Output): Promise<number> {
  const { plan } = loadPlan(specFile, options);
  const livy = livyClient(options);
  const target = stagingTarget(options);
  const timeoutMs = numberOption(options.timeout ?? "300", "timeout", 1) * 1000;
  const release = lockPipeline(stateDir(options), plan.pipeline);
  try {
    return await startLocked(plan, livy, target, timeoutMs, options, io);
  } finally {
    release();
  }
}

/**
 * One start at a time per pipeline: between "is it running?" and the submit, a second start
 * would otherwise run a second job on the same checkpoints. A lock older than the longest start
 * is left over from a crash and taken over.
 */
function lockPipeline(dir: string, pipeline: string): () => void {
  mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, `${pipeline}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: "wx" });
      return () => rmSync(lock, { force: true });
    } catch {
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 15 * 60_000) rmSync(lock, { force: true });
    }
  }
  throw new ExitError(EXIT.alreadyRunning, `another start of pipeline ${pipeline} is in progress (${lock})`, "wait for it to finish; remove the file if no start is running");
}

async function startLocked(plan: PlanNode, livy: LivyClient, target: StagingTarget, timeoutMs: number, options: StartOptions, io: Output): Promise<number> {
  const running = await withLivy(() => liveBatch(livy, plan.pipeline, options), EXIT.alreadyRunning);
  if (running.batch !== undefined && options.replace !== true) {
    throw new ExitError(
      EXIT.alreadyRunning,
      `pipeline ${plan.pipeline} already runs as Livy batch ${running.batch.id} (${running.batch.state})`,
      "stop it first (sensor-streaming stop), or start with --replace to stop it gracefully and start the new one",
    );
  }

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

  const jars = (process.env.SPARK_KAFKA_JARS ?? "").split(",").filter((j) => j !== "");
  const name = batchName(plan.pipeline, new Date());
  const batch = await withLivy(async () => {
    try {
      return await livy.submit({
        file: staged.jarFile,
        className: RUNNER_CLASS,
        args: [staged.planFile, "--stop-file", staged.stopFile],
        jars,
        name,
        conf: { "spark.ui.enabled": "false" },
      });
    } catch (error) {
      // Livy 0.7 leaves a batch it refused behind in "starting"; it would pass for a running job.
      if (error instanceof LivyError && error.status !== undefined && !/Duplicate session name/i.test(error.livyMessage ?? "")) {
        for (const ghost of (await livy.list().catch(() => [])).filter((b) => b.name === name)) await livy.delete(ghost.id).catch(() => undefined);
      }
      throw error;
    }
  });
  const state: JobState = {
    pipeline: plan.pipeline,
    batchId: batch.id,
    livyUrl: livy.url,
    target: target.kind,
    planFile: staged.planFile,
    stopFile: staged.stopFile,
    sinks: plan.sinks.map((s) => s.name),
    startedAt: new Date().toISOString(),
  };
  writeJobState(stateDir(options), state);
  io.err(`submitted Livy batch ${batch.id} to ${livy.url}; waiting until Spark runs every query`);

  const started = Date.now();
  let lastLine = "";
  let lastShown = 0;
  for (;;) {
    const current = await withLivy(() => livy.batch(batch.id));
    const lines = await withLivy(() => fullLog(livy, batch.id));
    const events = parseEvents(lines);
    const running = runningQueries(events);
    if (FINAL_STATES.includes(current.state) || events.some((e) => e.event === "runner-exit")) {
      const final = FINAL_STATES.includes(current.state) ? current.state : "ending";
      clearJobState(stateDir(options), plan.pipeline);
      throw new ExitError(EXIT.failedToStart, `the job did not start: Livy batch ${batch.id} is ${final}\n${failureReason(lines)}`, `see the whole log: sensor-streaming logs`);
    }
    // A line when something changes, and every 15 s while waiting, so a slow start shows life.
    const line = `  ${current.state}, ${running.size}/${state.sinks.length} queries running`;
    if (line !== lastLine || Date.now() - lastShown >= 15_000) {
      io.err(`${line} (${elapsed(started)})`);
      lastShown = Date.now();
    }
    lastLine = line;
    if (current.state === "running" && state.sinks.every((s) => running.has(s))) break;
    if (Date.now() - started > timeoutMs) {
      throw new ExitError(EXIT.failedToStart, `the job did not report progress of every query within ${timeoutMs / 1000} s (batch ${batch.id} is ${current.state}, left running)`, "look at sensor-streaming logs; stop it with sensor-streaming stop");
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }

  if (target.kind === "local") {
    const usedPlan = { ...bound, sinks: bound.sinks.map((s) => ({ ...s, checkpoint: used.get(s.name) ?? s.checkpoint })) };
    recordCheckpoints(usedPlan, sql, used, boundCheckpoints);
  }

  if (options.foreground !== true) {
    io.out(`pipeline ${plan.pipeline} is running as Livy batch ${batch.id}`);
    io.out(`  follow it:  npx sensor-streaming status   |   npx sensor-streaming logs -f`);
    io.out(`  stop it:    ./stop-spark-streaming.sh  (or npx sensor-streaming stop)`);
    return EXIT.ok;
  }
  return follow(livy, state, stateDir(options), io);
}

/** The foreground view: job state and every query's progress until the job ends or Ctrl-C. */
async function follow(livy: LivyClient, state: JobState, states: string, io: Output): Promise<number> {
  let detached = false;
  const onInterrupt = (): void => {
    detached = true;
  };
  process.once("SIGINT", onInterrupt);
  const cursor = new LogCursor();
  let lastView = "";
  const terminal = process.stdout.isTTY === true;
  try {
    while (!detached) {
      const batch = await withLivy(() => livy.batch(state.batchId), EXIT.jobFailed);
      const lines = await withLivy(() => fullLog(livy, state.batchId), EXIT.jobFailed);
      const notable = cursor.next(lines).filter(isNotable);
      const events = parseEvents(lines);
      const view = renderStatus(state, batch, latestProgress(events), events);
      if (view !== lastView || notable.length > 0) {
        // On a terminal the view is redrawn in place (cursor up, clear below); log lines that
        // matter are printed above it and stay.
        if (terminal && lastView !== "") process.stdout.write(`\x1b[${lastView.split("\n").length}F\x1b[J`);
        for (const line of notable) io.out(`  log: ${line}`);
        io.out(view);
      }
      lastView = view;
      if (FINAL_STATES.includes(batch.state)) {
        clearJobState(states, state.pipeline);
        if (batch.state === "success") return EXIT.ok;
        io.err(`the job ended with an error (${batch.state}):\n${failureReason(lines)}`);
        return EXIT.jobFailed;
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  } finally {
    process.removeListener("SIGINT", onInterrupt);
  }
  io.out(`detached; the job keeps running as Livy batch ${state.batchId}. Stop it with: sensor-streaming stop`);
  return EXIT.ok;
}

function lastSinkWrite(query: string, events: readonly RunnerEvent[]): string {
  const written = [...events].reverse().find((e) => e.event === "influx-written" && e.query === query);
  return written === undefined ? "" : `, last write ${String(written.lines)} lines at ${String(written.at).slice(11, 19)}`;
}

export function renderStatus(state: JobState, batch: Batch | undefined, progress: ReadonlyMap<string, QueryProgress>, events: readonly RunnerEvent[]): string {
  const lines = [
    `pipeline ${state.pipeline}: Livy batch ${state.batchId} ${batch?.state ?? "gone"}, up ${elapsed(Date.parse(state.startedAt))}${batch?.appId ? `, ${batch.appId}` : ""}`,
  ];
  for (const sink of state.sinks) {
    const p = progress.get(sink);
    if (p === undefined) {
      lines.push(`  ${sink.padEnd(20)} ${runningQueries(events).has(sink) ? "running, idle: nothing new to read since it started" : "no progress yet"}`);
      continue;
    }
    lines.push(
      `  ${sink.padEnd(20)} batch ${p.batchId}, ${p.numInputRows} rows, in ${p.inputRowsPerSecond.toFixed(1)}/s, processed ${p.processedRowsPerSecond.toFixed(1)}/s, ${p.batchDurationMs} ms` +
        `${p.watermark !== undefined && !p.watermark.startsWith("1970") ? `, watermark ${p.watermark}` : ""}${p.stateRows > 0 ? `, state rows ${p.stateRows}` : ""}${lastSinkWrite(sink, events)}`,
    );
  }
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

export async function stopCommand(specFile: string | undefined, options: JobOptions & { timeout?: string }, io: Output): Promise<number> {
  const { plan } = loadPlan(specFile, options);
  const livy = livyClient(options);
  const { state, batch } = await withLivy(() => liveBatch(livy, plan.pipeline, options), EXIT.livyUnreachable);
  if (batch === undefined) {
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

export async function statusCommand(specFile: string | undefined, options: JobOptions & { json?: boolean }, io: Output): Promise<number> {
  const { plan } = loadPlan(specFile, options);
  const livy = livyClient(options);
  const { state, batch } = await withLivy(() => liveBatch(livy, plan.pipeline, options), EXIT.livyUnreachable);
  if (batch === undefined) {
    if (options.json === true) io.out(JSON.stringify({ pipeline: plan.pipeline, running: false }, null, 2));
    else io.out(`pipeline ${plan.pipeline} is not running`);
    return EXIT.ok;
  }
  const lines = await withLivy(() => fullLog(livy, batch.id), EXIT.livyUnreachable);
  const events = parseEvents(lines);
  const progress = latestProgress(events);
  const known: JobState = state ?? {
    pipeline: plan.pipeline,
    batchId: batch.id,
    livyUrl: livy.url,
    target: "unknown",
    planFile: "",
    stopFile: "",
    sinks: plan.sinks.map((s) => s.name),
    startedAt: String(events.find((e) => e.event === "runner-started")?.at ?? new Date().toISOString()),
  };
  if (options.json === true) {
    io.out(JSON.stringify({ pipeline: plan.pipeline, running: true, batchId: batch.id, state: batch.state, appId: batch.appId, startedAt: known.startedAt, queries: Object.fromEntries(progress) }, null, 2));
  } else io.out(renderStatus(known, batch, progress, events));
  return EXIT.ok;
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
