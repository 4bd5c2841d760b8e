/**
 * The everyday commands end to end, through the real Livy of the local stack: start in the
 * background, see the batch RUNNING and every query's progress, readings reach Parquet and
 * InfluxDB, status --json, a refused second start, a graceful stop, a restart that resumes from
 * the checkpoints; a spec whose SQL Spark rejects; Livy unreachable. These starts pass
 * --no-supervise: the tests delete and replace batches by hand, which a supervisor would undo;
 * supervision has its own test (comes-back.e2e.test.ts).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LivyClient } from "../../src/livy/livy-client.js";
import { cliMain, e2eCliEnv, e2eSpecNamed, runCli } from "./support/cli.js";
import { influxPoints, recreateDatabase } from "./support/influx.js";
import { readSinkRows } from "./support/parquet.js";
import { DEVICES, generate, message, registryCsv } from "./support/readings.js";
import { waitFor } from "./support/runner-process.js";
import { produce as produceTo } from "./support/produce.js";
import { ensureStack, root, type StackEnv } from "./support/stack.js";

const DATABASE = "sensors_e2e";
let env: StackEnv;
let work: string;
let spec: string;
let cliEnv: NodeJS.ProcessEnv;
let topic: string;
const offsets: string[] = [];

async function produce(values: string[]): Promise<void> {
  offsets.push(...(await produceTo(env.KAFKA_BOOTSTRAP, topic, values)));
}

/** The e2e spec under another pipeline name, so its staging and state are its own. */
function specNamed(name: string, edit?: (text: string) => string): string {
  return e2eSpecNamed(work, name, edit);
}

beforeAll(async () => {
  ({ env } = await ensureStack());
  work = mkdtempSync(path.join(os.tmpdir(), "sensor-livy-"));
  topic = `livy-${path.basename(work).slice(-6).toLowerCase()}`;
  writeFileSync(path.join(work, "registry.csv"), registryCsv());
  await recreateDatabase(env.INFLUXDB_URL, DATABASE);
  spec = specNamed("e2e_livy");
  cliEnv = e2eCliEnv(env, work, topic);
});

/** A failed test can leave its job running; the next tests and runs must not find it. */
afterAll(async () => {
  const livy = new LivyClient(env.LIVY_URL);
  for (const batch of await livy.list()) {
    if (String(batch.name).startsWith("sensor-streaming-e2e_") && !["success", "dead", "killed", "error"].includes(batch.state)) await livy.delete(batch.id);
  }
});

describe("start, status, stop through Livy", () => {
  const T0 = Date.UTC(2026, 10, 3, 9, 0, 0);

  it("starts in the background, reports every query and refuses a second start", async () => {
    await produce(generate(T0, T0 + 3 * 60_000, 20_000, 3).map(message));
    const start = await runCli(["start", spec, "--no-supervise"], cliEnv);
    expect(start.stderr).toContain("waiting until Spark runs every query");
    expect(start.stderr, "start creates the InfluxDB 1.x database the plan writes to").toMatch(
      /InfluxDB database sensors_e2e at http:\/\/localhost:\d+ is ready/,
    );
    expect(start.code, start.stderr).toBe(0);
    const id = Number(/running as Livy batch (\d+)/.exec(start.stdout)?.[1]);
    expect(await new LivyClient(env.LIVY_URL).state(id)).toBe("running");

    const status = await runCli(["status", spec, "--json"], cliEnv);
    expect(status.code).toBe(0);
    const json = JSON.parse(status.stdout) as { running: boolean; batchId: number; state: string; queries: Record<string, { batchId: number }> };
    expect(json.running).toBe(true);
    expect(json.batchId).toBe(id);
    expect(Object.keys(json.queries).sort()).toEqual(["influx_raw", "influx_window_2m", "raw_parquet", "rejected_parquet"]);

    const again = await runCli(["start", spec, "--no-supervise"], cliEnv);
    expect(again.code).toBe(7);
    expect(again.stderr).toContain(`already runs as Livy batch ${id}`);
    expect(again.stderr).toContain("--replace");

    // Readings flow to Parquet and InfluxDB, windows close once the watermark passes them.
    await produce([message({ device: DEVICES[0]!, t: T0 + 10 * 60_000, temperature: 20, co2: 500 })]);
    await waitFor(
      "raw rows in Parquet",
      async () => ((await readSinkRows(path.join(work, "data/raw")).catch(() => [])).length >= offsets.length ? true : undefined),
      180_000,
    );
    await waitFor(
      "statistics in InfluxDB",
      async () => ((await influxPoints(env.INFLUXDB_URL, DATABASE, "classroom_statistics")).length > 0 ? true : undefined),
      180_000,
    );
  }, 600_000);

  it("stops gracefully, twice without harm, and a restart resumes without loss or duplicates", async () => {
    const stop = await runCli(["stop", spec], cliEnv);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toMatch(/stopped gracefully in \d+ s \(success\)/);
    const again = await runCli(["stop", spec], cliEnv);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("is not running; nothing to stop");
    const logs = await runCli(["logs", spec], cliEnv);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain('"event":"runner-stopping"');
    expect(logs.stdout).toContain('"event":"runner-exit"');
    const stopped = await runCli(["status", spec], cliEnv);
    expect(stopped.stdout).toContain("is not running");
    expect(stopped.code, "status exits 10 when the pipeline is not running").toBe(10);

    await produce(generate(T0 + 11 * 60_000, T0 + 12 * 60_000, 20_000, 4).map(message));
    const restart = await runCli(["start", spec, "--no-supervise"], cliEnv);
    expect(restart.code, restart.stderr).toBe(0);
    await waitFor(
      "the new readings in Parquet",
      async () => ((await readSinkRows(path.join(work, "data/raw"))).length >= offsets.length ? true : undefined),
      180_000,
    );
    expect((await runCli(["stop", spec], cliEnv)).code).toBe(0);
    const raw = await readSinkRows(path.join(work, "data/raw"));
    expect(raw.map((r) => String(r.kafka_offset)).sort()).toEqual([...offsets].sort());

    const inspect = await runCli(["inspect", "raw", spec, "--limit", "3", "--columns", "kafka_offset,device_id,classroom"], cliEnv);
    expect(inspect.code, inspect.stderr).toBe(0);
    const [header, , ...rows] = inspect.stdout.trim().split("\n");
    expect(header).toMatch(/^kafka_offset\s+device_id\s+classroom$/);
    expect(rows.slice(0, 3).map((r) => r.split(/\s+/)[0])).toEqual([...offsets].sort((a, b) => Number(b) - Number(a)).slice(0, 3));
    expect(inspect.stdout).toContain(`(3 newest of`);
  }, 600_000);

  it("in the foreground, shows every query's progress in a terminal and detaches on Ctrl-C", async () => {
    await produce(generate(T0 + 12 * 60_000, T0 + 13 * 60_000, 20_000, 5).map(message));
    // `script` gives the CLI a pseudo-terminal; Ctrl-C is typed into it like a person would.
    // `exec`: the CLI replaces script's shell, so the exit code is the CLI's own.
    const command = `exec ${[process.execPath, cliMain, "start", spec, "--foreground", "--no-supervise"].map((a) => `'${a}'`).join(" ")}`;
    const child = spawn("script", ["-qfec", command, "/dev/null"], { cwd: root, env: cliEnv, stdio: ["pipe", "pipe", "pipe"] });
    let screen = "";
    child.stdout.on("data", (chunk: Buffer) => (screen += chunk.toString("utf8")));
    const exited = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
    await waitFor(
      "the live view",
      async () => (/raw_parquet\s+batch \d+/.test(screen) && /influx_window_2m\s+batch \d+/.test(screen) ? true : undefined),
      240_000,
    ).catch((error: Error) => {
      child.kill();
      throw new Error(`${error.message}; the terminal showed:\n${screen.slice(-3000)}`);
    });
    expect(screen).toMatch(/pipeline e2e_livy: Livy batch \d+ running, up/);
    expect(screen).toMatch(/influx_window_2m\s+batch \d+, \d+ rows, in [\d.]+\/s, processed [\d.]+\/s, \d+ ms/);
    child.stdin.write("\x03");
    try {
      expect(await exited).toBe(0);
      expect(screen).toContain("detached; the job keeps running as Livy batch");
      const status = JSON.parse((await runCli(["status", spec, "--json"], cliEnv)).stdout) as { running: boolean; state: string };
      expect(status).toMatchObject({ running: true, state: "running" });
    } finally {
      expect((await runCli(["stop", spec], cliEnv)).code).toBe(0);
    }
  }, 600_000);

  it("compares the new plan with the one that wrote each checkpoint before submitting", async () => {
    const changed = specNamed("e2e_livy", (t) => t.replace("{ name: 2m, size: 2 minutes, slide: 1 minute,", "{ name: 2m, size: 4 minutes, slide: 1 minute,"));
    const refused = await runCli(["start", changed, "--no-supervise"], cliEnv);
    expect(refused.code).toBe(9);
    expect(refused.stderr).toContain("raw_parquet: resumes from its checkpoint");
    expect(refused.stderr).toContain("influx_window_2m: the state of window_2m changed (window, grouping or aggregates): window");
    expect(refused.stderr).toContain("--fresh-state");

    const fresh = await runCli(["start", changed, "--fresh-state", "--no-supervise"], cliEnv);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stderr).toMatch(/influx_window_2m: starts with fresh state on file:\S+influx_window_2m\.\d{8}T\d{6}/);
    expect((await runCli(["stop", changed], cliEnv)).code).toBe(0);

    // The fresh checkpoint is now the one in use: the same spec resumes from it.
    const resumed = await runCli(["start", changed, "--no-supervise"], cliEnv);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain("influx_window_2m: resumes from its checkpoint");
    expect((await runCli(["stop", changed], cliEnv)).code).toBe(0);
  }, 600_000);

  it("finds its batch through Livy when the state file is stale, and --replace swaps the job gracefully", async () => {
    const first = await runCli(["start", spec, "--no-supervise"], cliEnv);
    expect(first.code, first.stderr).toBe(0);
    const firstId = Number(/running as Livy batch (\d+)/.exec(first.stdout)?.[1]);
    // A state file naming a batch Livy no longer knows (e.g. after a Livy restart).
    const stateFile = path.join(work, "state", "e2e_livy.json");
    writeFileSync(stateFile, readFileSync(stateFile, "utf8").replace(/"batchId": \d+/, '"batchId": 987654'));
    const status = JSON.parse((await runCli(["status", spec, "--json"], cliEnv)).stdout) as { batchId: number; running: boolean };
    expect(status).toMatchObject({ running: true, batchId: firstId });

    const replaced = await runCli(["start", spec, "--replace", "--no-supervise"], cliEnv);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.stderr).toContain(`replacing: stopping batch ${firstId} gracefully first`);
    const secondId = Number(/running as Livy batch (\d+)/.exec(replaced.stdout)?.[1]);
    expect(secondId).not.toBe(firstId);
    const livy = new LivyClient(env.LIVY_URL);
    expect(await livy.state(firstId)).toBe("success");
    expect(await livy.state(secondId)).toBe("running");
    expect((await runCli(["stop", spec], cliEnv)).code).toBe(0);
  }, 600_000);

  it("fails to start with Spark's own reason when Spark rejects the SQL", async () => {
    // The registry file lacks the column the spec carries, so the registry view cannot resolve.
    const broken = specNamed("e2e_broken", (t) => t.replace("columns: [institute, profile, classroom]", "columns: [institute, profile, classroom, floor]"));
    const start = await runCli(["start", broken, "--timeout", "180", "--no-supervise"], cliEnv);
    expect(start.code).toBe(5);
    expect(start.stderr).toContain("the job did not start");
    expect(start.stderr).toContain("Spark rejected the plan: view registry_devices (02-registry-devices.sql)");
    expect(start.stderr).toContain("floor");
  }, 300_000);

  it("shows Livy's own message when Livy refuses the batch, and leaves no batch behind", async () => {
    // A staging folder Livy does not whitelist: Livy refuses to read the runner jar from it.
    const outside = await runCli(["start", spec, "--no-supervise"], { ...cliEnv, SENSOR_STREAMING_STAGING: path.join(work, "not-whitelisted") });
    expect(outside.code).toBe(5);
    expect(outside.stderr).toContain("Livy refused the request:");
    expect(outside.stderr).toMatch(/not-whitelisted/);
    const batches = await new LivyClient(env.LIVY_URL).list();
    expect(batches.filter((b) => String(b.name).startsWith("sensor-streaming-e2e_livy-") && !["success", "dead", "killed", "error"].includes(b.state))).toEqual(
      [],
    );
  }, 120_000);

  it("says clearly when Livy cannot be reached", async () => {
    const start = await runCli(["start", spec, "--livy", "http://127.0.0.1:9", "--no-supervise"], cliEnv);
    expect(start.code).toBe(8);
    expect(start.stderr).toContain("cannot reach Livy at http://127.0.0.1:9");
    expect(start.stderr).toContain("hint: is Livy running?");
  }, 120_000);
});
