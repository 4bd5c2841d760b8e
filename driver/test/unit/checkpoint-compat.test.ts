/**
 * The checkpoint compatibility rules on real compiled plans: the project's spec before and after
 * the edits people make.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bindPlan } from "../../src/deploy/bind-plan.js";
import { checkCheckpoints, compareSink, recordCheckpoints, recordFile, type RecordedPlan, type WrittenBy } from "../../src/deploy/checkpoint-compat.js";
import { compilePipeline, type CompiledPipeline } from "../../src/emit/compiled-files.js";
import { buildPlan } from "../../src/plan/build-plan.js";
import { decodeSpec } from "../../src/spec/decode-spec.js";
import { parseLocatedYaml } from "../../src/spec/located.js";

const root = path.resolve(import.meta.dirname, "../../..");
const base = readFileSync(path.join(root, "conf/pipeline.yaml"), "utf8");
const scratch = mkdtempSync(path.join(os.tmpdir(), "sensor-compat-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The spec text compiled from `specFile` and bound, as `start` checks it. */
function compile(text: string, env: Record<string, string> = {}, specFile = "pipeline.yaml"): CompiledPipeline {
  const decoded = decodeSpec(parseLocatedYaml(text, specFile).root!, env);
  expect(decoded.diagnostics).toEqual([]);
  const compiled = compilePipeline(buildPlan(decoded.spec!, specFile));
  return { ...compiled, plan: bindPlan(compiled.plan, { CHECKPOINT_DIR: path.join(scratch, "cp"), ...env }, root) };
}

function edited(from: string, to: string): string {
  expect(base).toContain(from);
  return base.replace(from, to);
}

const before = compile(base);
const written = (sink: string, by: { plan: RecordedPlan; sql: Record<string, string> } = before): WrittenBy => ({
  ...by,
  checkpoint: by.plan.sinks.find((s) => s.name === sink)!.checkpoint,
  recordedAt: "",
});
/** Each sink's verdict, with the notes or reasons that came with it. */
const verdicts = (now: CompiledPipeline, record: (sink: string) => WrittenBy = written) =>
  Object.fromEntries(now.plan.sinks.map((s) => [s.name, compareSink(s.name, record(s.name), now)]));

describe("compareSink", () => {
  it("resumes every query of an unchanged plan", () => {
    for (const sink of before.plan.sinks) expect(compareSink(sink.name, written(sink.name), before).kind).toBe("resumes");
  });

  it("needs fresh state for a window whose size changed, and only for that window", () => {
    const after = compile(edited("size: 5 minutes", "size: 10 minutes"));
    const verdict = compareSink("influx_window_5m", written("influx_window_5m"), after);
    expect(verdict.kind).toBe("incompatible");
    expect(verdict.kind === "incompatible" && verdict.reasons.join()).toContain(
      'window {"size":"5 minutes","slide":"1 minute"} -> {"size":"10 minutes","slide":"1 minute"}',
    );
    expect(compareSink("influx_window_1h", written("influx_window_1h"), after).kind).toBe("resumes");
    expect(compareSink("raw_parquet", written("raw_parquet"), after).kind).toBe("resumes");
  });

  it("needs fresh state when the grouping or the aggregates change", () => {
    const grouping = compile(edited("    groupBy: [institute, classroom]\n  - name: 1h", "    groupBy: [institute, profile]\n  - name: 1h"));
    expect(compareSink("influx_window_5m", written("influx_window_5m"), grouping).kind).toBe("incompatible");
    const functions = compile(edited("functions: [mean, min, max, stddev, count]", "functions: [mean, max]"));
    expect(compareSink("influx_window_1h", written("influx_window_1h"), functions).kind).toBe("incompatible");
  });

  it("needs fresh state for every query when the topic changes", () => {
    const after = compile(base, { KAFKA_TOPIC: "other-topic" });
    for (const sink of before.plan.sinks) {
      const verdict = compareSink(sink.name, written(sink.name), after);
      expect(verdict.kind === "incompatible" && verdict.reasons.join()).toContain("the Kafka topic changed from live-data to other-topic");
    }
  });

  it("needs fresh state when a file sink's folder changes", () => {
    const after = compile(base, { RAW_PATH: "/elsewhere/raw" });
    expect(compareSink("raw_parquet", written("raw_parquet"), after).kind).toBe("incompatible");
    expect(compareSink("rejected_parquet", written("rejected_parquet"), after).kind).toBe("resumes");
  });

  it("resumes after projection changes, a new watermark delay or InfluxDB URL, and says so", () => {
    const after = compile(edited("  watermark: 2 minutes", "  watermark: 3 minutes"), { INFLUXDB_URL: "http://influx:8086" });
    const verdict = compareSink("influx_raw", written("influx_raw"), after);
    expect(verdict.kind).toBe("resumes");
    expect(verdict.kind === "resumes" && verdict.notes.join("; ")).toContain("the watermark of valid_readings changed (allowed)");
    expect(verdict.kind === "resumes" && verdict.notes.join("; ")).toContain("the InfluxDB write URL changed");
  });
});

describe("a copy of the spec under another file name", () => {
  it("resumes every query without a note when nothing else changed", () => {
    const copy = compile(base, {}, "conf/pipeline-copy.yaml");
    for (const verdict of Object.values(verdicts(copy))) expect(verdict).toMatchObject({ kind: "resumes", notes: [] });
  });

  it("with one window changed, changes only that window's queries", () => {
    const copy = compile(edited("size: 5 minutes", "size: 10 minutes"), {}, "conf/pipeline-copy.yaml");
    // Every SQL file names the spec it came from in its header, so every file differs as text.
    expect(Object.keys(copy.sql).filter((file) => copy.sql[file] === before.sql[file])).toEqual([]);
    const outcome = Object.fromEntries(Object.entries(verdicts(copy)).map(([sink, v]) => [sink, v.kind === "resumes" ? v.notes : v.kind]));
    expect(outcome).toEqual({ raw_parquet: [], rejected_parquet: [], influx_raw: [], influx_window_5m: "incompatible", influx_window_1h: [] });
  });
});

describe("lineage", () => {
  it("is each view's inputs in plan.json, as the plan wires them", () => {
    expect(Object.fromEntries(before.plan.views.map((v) => [v.name, v.inputs]))).toEqual({
      parsed_readings: ["kafka_readings"],
      registry_devices: ["registry_file"],
      checked_readings: ["parsed_readings", "registry_devices"],
      valid_readings: ["checked_readings"],
      rejected_readings: ["checked_readings"],
      influx_raw_lines: ["valid_readings"],
      window_5m: ["valid_readings"],
      influx_window_5m_lines: ["window_5m"],
      window_1h: ["valid_readings"],
      influx_window_1h_lines: ["window_1h"],
    });
  });

  it("does not come from the SQL: without any SQL, a topic reaches every query and a window only its own", () => {
    const noSql = (compiled: CompiledPipeline): CompiledPipeline => ({ ...compiled, sql: {} });
    const record = (sink: string) => written(sink, noSql(before));
    for (const verdict of Object.values(verdicts(noSql(compile(base, { KAFKA_TOPIC: "other-topic" })), record)))
      expect(verdict.kind === "incompatible" && verdict.reasons.join()).toContain("the Kafka topic changed from live-data to other-topic");
    const window = verdicts(noSql(compile(edited("size: 5 minutes", "size: 10 minutes"))), record);
    expect(
      Object.entries(window)
        .filter(([, v]) => v.kind === "incompatible")
        .map(([sink]) => sink),
    ).toEqual(["influx_window_5m"]);
  });

  it("notes a view whose statement changed (a filter), not one whose header did", () => {
    const after = compile(edited("maxAhead: 2 minutes", "maxAhead: 1 minute"));
    expect(compareSink("raw_parquet", written("raw_parquet"), after)).toMatchObject({
      kind: "resumes",
      notes: ["checked_readings changed (projections and filters may change)"],
    });
  });
});

describe("a record written before plan.json had inputs", () => {
  /** As the previous driver wrote it: views without `inputs`, SQL with headers naming the spec it came from. */
  const oldRecord =
    (by: CompiledPipeline) =>
    (sink: string): WrittenBy => {
      const plan = JSON.parse(JSON.stringify(by.plan, (key, value: unknown) => (key === "inputs" ? undefined : value))) as RecordedPlan;
      expect(plan.views.some((v) => "inputs" in v)).toBe(false);
      return written(sink, { plan, sql: by.sql });
    };

  it("still compares: the same pipeline, compiled then from another file name, resumes without a note", () => {
    for (const verdict of Object.values(verdicts(before, oldRecord(compile(base, {}, "conf/old-name.yaml")))))
      expect(verdict).toMatchObject({ kind: "resumes", notes: [] });
  });

  it("borrows the new plan's inputs, so a changed window or topic is still found", () => {
    const window = verdicts(compile(edited("size: 5 minutes", "size: 10 minutes")), oldRecord(before));
    expect(
      Object.entries(window)
        .filter(([, v]) => v.kind === "incompatible")
        .map(([sink]) => sink),
    ).toEqual(["influx_window_5m"]);
    expect(window.influx_window_5m!.kind === "incompatible" && window.influx_window_5m!.reasons.join()).toContain("the state of window_5m changed");
    for (const verdict of Object.values(verdicts(compile(base, { KAFKA_TOPIC: "other-topic" }), oldRecord(before)))) expect(verdict.kind).toBe("incompatible");
  });

  it("is read from beside the checkpoint", async () => {
    const now = compile(base, { CHECKPOINT_DIR: path.join(scratch, "old-records") });
    for (const sink of now.plan.sinks) {
      const dir = new URL(sink.checkpoint).pathname;
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        recordFile(dir),
        `${JSON.stringify(oldRecord(compile(base, { CHECKPOINT_DIR: path.join(scratch, "old-records") }, "old.yaml"))(sink.name), null, 2)}\n`,
      );
    }
    expect((await checkCheckpoints(now)).map((v) => v.verdict)).toEqual(now.plan.sinks.map((s) => ({ kind: "resumes", checkpoint: s.checkpoint, notes: [] })));
  });
});

describe("checkCheckpoints", () => {
  it("reports new checkpoints, then resumes from the recorded ones", async () => {
    const now = compile(base);
    expect((await checkCheckpoints(now)).map((v) => v.verdict.kind)).toEqual(now.plan.sinks.map(() => "new"));
    const planned = new Map(now.plan.sinks.map((s) => [s.name, s.checkpoint]));
    await recordCheckpoints(now, planned, planned);
    expect((await checkCheckpoints(now)).map((v) => v.verdict.kind)).toEqual(now.plan.sinks.map(() => "resumes"));
  });

  it("says a checkpoint without a record resumes unchecked, and does not read file systems it cannot reach", async () => {
    const now = compile(base, { CHECKPOINT_DIR: path.join(scratch, "unrecorded") });
    const dir = new URL(now.plan.sinks[0]!.checkpoint).pathname;
    mkdirSync(dir, { recursive: true });
    expect((await checkCheckpoints(now))[0]!.verdict.kind).toBe("unchecked");
    writeFileSync(recordFile(dir), "{}");
    const remote = compile(base, { CHECKPOINT_DIR: "s3a://bucket/cp" });
    expect((await checkCheckpoints(remote)).every((v) => v.verdict.kind === "unchecked")).toBe(true);
  });
});
