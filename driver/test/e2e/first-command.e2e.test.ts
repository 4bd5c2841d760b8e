/**
 * The README's first command, infrastructure/local/run-pipeline.sh, as a new user runs it in a
 * terminal: it submits the pipeline through Livy (not spark-submit) and shows the live view; the
 * terminal gets the view, not Spark's log; Ctrl-C, typed into the terminal, stops the pipeline
 * gracefully, as the screen says, and a second run resumes without loss or duplicates.
 * The e2e spec under its own name and locations, so the repository's own pipeline is untouched.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LivyClient } from "../../src/livy/livy-client.js";
import { e2eCliEnv, e2eSpecNamed, runCli } from "./support/cli.js";
import { recreateDatabase } from "./support/influx.js";
import { readSinkRows } from "./support/parquet.js";
import { produce } from "./support/produce.js";
import { generate, message, registryCsv } from "./support/readings.js";
import { waitFor } from "./support/runner-process.js";
import { ensureStack, root, type StackEnv } from "./support/stack.js";

const PIPELINE = "e2e_first_command";
const T0 = Date.UTC(2026, 10, 7, 9, 0, 0);
let env: StackEnv;
let work: string;
let spec: string;
let cliEnv: NodeJS.ProcessEnv;
const offsets: string[] = [];

beforeAll(async () => {
  ({ env } = await ensureStack());
  work = mkdtempSync(path.join(os.tmpdir(), "sensor-first-command-"));
  spec = e2eSpecNamed(work, PIPELINE);
  const topic = `first-command-${path.basename(work).slice(-6).toLowerCase()}`;
  await recreateDatabase(env.INFLUXDB_URL, "sensors_e2e");
  writeFileSync(path.join(work, "registry.csv"), registryCsv());
  cliEnv = {
    ...e2eCliEnv(env, work, topic),
    // What the local profile, which the script applies, puts in place of the spec's locations.
    REGISTRY_PATH: path.join(work, "registry.csv"),
    CHECKPOINT_DIR: path.join(work, "checkpoints"),
    RAW_PATH: path.join(work, "data", "raw"),
    REJECTED_PATH: path.join(work, "data", "rejected"),
    INFLUX_REFUSED_PATH: path.join(work, "data", "refused"),
  };
});

afterAll(async () => {
  if (env === undefined) return;
  await runCli(["stop", spec, "--profile", "local", "--timeout", "60"], cliEnv).catch(() => undefined);
  const livy = new LivyClient(env.LIVY_URL);
  for (const batch of await livy.list().catch(() => [])) {
    if (String(batch.name).startsWith(`sensor-streaming-${PIPELINE}`) && !["success", "dead", "killed", "error"].includes(batch.state))
      await livy.delete(batch.id);
  }
});

/** Runs the script in a pseudo-terminal (`script`), waits for `ready` on its screen, then types Ctrl-C. */
async function runUntilCtrlC(ready: (screen: string) => boolean): Promise<{ code: number; screen: string }> {
  const command = `exec ${[path.join(root, "infrastructure/local/run-pipeline.sh"), "--spec", spec, "--profile", "local"].map((a) => `'${a}'`).join(" ")}`;
  // The script runs the stack itself (stack.sh up, env): it needs the stack's settings of this
  // process (SENSOR_STREAMING_CACHE, ports), as an operator's shell would have them.
  const child = spawn("script", ["-qfec", command, "/dev/null"], { cwd: root, env: { ...process.env, ...cliEnv }, stdio: ["pipe", "pipe", "pipe"] });
  let screen = "";
  child.stdout.on("data", (chunk: Buffer) => (screen += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (screen += chunk.toString("utf8")));
  const exited = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
  try {
    await waitFor("the live view", async () => (ready(screen) ? true : undefined), 400_000);
  } catch (error) {
    child.kill();
    throw new Error(`${(error as Error).message}; the terminal showed:\n${screen.slice(-4000)}`, { cause: error });
  }
  child.stdin.write("\x03");
  // A second Ctrl-C while the stop runs (people press it again when nothing seems to happen) is
  // answered, not obeyed: the stop goes on.
  await new Promise((r) => setTimeout(r, 1500));
  child.stdin.write("\x03");
  return { code: await exited, screen };
}

async function rawOffsets(): Promise<string[]> {
  return (await readSinkRows(path.join(work, "data", "raw")).catch(() => [])).map((r) => String(r.kafka_offset)).sort();
}

describe("the first command: infrastructure/local/run-pipeline.sh", () => {
  it("refuses --stop-on-interrupt without --foreground", async () => {
    const run = await runCli(["start", spec, "--profile", "local", "--stop-on-interrupt"], cliEnv);
    expect(run.code).toBe(64);
    expect(run.stderr).toContain("--stop-on-interrupt needs --foreground");
  });

  it("runs the pipeline through Livy with the live view, and Ctrl-C stops it gracefully", async () => {
    offsets.push(...(await produce(env.KAFKA_BOOTSTRAP, cliEnv.E2E_TOPIC!, generate(T0, T0 + 2 * 60_000, 10_000, 31).map(message))));
    const first = await runUntilCtrlC((screen) => /raw_parquet\s+batch \d+/.test(screen) && /influx_window_2m\s+batch \d+/.test(screen));
    expect(first.code, first.screen.slice(-3000)).toBe(0);
    // Through Livy, with the view the operators use, and what Ctrl-C does is said before it is pressed.
    expect(first.screen).toMatch(new RegExp(`pipeline ${PIPELINE}: Livy batch \\d+ running`));
    expect(first.screen).toContain("Ctrl-C stops the pipeline gracefully");
    expect(first.screen).toContain("stopping gracefully: the running micro-batch finishes first");
    expect(first.screen).toMatch(/stopped gracefully/);
    // Not Spark's own log: that stays in Livy (sensor-streaming logs).
    expect(first.screen).not.toMatch(/ INFO (SparkContext|MicroBatchExecution|Executor):/);
    const status = JSON.parse((await runCli(["status", spec, "--profile", "local", "--json"], cliEnv)).stdout) as { running: boolean };
    expect(status.running).toBe(false);
    expect(await rawOffsets()).toEqual([...offsets].sort());

    // The next run resumes from the checkpoints: the new readings once, the old ones not again.
    offsets.push(...(await produce(env.KAFKA_BOOTSTRAP, cliEnv.E2E_TOPIC!, generate(T0 + 2 * 60_000, T0 + 3 * 60_000, 10_000, 32).map(message))));
    const second = await runUntilCtrlC((screen) => /raw_parquet\s+batch \d+/.test(screen) && screen.includes("resumes from its checkpoint"));
    expect(second.code, second.screen.slice(-3000)).toBe(0);
    expect(second.screen).toContain("still stopping gracefully");
    expect(await rawOffsets()).toEqual([...offsets].sort());
  }, 900_000);
});
