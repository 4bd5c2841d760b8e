/** `stop`: record the stop, end the supervisor, then stop the job gracefully through its stop marker (DELETE after the timeout). */
import { clearJobState, markStopped } from "../deploy/job-state.js";
import type { StagingTarget } from "../deploy/staging-target.js";
import { FINAL_STATES, LivyClient, LivyError } from "../livy/livy-client.js";
import { JobError, type Output } from "./errors.js";
import { HEARTBEAT_STALE_MS, stopSupervisor } from "./supervisor.js";
import {
  type JobOptions,
  HeartbeatUnknown,
  driverHeartbeatAge,
  driverMarker,
  elapsed,
  liveBatch,
  livyClient,
  sleep,
  stagingTarget,
  stateDir,
  withLivy,
} from "./session.js";

export interface StopOptions extends JobOptions {
  /** How long a graceful stop may take before the batch is deleted through Livy (default 120 s). */
  readonly timeoutMs?: number;
}

export const DEFAULT_STOP_TIMEOUT_MS = 120_000;

export async function stopBatch(
  livy: LivyClient,
  target: StagingTarget,
  id: number,
  stopFile: string | undefined,
  pipeline: string,
  options: StopOptions,
  io: Output,
): Promise<string> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
  // Without a state file, the marker of the last staged job, else where this target puts it.
  const marker = stopFile !== undefined && stopFile !== "" ? stopFile : driverMarker(pipeline, options).stopFile;
  const started = Date.now();
  try {
    await target.requestStop(marker);
    io.err(`asked batch ${id} to stop gracefully (stop marker ${marker}); waiting for its running micro-batch`);
  } catch (error) {
    // The stop was recorded and the supervisor is gone: the batch must not run on unwatched.
    io.err(`cannot write the stop marker ${marker} (${(error as Error).message}); the batch is deleted through Livy after the timeout instead`);
  }
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
export async function stopUnseenDriver(pipeline: string, options: StopOptions, io: Output): Promise<boolean> {
  const { target, stopFile } = driverMarker(pipeline, options);
  const fresh = async (): Promise<boolean> => {
    try {
      return ((await driverHeartbeatAge(pipeline, options)) ?? Infinity) < HEARTBEAT_STALE_MS;
    } catch (error) {
      if (!(error instanceof HeartbeatUnknown)) throw error;
      throw new JobError(
        "file",
        `${error.message}; Livy knows no job of pipeline ${pipeline}, but whether its driver still runs outside Livy is not known`,
        "start HDFS (or set WEBHDFS_URL) and stop again",
      );
    }
  };
  if (!(await fresh())) return false;
  io.err(`Livy knows no job of pipeline ${pipeline}, but its driver still runs (heartbeat beside ${stopFile}); asking it to stop through its stop marker`);
  await target.requestStop(stopFile);
  // The runner removes its heartbeat when it has stopped; a killed one leaves it to go stale.
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS);
  while ((await fresh()) && Date.now() < deadline) await sleep(1000);
  if (await fresh())
    throw new JobError(
      "failed-to-start",
      `the driver of pipeline ${pipeline} did not stop within the timeout`,
      "its process runs outside Livy: find it with ps and end it",
    );
  clearJobState(stateDir(options), pipeline);
  io.out(`pipeline ${pipeline}: the driver Livy did not know has stopped gracefully`);
  return true;
}

/** Stops a pipeline known by name (the foreground start's Ctrl-C: the spec on disk may have changed since). */
export async function stopPipeline(pipeline: string, options: StopOptions, io: Output): Promise<void> {
  const livy = livyClient(options);
  // The stop is recorded first, so that nothing (a supervisor, one launched by a start racing
  // this stop) submits the job again; then the supervisor goes.
  markStopped(stateDir(options), pipeline);
  if (await stopSupervisor(stateDir(options), pipeline)) io.err(`stopped the supervisor of pipeline ${pipeline}`);
  const { state, batch } = await withLivy(() => liveBatch(livy, pipeline, options), "livy-unreachable");
  if (batch === undefined) {
    if (await stopUnseenDriver(pipeline, options, io)) return;
    clearJobState(stateDir(options), pipeline);
    io.out(`pipeline ${pipeline} is not running; nothing to stop`);
    return;
  }
  // The job's marker is where the target it was started with put it.
  const target = stagingTarget(state !== undefined && options.target === undefined ? { ...options, target: state.target } : options);
  const outcome = await withLivy(() => stopBatch(livy, target, batch.id, state?.stopFile, pipeline, options, io), "livy-unreachable");
  io.out(`pipeline ${pipeline}: Livy batch ${batch.id} ${outcome}`);
}
