/**
 * `status` and `start` as a user runs them, against a stand-in Livy on a local port (node:http)
 * that answers what the real one would: these test the CLI's exit codes and messages for Livy's
 * answers (no batch, a running batch and its log, an HTTP 500, no answer at all), not Livy.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { EVENT_PREFIX } from "../../src/livy/runner-events.js";
import { hang, html, JETTY_500, json, standInLivy, type StandIn } from "../unit/stand-in-livy.js";

const root = path.resolve(import.meta.dirname, "../../..");
const main = path.join(root, "driver/src/cli/main.ts");
const scratch = mkdtempSync(path.join(os.tmpdir(), "sensor-cli-livy-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let livy: StandIn | undefined;
afterEach(async () => livy?.close());

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The CLI as a child process that does not block this one, which serves the stand-in Livy. */
function cli(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", main, ...args], { cwd: root, env: { PATH: process.env.PATH ?? "", ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

function stateDir(name: string): string {
  const dir = path.join(scratch, name);
  rmSync(dir, { recursive: true, force: true });
  return dir;
}

const BATCH = { id: 7, name: "sensor-streaming-schools-20260301T100000", state: "running", appId: "local-1", appInfo: {}, log: [] };

/** A stand-in Livy running batch 7 of pipeline schools, whose log holds these runner events. */
async function livyRunning(events: Array<Record<string, unknown>>): Promise<StandIn> {
  const log = ["stdout: ", ...events.map((e, i) => `${EVENT_PREFIX}${JSON.stringify({ at: `2026-03-01T10:00:0${i}Z`, ...e })}`)];
  return standInLivy((request) => {
    if (request.startsWith("GET /batches/7/log")) return json(200, { id: 7, from: 0, total: log.length, log });
    if (request === "GET /batches/7") return json(200, BATCH);
    return json(200, { from: 0, total: 1, sessions: [BATCH] });
  });
}

/** The state file `start` would have written for batch 7, naming two queries. */
function recordedJob(name: string, url: string): Record<string, string> {
  const state = {
    pipeline: "schools",
    batchId: 7,
    livyUrl: url,
    target: "local",
    planFile: "/staging/plan.json",
    stopFile: "/staging/STOP",
    sinks: ["raw_parquet", "influx_raw"],
    startedAt: "2026-03-01T10:00:00Z",
  };
  const dir = stateDir(name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "schools.json"), JSON.stringify(state));
  return { SENSOR_STREAMING_STATE: dir, LIVY_URL: url };
}

const progress = (query: string) => ({ event: "query-progress", query, progress: { batchId: 3, timestamp: "2026-03-01T10:00:00Z", numInputRows: 12 } });

describe("sensor-streaming status exits like systemctl status", () => {
  it("exits 10 when the pipeline is not running", async () => {
    livy = await standInLivy(() => json(200, { from: 0, total: 0, sessions: [] }));
    const env = { LIVY_URL: livy.url, SENSOR_STREAMING_STATE: stateDir("none") };
    const text = await cli(["status"], env).done;
    expect(text.stdout).toBe(
      "pipeline schools is not running: Livy knows no job of it (never started, or Livy restarted)\n" +
        "  no supervisor: start it with ./start-spark-streaming.sh\n",
    );
    expect(text.code).toBe(10);
    const asJson = await cli(["status", "--json"], env).done;
    expect(JSON.parse(asJson.stdout)).toEqual({
      pipeline: "schools",
      running: false,
      health: "not-running",
      lastJob: "Livy knows no job of it (never started, or Livy restarted)",
      supervisor: null,
    });
    expect(asJson.code).toBe(10);
  });

  it("exits 0 when every query runs as it should", async () => {
    livy = await livyRunning([progress("raw_parquet"), progress("influx_raw"), { event: "influx-written", query: "influx_raw", batchId: 3, lines: 12 }]);
    const run = await cli(["status", "--json"], recordedJob("healthy", livy.url)).done;
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const status = JSON.parse(run.stdout) as { health: string; queries: Record<string, { health: string; batchId: number; refusedTotal: number }> };
    expect(status.health).toBe("healthy");
    expect(status.queries.influx_raw).toMatchObject({ health: "ok", batchId: 3, refusedTotal: 0, lastWrite: { batchId: 3, lines: 12 } });
  });

  it("exits 11 while a sink waits for InfluxDB, and says so per query", async () => {
    livy = await livyRunning([
      progress("raw_parquet"),
      progress("influx_raw"),
      {
        event: "influx-refused",
        query: "influx_raw",
        batchId: 3,
        lines: 2,
        status: 400,
        reason: "points beyond retention policy dropped=2",
        refusedTotal: 2,
        path: "file:///data/refused",
      },
      {
        event: "influx-waiting",
        query: "influx_raw",
        since: "2026-03-01T10:00:03Z",
        attempt: 4,
        cause: "ConnectException: Connection refused",
        retryInMs: 8000,
      },
    ]);
    const env = recordedJob("waiting", livy.url);
    const text = await cli(["status"], env).done;
    expect(text.code).toBe(11);
    expect(text.stdout).toMatch(/influx_raw +waiting for InfluxDB since \d\d:\d\d:03 \(4 attempts; last: ConnectException: Connection refused\)/);
    expect(text.stdout).toContain("refused 2 lines in total (last: points beyond retention policy dropped=2)");
    expect(text.stdout).toContain("not running as it should: influx_raw waits for InfluxDB");
    const asJson = await cli(["status", "--json"], env).done;
    expect(asJson.code).toBe(11);
    expect(JSON.parse(asJson.stdout)).toMatchObject({
      health: "degraded",
      problems: ["influx_raw waits for InfluxDB"],
      queries: {
        raw_parquet: { health: "ok" },
        influx_raw: {
          health: "waiting",
          waitingSince: "2026-03-01T10:00:03Z",
          waitingAttempts: 4,
          refusedTotal: 2,
          lastRefusal: { status: 400, reason: "points beyond retention policy dropped=2" },
        },
      },
    });
  });

  it("exits 8 when Livy does not answer", async () => {
    livy = await standInLivy(() => json(200, {}));
    const url = livy.url;
    await livy.close();
    livy = undefined;
    const run = await cli(["status"], { LIVY_URL: url, SENSOR_STREAMING_STATE: stateDir("unreachable") }).done;
    expect(run.code).toBe(8);
    expect(run.stderr).toContain(`cannot reach Livy at ${url}`);
  });
});

describe("sensor-streaming start", () => {
  it("exits 8, not 7 (already runs), when Livy answers its 'is it running?' check with a 500, and prints no HTML", async () => {
    livy = await standInLivy(() => html(500, JETTY_500));
    const run = await cli(["start"], { LIVY_URL: livy.url, SENSOR_STREAMING_STATE: stateDir("livy-500") }).done;
    expect(run.code).toBe(8);
    expect(run.stderr).toContain(
      "Livy answered GET /batches?from=0&size=1000 with HTTP 500 Internal Server Error: HTTP ERROR 500 Problem accessing /batches. Reason: Server Error",
    );
    expect(run.stderr).toContain("hint: Livy is up but failing");
    expect(run.stderr).not.toMatch(/<[a-z/]/i);
  }, 30_000);

  it("releases its lock on Ctrl-C, so the next start is not blocked", async () => {
    livy = await standInLivy(() => hang);
    const dir = stateDir("interrupted");
    const start = cli(["start"], { LIVY_URL: livy.url, SENSOR_STREAMING_STATE: dir });
    const lock = path.join(dir, "schools.lock");
    for (let waited = 0; !existsSync(lock) || livy.requests.length === 0; waited += 50) {
      if (waited > 20_000) throw new Error("start never took its lock and asked Livy");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    start.child.kill("SIGINT");
    const run = await start.done;
    expect(run.code).toBe(130);
    expect(run.stderr).toContain("start of pipeline schools interrupted (SIGINT)");
    expect(existsSync(lock)).toBe(false);
  }, 30_000);

  it("takes over a lock left by a start that died, instead of waiting 15 minutes", async () => {
    livy = await standInLivy(() => html(500, JETTY_500));
    const dir = stateDir("left-lock");
    mkdirSync(dir, { recursive: true });
    const dead = Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout);
    writeFileSync(path.join(dir, "schools.lock"), JSON.stringify({ pid: dead, host: os.hostname(), since: "2026-03-01T10:00:00Z" }));
    const run = await cli(["start"], { LIVY_URL: livy.url, SENSOR_STREAMING_STATE: dir }).done;
    // Past the lock, at Livy's check.
    expect(run.stderr).not.toContain("another start of pipeline schools is in progress");
    expect(run.code).toBe(8);
  }, 30_000);
});
