/** `status`: the job, each query's health and the supervisor; exits as `systemctl status` does. */
import { type JobState } from "../deploy/job-state.js";
import { pipelineHealth, queryHealth, type QueryHealth } from "../livy/query-health.js";
import { parseEvents } from "../livy/runner-events.js";
import { type Output } from "./commands.js";
import { EXIT } from "./exit-codes.js";
import { loadPlan, type SpecOptions } from "./pipeline-input.js";
import { liveSupervisor, type SupervisorRecord } from "../job/supervisor.js";
import { type JobOptions, clock, fullLog, lastBatch, lastBatchEnd, liveBatch, livyClient, stateDir, withLivy } from "../job/session.js";
import { renderStatus } from "../job/monitor.js";
import { windowTimings } from "../job/first-statistics.js";

/** A query's health for `status --json`: its latest progress (if any) and what the runner reported. */
export function queryJson(q: QueryHealth): Record<string, unknown> {
  return {
    ...q.progress,
    query: q.query,
    health: q.health,
    ...(q.waiting === undefined
      ? {}
      : { waitingSince: q.waiting.since, waitingAttempts: q.waiting.attempts, waitingCause: q.waiting.cause, retryInMs: q.waiting.retryInMs }),
    ...(q.restarting === undefined
      ? {}
      : { restartAttempt: q.restarting.attempt, restartCause: q.restarting.cause, restartInMs: q.restarting.inMs, restartingSince: q.restarting.at }),
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
export async function statusCommand(specFile: string | undefined, options: SpecOptions & JobOptions & { json?: boolean }, io: Output): Promise<number> {
  const { plan } = loadPlan(specFile, options);
  const livy = livyClient(options);
  const { state, batch } = await withLivy(() => liveBatch(livy, plan.pipeline, options), "livy-unreachable");
  const supervisor = liveSupervisor(stateDir(options), plan.pipeline);
  if (batch === undefined) {
    const ended = await lastBatch(livy, plan.pipeline)
      .then((last) => lastBatchEnd(livy, last))
      .catch(() => undefined);
    if (options.json === true)
      io.out(
        JSON.stringify({ pipeline: plan.pipeline, running: false, health: "not-running", lastJob: ended ?? null, supervisor: supervisor ?? null }, null, 2),
      );
    else {
      io.out(`pipeline ${plan.pipeline} is not running${ended === undefined ? "" : `: ${ended}`}`);
      io.out(
        supervisor === undefined
          ? "  no supervisor: start it with ./start-spark-streaming.sh"
          : `  its supervisor (pid ${supervisor.pid}) is submitting it again; log ${supervisor.logFile}`,
      );
    }
    return EXIT.notRunning;
  }
  const lines = await withLivy(() => fullLog(livy, batch.id), "livy-unreachable");
  const events = parseEvents(lines);
  const known: JobState = state ?? {
    pipeline: plan.pipeline,
    batchId: batch.id,
    livyUrl: livy.url,
    target: "unknown",
    planFile: "",
    stopFile: "",
    sinks: plan.sinks.map((s) => s.name),
    windows: windowTimings(plan),
    startedAt: events.find((e) => e.event === "runner-started")?.at ?? new Date().toISOString(),
  };
  const queries = known.sinks.map((sink) => queryHealth(sink, events));
  const verdict = pipelineHealth(batch, queries);
  if (options.json === true) {
    const json = {
      pipeline: plan.pipeline,
      running: true,
      health: verdict.health,
      problems: verdict.problems,
      batchId: batch.id,
      state: batch.state,
      appId: batch.appId,
      startedAt: known.startedAt,
      supervisor: supervisor ?? null,
    };
    io.out(JSON.stringify({ ...json, queries: Object.fromEntries(queries.map((q) => [q.query, queryJson(q)])) }, null, 2));
  } else {
    io.out(renderStatus(known, batch, events));
    io.out(supervisorLine(supervisor));
    if (verdict.health === "degraded") io.out(`not running as it should: ${verdict.problems.join("; ")}`);
  }
  return verdict.health === "healthy" ? EXIT.ok : EXIT.degraded;
}

export function supervisorLine(supervisor: SupervisorRecord | undefined): string {
  if (supervisor === undefined) return "  not supervised: nothing submits it again if its job dies (start it with ./start-spark-streaming.sh)";
  const restarts =
    supervisor.restarts === 0
      ? "no restarts"
      : `${supervisor.restarts} restart${supervisor.restarts === 1 ? "" : "s"}, ` +
        `last at ${clock(supervisor.lastRestartAt ?? "")} after: ${supervisor.lastCause ?? "?"}`;
  return `  supervised by pid ${supervisor.pid} since ${clock(supervisor.startedAt)} (${restarts})`;
}
