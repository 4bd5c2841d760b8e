/**
 * The plumbing every job command shares: the Livy client, the state folder, the staging target,
 * Livy errors as job failures, the pipeline's batch and what became of it, the driver's heartbeat.
 */
import path from "node:path";
import { readStagedJob, DEFAULT_STATE_DIR, readJobState, type JobState } from "../deploy/job-state.js";
import { DockerStagingTarget, LocalStagingTarget, type StagingTarget } from "../deploy/staging-target.js";
import { FINAL_STATES, LivyClient, LivyError, type Batch } from "../livy/livy-client.js";
import { JobError, type JobFailure } from "./errors.js";
import { HEARTBEAT_STALE_MS } from "./supervisor.js";

export const RUNNER_CLASS = "io.sensorstreaming.runner.Runner";
export const RUNNER_JAR = "infrastructure/spark/runner/build/sensor-streaming-runner.jar";

export interface JobOptions {
  /** The spec's profile, named again in hints. */
  readonly profile?: string;
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

/** The docker target's staging folder in the Spark master container (SENSOR_STREAMING_CONTAINER_STAGING). */
export const DEFAULT_CONTAINER_STAGING = "/opt/sensor-streaming/staging";

/**
 * The staging target. The docker target's folder is a path inside the container, so it has a
 * variable of its own: SENSOR_STREAMING_STAGING is the local stack's folder on this machine
 * (`eval "$(infrastructure/local/stack.sh env)"` exports it) and means nothing in the container.
 */
export function stagingTarget(options: JobOptions): StagingTarget {
  const kind = options.target ?? process.env.SENSOR_STREAMING_TARGET ?? "local";
  if (kind === "local") return new LocalStagingTarget(path.resolve(process.env.SENSOR_STREAMING_STAGING ?? ".local-stack/staging"));
  if (kind === "docker") {
    return new DockerStagingTarget(
      options.container ?? process.env.SPARK_MASTER_CONTAINER ?? "spark-master",
      process.env.SENSOR_STREAMING_CONTAINER_STAGING ?? DEFAULT_CONTAINER_STAGING,
    );
  }
  throw new JobError("usage", `unknown target "${kind}"`, "use --target local (the local stack) or --target docker (the Docker Compose cluster)");
}

/**
 * What starts the services of a target, for hints: the Docker Compose cluster's start-all.sh, the
 * local stack (in its cluster mode when HDFS is needed), or both when no target was named.
 */
export function startServicesHint(target: string | undefined, needsHdfs = false): string {
  const local = `infrastructure/local/stack.sh up${needsHdfs ? " --cluster" : ""}`;
  if (target === "docker") return "./infrastructure/start-all.sh";
  if (target === "local") return local;
  return `${local} (the local stack) or ./infrastructure/start-all.sh (the Docker Compose cluster)`;
}

/**
 * A Livy error as a job failure: unreachable is livy-unreachable; Livy failing (HTTP 5xx) is too
 * unless the caller says otherwise (a failed submit is a failed start); a request Livy refused
 * (4xx) is the caller's failure with Livy's own message. The hint names what starts Livy for the
 * target in SENSOR_STREAMING_TARGET (the scripts' setting).
 */
export function livyFailure(error: LivyError, refused: JobFailure, failing: JobFailure = "livy-unreachable"): JobError {
  if (error.status === undefined) {
    return new JobError(
      "livy-unreachable",
      error.message,
      `is Livy running? Start it: ${startServicesHint(process.env.SENSOR_STREAMING_TARGET)}; or set LIVY_URL`,
    );
  }
  if (error.unavailable) return new JobError(failing, error.message, "Livy is up but failing; its own log says why");
  return new JobError(refused, `Livy refused the request: ${error.livyMessage ?? error.message}`);
}

export async function withLivy<T>(action: () => Promise<T>, refused: JobFailure, failing?: JobFailure): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw error instanceof LivyError ? livyFailure(error, refused, failing) : error;
  }
}

export async function fullLog(livy: LivyClient, id: number): Promise<string[]> {
  const lines: string[] = [];
  for (let from = 0; ;) {
    const page = await livy.log(id, from, 1000);
    lines.push(...page.log);
    from += page.log.length;
    if (page.log.length === 0 || from >= page.total) return lines;
  }
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

export function isBatchOf(batch: Batch, pipeline: string): boolean {
  return typeof batch.name === "string" && batch.name.startsWith(`sensor-streaming-${pipeline}-`);
}

export function elapsed(since: number): string {
  const s = Math.round((Date.now() - since) / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** Why a batch ended, from the runner's own words or Spark's exception, for the user. */
export function failureReason(lines: readonly string[]): string {
  const runner = lines.filter((l) => l.includes("sensor-streaming runner:"));
  if (runner.length > 0) return runner.join("\n");
  const exception = lines.find((l) => /Exception|Error:/.test(l));
  return exception ?? lines.slice(-15).join("\n");
}

/** The heartbeat could not be read (HDFS away): whether a driver runs is not known. */
export class HeartbeatUnknown extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HeartbeatUnknown";
  }
}

/**
 * How long ago the pipeline's driver last wrote its heartbeat, wherever Livy thinks it is: a
 * driver Livy forgot (Livy restarted under it) still beats. Undefined when there is no heartbeat;
 * HeartbeatUnknown when it cannot be read, which callers must not take for "no driver".
 */
export async function driverHeartbeatAge(pipeline: string, options: JobOptions): Promise<number | undefined> {
  const { target, stopFile } = driverMarker(pipeline, options);
  try {
    return await target.heartbeatAgeMs(stopFile);
  } catch (error) {
    throw new HeartbeatUnknown(`cannot read the heartbeat of pipeline ${pipeline}'s driver (${stopFile}.alive): ${(error as Error).message}`);
  }
}

/** The heartbeat's age for a start: unknown is an error that says why nothing was submitted. */
async function heartbeatForStart(pipeline: string, options: JobOptions): Promise<number | undefined> {
  try {
    return await driverHeartbeatAge(pipeline, options);
  } catch (error) {
    if (!(error instanceof HeartbeatUnknown)) throw error;
    const target = options.target ?? process.env.SENSOR_STREAMING_TARGET;
    const webHdfs = target === "docker" ? "WEBHDFS_URL (http://localhost:9870 for the Docker Compose cluster)" : "WEBHDFS_URL";
    throw new JobError(
      "failed-to-start",
      `${error.message}; nothing was submitted, so that no second driver runs on the checkpoints`,
      `start HDFS (${startServicesHint(target, true)}) or set ${webHdfs}, then start again`,
    );
  }
}

/** Where the pipeline's driver looks for its stop marker (and beats beside it): the last staged job's, the running job's, or the target's default. */
export function driverMarker(pipeline: string, options: JobOptions): { target: StagingTarget; stopFile: string } {
  const staged = readStagedJob(stateDir(options), pipeline);
  const state = readJobState(stateDir(options), pipeline);
  const target = stagingTarget({ ...options, target: staged?.target ?? state?.target ?? options.target });
  return { target, stopFile: staged?.stopFile ?? state?.stopFile ?? target.stopFileFor(pipeline) };
}

/**
 * Refuses to submit while a driver of the pipeline beats outside Livy's view. When Livy still
 * knows the pipeline's last batch as ended (the driver was killed or crashed a moment ago), its
 * heartbeat is only not stale yet: that is waited out (at most HEARTBEAT_STALE_MS) instead.
 */
export async function refuseUnseenDriver(pipeline: string, options: JobOptions, livy?: LivyClient, io?: { err(text: string): void }): Promise<void> {
  let age = await heartbeatForStart(pipeline, options);
  if (age === undefined || age >= HEARTBEAT_STALE_MS) return;
  const last = readJobState(stateDir(options), pipeline);
  const ended = livy !== undefined && last !== undefined && last.livyUrl === livy.url ? await livy.find(last.batchId).catch(() => undefined) : undefined;
  if (ended !== undefined && isBatchOf(ended, pipeline) && FINAL_STATES.includes(ended.state)) {
    io?.err(
      `the last driver (Livy batch ${ended.id}, ${ended.state}) beat ${Math.round(age / 1000)} s ago; ` +
        `waiting until its heartbeat is ${HEARTBEAT_STALE_MS / 1000} s old, so that no second driver runs on its checkpoints`,
    );
    const until = Date.now() + HEARTBEAT_STALE_MS - age + 2_000;
    while (age !== undefined && age < HEARTBEAT_STALE_MS && Date.now() < until) {
      await sleep(1_000);
      age = await heartbeatForStart(pipeline, options);
    }
    if (age === undefined || age >= HEARTBEAT_STALE_MS) return;
  }
  throw new JobError(
    "already-running",
    `a driver of pipeline ${pipeline} still runs although Livy does not know it (its heartbeat is ${Math.round(age / 1000)} s old; was Livy restarted?)`,
    "stop it first: sensor-streaming stop (it is asked to stop through its stop marker)",
  );
}

/** The spec the commands read when none is named. */
export const DEFAULT_SPEC = "conf/pipeline.yaml";

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

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A time of day in the local time zone, HH:MM:SS. */
export function clock(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : at.toLocaleTimeString("en-GB", { hour12: false });
}

/** The pipeline's newest batch Livy remembers, running or ended. */
export async function lastBatch(livy: LivyClient, pipeline: string): Promise<Batch | undefined> {
  return (await livy.list()).filter((b) => isBatchOf(b, pipeline)).sort((a, b) => b.id - a.id)[0];
}

/** What became of the pipeline's newest batch (from lastBatch), in one line. */
export async function lastBatchEnd(livy: LivyClient, newest: Batch | undefined): Promise<string> {
  if (newest === undefined) return "Livy knows no job of it (never started, or Livy restarted)";
  if (!FINAL_STATES.includes(newest.state) || newest.state === "success") return `its last job, Livy batch ${newest.id}, is ${newest.state}`;
  const lines = await fullLog(livy, newest.id).catch(() => []);
  // The last word of the runner or of an exception; a killed driver leaves neither.
  const last = [...lines].reverse().find((l) => l.includes("sensor-streaming runner:") || /Exception|Error:/.test(l));
  const why = last === undefined ? "its log ends without an error: the driver was killed or lost" : last.length > 300 ? `${last.slice(0, 300)}...` : last;
  return `its last job, Livy batch ${newest.id}, is ${newest.state} (${why})`;
}
