/**
 * The checkpoint compatibility rules on real compiled plans: the project's spec before and after
 * the edits people make.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bindPlan } from "../../src/deploy/bind-plan.js";
import { checkCheckpoints, compareSink, recordCheckpoints, recordFile, type PlanJson, type WrittenBy } from "../../src/deploy/checkpoint-compat.js";
import { compiledFiles } from "../../src/emit/compiled-files.js";
import { buildPlan } from "../../src/plan/build-plan.js";
import { decodeSpec } from "../../src/spec/decode-spec.js";
import { parseLocatedYaml } from "../../src/spec/located.js";

const root = path.resolve(import.meta.dirname, "../../..");
const base = readFileSync(path.join(root, "conf/pipeline.yaml"), "utf8");
const scratch = mkdtempSync(path.join(os.tmpdir(), "sensor-compat-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function compile(text: string, env: Record<string, string> = {}): { plan: PlanJson; sql: Record<string, string> } {
  const decoded = decodeSpec(parseLocatedYaml(text, "pipeline.yaml").root!, env);
  expect(decoded.diagnostics).toEqual([]);
  const files = compiledFiles(buildPlan(decoded.spec!, "pipeline.yaml"));
  const plan = JSON.parse(bindPlan(files.find((f) => f.name === "plan.json")!.content, { CHECKPOINT_DIR: path.join(scratch, "cp"), ...env }, root)) as PlanJson;
  return { plan, sql: Object.fromEntries(files.filter((f) => f.name.endsWith(".sql")).map((f) => [f.name, f.content])) };
}

function edited(from: string, to: string): string {
  expect(base).toContain(from);
  return base.replace(from, to);
}

const before = compile(base);
const written = (sink: string): WrittenBy => ({ ...before, checkpoint: before.plan.sinks.find((s) => s.name === sink)!.checkpoint, recordedAt: "" });

describe("compareSink", () => {
  it("resumes every query of an unchanged plan", () => {
    for (const sink of before.plan.sinks) expect(compareSink(sink.name, written(sink.name), before.plan, before.sql).kind).toBe("resumes");
  });

  it("needs fresh state for a window whose size changed, and only for that window", () => {
    const after = compile(edited("size: 5 minutes", "size: 10 minutes"));
    const verdict = compareSink("influx_window_5m", written("influx_window_5m"), after.plan, after.sql);
    expect(verdict.kind).toBe("incompatible");
    expect(verdict.kind === "incompatible" && verdict.reasons.join()).toContain(
      'window {"size":"5 minutes","slide":"1 minute"} -> {"size":"10 minutes","slide":"1 minute"}',
    );
    expect(compareSink("influx_window_1h", written("influx_window_1h"), after.plan, after.sql).kind).toBe("resumes");
    expect(compareSink("raw_parquet", written("raw_parquet"), after.plan, after.sql).kind).toBe("resumes");
  });

  it("needs fresh state when the grouping or the aggregates change", () => {
    const grouping = compile(edited("    groupBy: [institute, classroom]\n  - name: 1h", "    groupBy: [institute, profile]\n  - name: 1h"));
    expect(compareSink("influx_window_5m", written("influx_window_5m"), grouping.plan, grouping.sql).kind).toBe("incompatible");
    const functions = compile(edited("functions: [mean, min, max, stddev, count]", "functions: [mean, max]"));
    expect(compareSink("influx_window_1h", written("influx_window_1h"), functions.plan, functions.sql).kind).toBe("incompatible");
  });

  it("needs fresh state for every query when the topic changes", () => {
    const after = compile(base, { KAFKA_TOPIC: "other-topic" });
    for (const sink of before.plan.sinks) {
      const verdict = compareSink(sink.name, written(sink.name), after.plan, after.sql);
      expect(verdict.kind === "incompatible" && verdict.reasons.join()).toContain("the Kafka topic changed from live-data to other-topic");
    }
  });

  it("needs fresh state when a file sink's folder changes", () => {
    const after = compile(base, { RAW_PATH: "/elsewhere/raw" });
    expect(compareSink("raw_parquet", written("raw_parquet"), after.plan, after.sql).kind).toBe("incompatible");
    expect(compareSink("rejected_parquet", written("rejected_parquet"), after.plan, after.sql).kind).toBe("resumes");
  });

  it("resumes after projection changes, a new watermark delay or InfluxDB URL, and says so", () => {
    const after = compile(edited("  watermark: 2 minutes", "  watermark: 3 minutes"), { INFLUXDB_URL: "http://influx:8086" });
    const verdict = compareSink("influx_raw", written("influx_raw"), after.plan, after.sql);
    expect(verdict.kind).toBe("resumes");
    expect(verdict.kind === "resumes" && verdict.notes.join("; ")).toContain("the watermark of valid_readings changed (allowed)");
    expect(verdict.kind === "resumes" && verdict.notes.join("; ")).toContain("the InfluxDB write URL changed");
  });
});

describe("checkCheckpoints", () => {
  it("reports new checkpoints, then resumes from the recorded ones", async () => {
    const { plan, sql } = compile(base);
    expect((await checkCheckpoints(plan, sql)).map((v) => v.verdict.kind)).toEqual(plan.sinks.map(() => "new"));
    const planned = new Map(plan.sinks.map((s) => [s.name, s.checkpoint]));
    await recordCheckpoints(plan, sql, planned, planned);
    expect((await checkCheckpoints(plan, sql)).map((v) => v.verdict.kind)).toEqual(plan.sinks.map(() => "resumes"));
  });

  it("says a checkpoint without a record resumes unchecked, and does not read file systems it cannot reach", async () => {
    const { plan, sql } = compile(base, { CHECKPOINT_DIR: path.join(scratch, "unrecorded") });
    const dir = new URL(plan.sinks[0]!.checkpoint).pathname;
    mkdirSync(dir, { recursive: true });
    expect((await checkCheckpoints(plan, sql))[0]!.verdict.kind).toBe("unchecked");
    writeFileSync(recordFile(dir), "{}");
    const remote = compile(base, { CHECKPOINT_DIR: "s3a://bucket/cp" });
    expect((await checkCheckpoints(remote.plan, remote.sql)).every((v) => v.verdict.kind === "unchecked")).toBe(true);
  });
});
