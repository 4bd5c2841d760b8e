/** What `status` and the foreground view print per query. */
import { beforeAll, describe, expect, it } from "vitest";
import { renderStatus } from "../../src/job/monitor.js";
import type { JobState } from "../../src/deploy/job-state.js";
import type { Batch } from "../../src/livy/livy-client.js";
import { EVENT_PREFIX, parseEvents } from "../../src/livy/runner-events.js";

// Times of day are shown in the local time zone; the test pins it.
beforeAll(() => {
  process.env.TZ = "UTC";
});

const state: JobState = {
  pipeline: "schools",
  batchId: 4,
  livyUrl: "http://livy",
  target: "local",
  planFile: "/staging/plan.json",
  stopFile: "/staging/STOP",
  sinks: ["raw_parquet", "influx_raw", "influx_window_5m"],
  startedAt: new Date().toISOString(),
};
const batch: Batch = { id: 4, state: "running", appId: "local-1", appInfo: {}, log: [] };
const line = (event: Record<string, unknown>) => `${EVENT_PREFIX}${JSON.stringify(event)}`;

describe("renderStatus", () => {
  it("shows a sink waiting for InfluxDB, a query restarting, and refusals, instead of healthy progress", () => {
    const events = parseEvents([
      line({
        event: "query-progress",
        at: "2026-03-01T10:00:00Z",
        query: "raw_parquet",
        progress: { batchId: 9, timestamp: "x", numInputRows: 12, inputRowsPerSecond: 2, processedRowsPerSecond: 40, durationMs: { triggerExecution: 300 } },
      }),
      line({ event: "query-progress", at: "2026-03-01T10:00:00Z", query: "influx_raw", progress: { batchId: 3, timestamp: "x", numInputRows: 12 } }),
      line({ event: "influx-written", at: "2026-03-01T10:00:01Z", query: "influx_raw", batchId: 3, lines: 12 }),
      line({
        event: "influx-refused",
        at: "2026-03-01T10:00:01Z",
        query: "influx_raw",
        batchId: 3,
        lines: 2,
        status: 400,
        reason: "partial write: points beyond retention policy dropped=2",
        refusedTotal: 5,
        path: "file:/data/refused",
      }),
      line({
        event: "influx-waiting",
        at: "2026-03-01T10:00:07Z",
        query: "influx_raw",
        since: "2026-03-01T10:00:05Z",
        attempt: 1,
        cause: "ConnectException: Connection refused",
        retryInMs: 1000,
      }),
      line({
        event: "influx-waiting",
        at: "2026-03-01T10:00:09Z",
        query: "influx_raw",
        since: "2026-03-01T10:00:05Z",
        attempt: 3,
        cause: "ConnectException: Connection refused",
        retryInMs: 4000,
      }),
      line({
        event: "query-restarting",
        at: "2026-03-01T10:00:10Z",
        query: "influx_window_5m",
        attempt: 2,
        cause: "SparkException: Job aborted <- IOException: disk full",
        inMs: 10000,
      }),
    ]);
    const view = renderStatus(state, batch, events).split("\n");
    expect(view[0]).toMatch(/^pipeline schools: Livy batch 4 running, up \d+ s, local-1$/);
    expect(view[1]).toBe("  raw_parquet          batch 9, 12 rows, in 2.0/s, processed 40.0/s, 300 ms");
    expect(view[2]).toBe("  influx_raw           waiting for InfluxDB since 10:00:05 (3 attempts; last: ConnectException: Connection refused)");
    expect(view[3]).toBe("                       refused 5 lines in total (last: partial write: points beyond retention policy dropped=2)");
    expect(view[4]).toBe("  influx_window_5m     failed, restarting (attempt 2): SparkException: Job aborted <- IOException: disk full");
    expect(view).toHaveLength(5);
  });

  it("shows the last InfluxDB write of a healthy sink and says which queries have not reported yet", () => {
    const events = parseEvents([
      line({ event: "query-progress", at: "2026-03-01T10:00:00Z", query: "influx_raw", progress: { batchId: 3, timestamp: "x", numInputRows: 12 } }),
      line({ event: "influx-written", at: "2026-03-01T11:30:01Z", query: "influx_raw", batchId: 3, lines: 12 }),
      line({ event: "query-idle", at: "2026-03-01T10:00:00Z", query: "raw_parquet" }),
    ]);
    const view = renderStatus(state, batch, events).split("\n");
    expect(view[1]).toBe("  raw_parquet          running, idle: nothing new to read since it started");
    expect(view[2]).toBe("  influx_raw           batch 3, 12 rows, in 0.0/s, processed 0.0/s, 0 ms, last write 12 lines at 11:30:01");
    expect(view[3]).toBe("  influx_window_5m     no progress yet");
  });
});

describe("the first statistics on the live view", () => {
  const windows = { influx_window_5m: { slideMs: 60_000, delayMs: 120_000 } };
  const withWindows: JobState = { ...state, windows };
  const started = line({ event: "runner-started", at: "2026-03-01T09:59:00Z", pipeline: "schools", queries: 3 });
  const progress = (eventTime: Record<string, string>, batchId = 1) =>
    line({
      event: "query-progress",
      at: "2026-03-01T10:00:00Z",
      query: "influx_window_5m",
      progress: { batchId, timestamp: "x", numInputRows: 0, eventTime: { watermark: "1970-01-01T00:00:00.000Z", ...eventTime } },
    });

  it("before any reading, says how long after the first one at most", () => {
    const view = renderStatus(withWindows, batch, parseEvents([started, progress({})]));
    expect(view).toMatch(/influx_window_5m .*\n {23}first statistics at most 3 minutes after the first reading/);
  });

  it("once readings arrived, promises a time of day, and drops the promise once statistics were written", () => {
    const events = parseEvents([started, progress({}), progress({ min: new Date().toISOString() }, 2)]);
    expect(renderStatus(withWindows, batch, events)).toMatch(/first statistics at \d\d:\d\d:\d\d, in about (\d+ s|\d minutes)/);
    const written = parseEvents([
      started,
      progress({ min: new Date().toISOString() }),
      line({ event: "influx-written", at: "2026-03-01T10:00:01Z", query: "influx_window_5m", batchId: 2, lines: 40 }),
    ]);
    expect(renderStatus(withWindows, batch, written)).not.toContain("first statistics");
  });

  it("promises nothing when the log no longer begins with the job's start (Livy keeps the last lines only)", () => {
    // A job up for days: its early writes are gone from the log, only progress without output is left.
    expect(renderStatus(withWindows, batch, parseEvents([progress({ watermark: new Date(Date.now() - 120_000).toISOString() })]))).not.toContain(
      "first statistics",
    );
  });

  it("promises nothing for a failed query or an ended job", () => {
    const failed = parseEvents([
      started,
      progress({}),
      line({ event: "query-terminated", at: "2026-03-01T10:00:02Z", query: "influx_window_5m", error: "boom" }),
    ]);
    expect(renderStatus(withWindows, batch, failed)).not.toContain("first statistics");
    expect(renderStatus(withWindows, { ...batch, state: "dead" }, parseEvents([started, progress({})]))).not.toContain("first statistics");
  });

  it("says nothing when the promised time is long past (a backlog), or for a state without window timings", () => {
    expect(renderStatus(withWindows, batch, parseEvents([started, progress({ min: "2026-03-01T09:00:00.000Z" })]))).not.toContain("first statistics");
    expect(renderStatus(state, batch, parseEvents([started, progress({})]))).not.toContain("first statistics");
  });
});
