/**
 * Every generated statement of every fixture spec (and of conf/pipeline.yaml) is accepted by
 * real Spark: the runner's --explain mode analyses each view and checks each sink query against
 * Spark's streaming rules (append mode, watermarks) without starting anything. Golden files
 * therefore cannot drift into SQL that Spark rejects.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { bindPlan } from "../../src/deploy/bind-plan.js";
import { compilePipeline, pipelineFiles } from "../../src/emit/compiled-files.js";
import { parseEvents } from "../../src/livy/runner-events.js";
import { buildPlan } from "../../src/plan/build-plan.js";
import { loadSpec } from "../../src/spec/load.js";
import { ensureStack, root, type StackEnv } from "./support/stack.js";

let env: StackEnv;
let jar: string;
let work: string;

const specs = [
  "conf/pipeline.yaml",
  ...readdirSync(path.join(root, "driver/test/fixtures"))
    .map((name) => `driver/test/fixtures/${name}/spec.yaml`)
    .filter((file) => existsSync(path.join(root, file))),
];

/** A registry with the columns each fixture names, in the format it declares. */
function registryFor(format: string, key: string, columns: readonly string[]): string {
  const file = path.join(work, `registry-${key}-${columns.join("-")}.${format}`);
  const row = Object.fromEntries([key, ...columns].map((c) => [c, `${c}-1`]));
  writeFileSync(file, format === "json" ? `${JSON.stringify(row)}\n` : `${Object.keys(row).join(",")}\n${Object.values(row).join(",")}\n`);
  return file;
}

/**
 * Runs the runner's explain mode. Asynchronous on purpose: a synchronous child process would
 * block the test worker for the whole Spark start-up.
 */
function explain(planFile: string): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      path.join(env.SPARK_HOME, "bin/spark-submit"),
      [
        "--master",
        "local[1]",
        "--conf",
        "spark.ui.enabled=false",
        "--jars",
        env.SPARK_KAFKA_JARS,
        "--class",
        "io.sensorstreaming.runner.Runner",
        jar,
        planFile,
        "--explain",
      ],
      { env: { ...process.env, SPARK_HOME: env.SPARK_HOME }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

beforeAll(async () => {
  ({ env, runnerJar: jar } = await ensureStack());
  work = mkdtempSync(path.join(os.tmpdir(), "sensor-explain-"));
}, 900_000);

describe("Spark accepts the generated SQL", () => {
  it("covers the project's spec and every fixture", () => {
    expect(specs.length).toBeGreaterThanOrEqual(5);
  });

  for (const spec of specs) {
    it(`${spec}`, async () => {
      const loaded = loadSpec(spec, { env: {}, cwd: root });
      expect(loaded.diagnostics).toEqual([]);
      const parsed = loaded.spec!;
      const bindings = {
        ...env,
        E2E_TOPIC: "explain",
        E2E_DIR: work,
        REGISTRY_PATH: registryFor(
          parsed.registry.format.value,
          parsed.registry.key.value,
          parsed.registry.columns.value.map((c) => c.value),
        ),
      };
      const plan = buildPlan(parsed, loaded.specFile);
      const dir = path.join(work, plan.pipeline);
      mkdirSync(dir, { recursive: true });
      const compiled = compilePipeline(plan);
      for (const file of pipelineFiles({ ...compiled, plan: bindPlan(compiled.plan, bindings, work) })) writeFileSync(path.join(dir, file.name), file.content);
      const run = await explain(path.join(dir, "plan.json"));
      const events = parseEvents(run.stdout.split("\n"));
      const rejection = run.stderr.split("\n").find((l) => l.includes("sensor-streaming runner:"));
      expect(rejection, "Spark's verdict").toBeUndefined();
      expect(run.status).toBe(0);
      expect(events.find((e) => e.event === "explain-ok")?.sinks).toBe(plan.sinks.length);
      for (const sink of plan.sinks) expect(run.stdout).toContain(`sink ${sink.name} <- ${sink.query}`);
    }, 180_000);
  }

  it("and the runner reports SQL that Spark rejects, naming the view", async () => {
    const dir = path.join(work, "broken");
    mkdirSync(dir, { recursive: true });
    const loaded = loadSpec("driver/test/fixtures/minimal/spec.yaml", { env: {}, cwd: root });
    const compiled = compilePipeline(buildPlan(loaded.spec!, loaded.specFile));
    const sql = { ...compiled.sql, "04-valid-readings.sql": compiled.sql["04-valid-readings.sql"]!.replace("reject_reason IS NULL", "no_such_column IS NULL") };
    const plan = bindPlan(compiled.plan, { ...env, REGISTRY_PATH: registryFor("csv", "DevEui", ["institute", "classroom"]) }, work);
    for (const file of pipelineFiles({ plan, sql })) writeFileSync(path.join(dir, file.name), file.content);
    const run = await explain(path.join(dir, "plan.json"));
    expect(run.status).toBe(3);
    expect(run.stderr).toContain("Spark rejected the plan: view valid_readings (04-valid-readings.sql)");
    expect(run.stderr).toContain("no_such_column");
  }, 180_000);
});
