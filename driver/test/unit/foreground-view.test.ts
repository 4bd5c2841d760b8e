/**
 * The foreground view keeps going while Livy blinks and gives up only after a long outage,
 * against a stand-in Livy on a local port (it tests how we handle Livy's answers, not Livy).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { follow } from "../../src/job/monitor.js";
import { EXIT, FAILURE_EXIT } from "../../src/cli/exit-codes.js";
import { JobError } from "../../src/job/errors.js";
import type { JobState } from "../../src/deploy/job-state.js";
import { LivyClient, LivyError } from "../../src/livy/livy-client.js";
import { LivyOutage } from "../../src/livy/livy-outage.js";
import { EVENT_PREFIX } from "../../src/livy/runner-events.js";
import { html, json, reset, standInLivy, type Reply, type StandIn } from "./stand-in-livy.js";

const states = mkdtempSync(path.join(os.tmpdir(), "sensor-follow-"));
afterAll(() => rmSync(states, { recursive: true, force: true }));
let livy: StandIn | undefined;
afterEach(async () => livy?.close());

const state: JobState = {
  pipeline: "schools",
  batchId: 7,
  livyUrl: "",
  target: "local",
  planFile: "",
  stopFile: "",
  sinks: ["raw_parquet"],
  startedAt: new Date().toISOString(),
};
const batch = (s: string) => json(200, { id: 7, name: "sensor-streaming-schools-20260301T100000", state: s, appId: null, appInfo: {}, log: [] });
const progress = `${EVENT_PREFIX}${JSON.stringify({
  event: "query-progress",
  at: "2026-03-01T10:00:00Z",
  query: "raw_parquet",
  progress: { batchId: 2, timestamp: "x", numInputRows: 3 },
})}`;
const log = json(200, { id: 7, from: 0, total: 2, log: ["stdout: ", progress] });
const unavailable = html(503, "<html><body><h1>503 Service Unavailable</h1></body></html>");

function capture() {
  const out: string[] = [];
  return { out, io: { out: (t: string) => out.push(t), err: (t: string) => out.push(t) } };
}

describe("LivyOutage", () => {
  it("counts from the first failed read until Livy answers again", () => {
    let now = 1_000;
    const outage = new LivyOutage(120_000, () => now);
    outage.failed(new LivyError("cannot reach Livy", undefined));
    now += 60_000;
    outage.failed(new LivyError("Livy answered GET /batches/7 with HTTP 503", 503));
    expect(outage.since?.getTime()).toBe(1_000);
    expect(outage.cause).toBe("Livy answered GET /batches/7 with HTTP 503");
    expect(outage.exceeded).toBe(false);
    now += 60_001;
    expect(outage.exceeded).toBe(true);
    outage.recovered();
    expect(outage.since).toBeUndefined();
    expect(outage.exceeded).toBe(false);
  });
});

describe("follow (start --foreground) against a stand-in Livy over HTTP", () => {
  it("keeps showing the job while Livy answers 503 or resets, says since when, and ends normally with the job", async () => {
    // The job runs; then 6 looks fail (more than the client's own 4 attempts); then it runs and ends.
    const route = (request: string, seen: number): Reply => {
      if (request.endsWith("/log?from=0&size=1000")) return log;
      if (seen >= 1 && seen <= 6) return seen % 2 === 0 ? unavailable : reset;
      return batch(seen < 8 ? "running" : "success");
    };
    livy = await standInLivy(route);
    const { out, io } = capture();
    const code = await follow(new LivyClient(livy.url, { backoffMs: 1 }), state, states, io, { pollMs: 5, outage: new LivyOutage(60_000) });
    expect(code).toBe("succeeded");
    const screen = out.join("\n");
    expect(screen).toMatch(
      new RegExp(
        String.raw`raw_parquet {10}batch 2, 3 rows.*\n {2}Livy not answering since \d\d:\d\d:\d\d, retrying: ` +
          String.raw`(Livy answered GET \/batches\/7 with HTTP 503 Service Unavailable: 503 Service Unavailable|cannot reach Livy .*)\n`,
      ),
    );
    expect(screen).toMatch(/Livy batch 7 success/);
  });

  it("gives up with exit 8 once Livy stayed away longer than the limit", async () => {
    livy = await standInLivy(() => unavailable);
    const { io } = capture();
    const run = follow(new LivyClient(livy.url, { backoffMs: 1 }), state, states, io, { pollMs: 5, outage: new LivyOutage(50) });
    const error = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(JobError);
    expect(FAILURE_EXIT[(error as JobError).failure]).toBe(EXIT.livyUnreachable);
    expect((error as JobError).message).toMatch(/^Livy has not answered since \d\d:\d\d:\d\d \(\d+ s\): Livy answered GET \/batches\/7 with HTTP 503/);
  });

  it("ends with 6 when Livy no longer knows the batch", async () => {
    livy = await standInLivy(() => json(404, { msg: "Session '7' not found." }));
    const { out, io } = capture();
    expect(await follow(new LivyClient(livy.url, { backoffMs: 1 }), state, states, io, { pollMs: 5, outage: new LivyOutage(60_000) })).toBe("failed");
    expect(out.join("\n")).toContain("Livy no longer knows batch 7");
  });
});
