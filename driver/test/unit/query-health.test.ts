/** The runner's events as typed events, and each query's health derived from them in log order. */
import { describe, expect, it } from "vitest";
import type { Batch } from "../../src/livy/livy-client.js";
import { pipelineHealth, queryHealth } from "../../src/livy/query-health.js";
import { EVENT_PREFIX, parseEvents, type RunnerEvent } from "../../src/livy/runner-events.js";

let clock = Date.parse("2026-03-01T10:00:00Z");
/** Log lines as the runner prints them, one second apart. */
function log(...events: Array<Record<string, unknown>>): string[] {
  return events.map((e) => `${EVENT_PREFIX}${JSON.stringify({ at: new Date((clock += 1000)).toISOString(), ...e })}`);
}
const events = (...lines: Array<Record<string, unknown>>): RunnerEvent[] => parseEvents(log(...lines));

const progress = (query: string, batchId = 1) => ({
  event: "query-progress",
  query,
  progress: {
    batchId,
    timestamp: "2026-03-01T10:00:00Z",
    numInputRows: 5,
    inputRowsPerSecond: 1,
    processedRowsPerSecond: 2,
    durationMs: { triggerExecution: 30 },
  },
});
const waiting = (attempt: number, cause = "ConnectException: Connection refused") => ({
  event: "influx-waiting",
  query: "influx_raw",
  since: "2026-03-01T10:00:05Z",
  attempt,
  cause,
  retryInMs: 2000,
});
const written = (batchId: number) => ({ event: "influx-written", query: "influx_raw", batchId, lines: 120, refused: 0 });
const restarting = (attempt: number) => ({ event: "query-restarting", query: "influx_raw", attempt, cause: "SparkException: Job aborted", inMs: 5000 });

describe("parseEvents", () => {
  it("reads each kind with its fields, from anywhere in a log line", () => {
    const lines = [
      `2026-03-01 10:00:01 INFO something ${EVENT_PREFIX}{"event":"influx-refused","at":"2026-03-01T10:00:01Z","query":"influx_raw",` +
        `"batchId":3,"lines":2,"status":400,"reason":"partial write","refusedTotal":7,"path":"file:/data/refused"}`,
      `${EVENT_PREFIX}{"event":"influx-recovered","at":"2026-03-01T10:00:02Z","query":"influx_raw",` +
        `"since":"2026-03-01T10:00:00Z","waitedMs":2000,"attempts":3}`,
    ];
    expect(parseEvents(lines)).toEqual([
      {
        event: "influx-refused",
        at: "2026-03-01T10:00:01Z",
        query: "influx_raw",
        batchId: 3,
        lines: 2,
        status: 400,
        reason: "partial write",
        refusedTotal: 7,
        path: "file:/data/refused",
      },
      { event: "influx-recovered", at: "2026-03-01T10:00:02Z", query: "influx_raw", since: "2026-03-01T10:00:00Z", waitedMs: 2000, attempts: 3 },
    ]);
  });

  it("skips unknown kinds, lines missing a field their kind needs, and lines cut by Livy's buffer", () => {
    const lines = [
      `${EVENT_PREFIX}{"event":"explain-ok","at":"2026-03-01T10:00:00Z"}`,
      `${EVENT_PREFIX}{"event":"influx-waiting","at":"2026-03-01T10:00:00Z","query":"influx_raw","attempt":"2"}`,
      `${EVENT_PREFIX}{"event":"query-idle","query":"raw_parquet"}`,
      `${EVENT_PREFIX}{"event":"query-idle","at":"2026-03-01T10:00:00Z","query":"raw_par`,
      `${EVENT_PREFIX}{"event":"query-idle","at":"2026-03-01T10:00:00Z","query":"raw_parquet"}`,
    ];
    expect(parseEvents(lines).map((e) => e.event)).toEqual(["query-idle"]);
  });

  it("accepts a refusal without a dead-letter folder", () => {
    const [event] = events({ event: "influx-refused", query: "q", batchId: 1, lines: 1, status: 400, reason: "bad line", refusedTotal: 1 });
    expect(event?.event).toBe("influx-refused");
    expect(event).not.toHaveProperty("path");
  });
});

describe("queryHealth", () => {
  it("is ok with progress, idle when Spark only reported it idle, no-progress before either", () => {
    const log = events(progress("raw_parquet"), { event: "query-idle", query: "rejected_parquet" });
    expect(queryHealth("raw_parquet", log)).toMatchObject({ health: "ok", progress: { batchId: 1, numInputRows: 5, batchDurationMs: 30 } });
    expect(queryHealth("rejected_parquet", log).health).toBe("idle");
    expect(queryHealth("influx_raw", log)).toMatchObject({ health: "no-progress", progress: undefined, refusedTotal: 0 });
  });

  it("waits while its newest influx-waiting is newer than any write or recovery", () => {
    const log = events(progress("influx_raw"), written(1), waiting(1), progress("raw_parquet"), waiting(2, "HttpTimeoutException: request timed out"));
    expect(queryHealth("influx_raw", log)).toMatchObject({
      health: "waiting",
      waiting: { since: "2026-03-01T10:00:05Z", attempts: 2, cause: "HttpTimeoutException: request timed out", retryInMs: 2000 },
    });
    // Other queries go on.
    expect(queryHealth("raw_parquet", log).health).toBe("ok");
  });

  it("is ok again once InfluxDB took the write (recovered, or a later batch written)", () => {
    const recovered = events(progress("influx_raw"), waiting(1), waiting(2), {
      event: "influx-recovered",
      query: "influx_raw",
      since: "2026-03-01T10:00:05Z",
      waitedMs: 9000,
      attempts: 2,
    });
    expect(queryHealth("influx_raw", recovered)).toMatchObject({ health: "ok", waiting: undefined });
    const writtenLater = events(progress("influx_raw"), waiting(1), written(2));
    expect(queryHealth("influx_raw", writtenLater)).toMatchObject({ health: "ok", lastWrite: { batchId: 2, lines: 120 } });
  });

  it("is restarting after query-restarting until the query runs again, even when Spark reports the failure later", () => {
    const failed = events(progress("influx_raw"), restarting(2), { event: "query-terminated", query: "influx_raw", error: "SparkException: Job aborted" });
    expect(queryHealth("influx_raw", failed)).toMatchObject({
      health: "restarting",
      restarting: { attempt: 2, cause: "SparkException: Job aborted", inMs: 5000 },
    });
    const back = events(
      progress("influx_raw"),
      restarting(1),
      { event: "query-started", query: "influx_raw" },
      { event: "query-restarted", query: "influx_raw" },
    );
    expect(queryHealth("influx_raw", back)).toMatchObject({ health: "ok", restarting: undefined });
  });

  it("restarting outranks waiting: a restarted query waits again only when the runner says so", () => {
    expect(queryHealth("influx_raw", events(waiting(3), restarting(1))).health).toBe("restarting");
    expect(queryHealth("influx_raw", events(waiting(3), restarting(1), { event: "query-restarted", query: "influx_raw" })).health).toBe("no-progress");
    expect(queryHealth("influx_raw", events(waiting(3), restarting(1), { event: "query-restarted", query: "influx_raw" }, waiting(1))).health).toBe("waiting");
  });

  it("failed when it ended with an error and nothing restarts it; stopped when it ended without one", () => {
    expect(queryHealth("influx_raw", events(progress("influx_raw"), { event: "query-terminated", query: "influx_raw", error: "boom" }))).toMatchObject({
      health: "failed",
      error: "boom",
    });
    expect(queryHealth("influx_raw", events(progress("influx_raw"), { event: "query-stopped", query: "influx_raw" })).health).toBe("stopped");
  });

  it("counts refusals from the runner's own total, which survives Livy dropping old lines", () => {
    const log = events(
      {
        event: "influx-refused",
        query: "influx_raw",
        batchId: 8,
        lines: 3,
        status: 400,
        reason: "field type conflict",
        refusedTotal: 41,
        path: "file:/data/refused",
      },
      written(8),
      {
        event: "influx-refused",
        query: "influx_raw",
        batchId: 9,
        lines: 1,
        status: 400,
        reason: "points beyond retention policy",
        refusedTotal: 42,
        path: "file:/data/refused",
      },
    );
    expect(queryHealth("influx_raw", log)).toMatchObject({
      health: "no-progress",
      refusedTotal: 42,
      lastRefusal: { batchId: 9, lines: 1, status: 400, reason: "points beyond retention policy", path: "file:/data/refused" },
    });
  });
});

describe("pipelineHealth", () => {
  const batch = (state: Batch["state"]): Batch => ({ id: 4, state, appId: null, appInfo: {}, log: [] });

  it("is healthy when the batch runs and no query waits or restarts; refusals and no progress yet do not count", () => {
    const log = events(progress("raw_parquet"), {
      event: "influx-refused",
      query: "influx_raw",
      batchId: 1,
      lines: 1,
      status: 400,
      reason: "x",
      refusedTotal: 1,
    });
    expect(
      pipelineHealth(
        batch("running"),
        ["raw_parquet", "influx_raw", "influx_window_5m"].map((q) => queryHealth(q, log)),
      ),
    ).toEqual({ health: "healthy", problems: [] });
  });

  it("is degraded when InfluxDB refused every point of a sink's latest batch, not when it refused some", () => {
    const refused = (batchId: number) => ({
      event: "influx-refused",
      query: "influx_raw",
      batchId,
      lines: 50,
      status: 400,
      reason: "field type conflict",
      refusedTotal: 50,
    });
    const all = events(progress("influx_raw"), refused(7), { event: "influx-written", query: "influx_raw", batchId: 7, lines: 0, refused: 50 });
    expect(pipelineHealth(batch("running"), [queryHealth("influx_raw", all)])).toEqual({
      health: "degraded",
      problems: ["influx_raw: InfluxDB refused every point of its latest batch (field type conflict)"],
    });
    const some = events(progress("influx_raw"), refused(7), { event: "influx-written", query: "influx_raw", batchId: 7, lines: 3, refused: 50 });
    expect(pipelineHealth(batch("running"), [queryHealth("influx_raw", some)]).health).toBe("healthy");
    const since = events(progress("influx_raw"), refused(7), { event: "influx-written", query: "influx_raw", batchId: 7, lines: 0, refused: 50 }, written(8));
    expect(pipelineHealth(batch("running"), [queryHealth("influx_raw", since)]).health, "a later batch was written").toBe("healthy");
  });

  it("is degraded, saying why, when a sink waits, a query restarts or the batch is not running", () => {
    const log = events(progress("raw_parquet"), waiting(4), restarting(1));
    const waitingOnly = events(progress("raw_parquet"), waiting(4));
    expect(pipelineHealth(batch("running"), [queryHealth("influx_raw", waitingOnly), queryHealth("raw_parquet", waitingOnly)])).toEqual({
      health: "degraded",
      problems: ["influx_raw waits for InfluxDB"],
    });
    expect(pipelineHealth(batch("starting"), [queryHealth("influx_raw", log)])).toEqual({
      health: "degraded",
      problems: ["Livy batch 4 is starting, not running", "influx_raw is restarting after a failure"],
    });
  });
});
