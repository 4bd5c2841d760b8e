/**
 * Spark restarts a streaming query from its checkpoint only after some kinds of change
 * ("Recovery Semantics after Changes in a Streaming Query",
 * https://spark.apache.org/docs/3.5.1/structured-streaming-programming-guide.html#recovery-semantics-after-changes-in-a-streaming-query):
 * projections and filters may change; the input topic, the output sink and the shape of
 * aggregation state (window, grouping, aggregates) may not.
 *
 * The driver keeps, beside each checkpoint, the bound plan and SQL that wrote it
 * (`<checkpoint>.written-by.json`), compares the new plan with it before submitting, and says per
 * query whether it resumes or needs fresh state. A query's lineage (the views and sources it
 * reads) is the views' `inputs` in plan.json, and SQL is compared as Spark runs it, without the
 * generated header comments. Checkpoints on the local disk and on HDFS (through WebHDFS) are
 * checked; others (say, s3a:) are reported as not checked.
 */
import type { CompiledPipeline } from "../emit/compiled-files.js";
import type { PlanJson, SinkJson, ViewJson } from "../emit/plan-json.js";
import { statementOf } from "../emit/sql/view-sql.js";
import { storeFor } from "./file-store.js";

/**
 * A bound plan as a record keeps it. Records written before plan.json listed each view's inputs
 * have views without `inputs` (see `lineage`).
 */
export type RecordedPlan = Omit<PlanJson, "views"> & { readonly views: ReadonlyArray<RecordedView> };
type RecordedView = Omit<ViewJson, "inputs"> & { readonly inputs?: readonly string[] };

export interface WrittenBy {
  readonly plan: RecordedPlan;
  /** The SQL files by name, as written (with their header comments). */
  readonly sql: Readonly<Record<string, string>>;
  /** The checkpoint folder in use (a fresh start moves it to a new folder). */
  readonly checkpoint: string;
  readonly recordedAt: string;
}

export type Verdict =
  | { readonly kind: "new"; readonly checkpoint: string }
  | { readonly kind: "resumes"; readonly checkpoint: string; readonly notes: readonly string[] }
  | { readonly kind: "incompatible"; readonly checkpoint: string; readonly reasons: readonly string[] }
  | { readonly kind: "unchecked"; readonly checkpoint: string; readonly notes: readonly string[] };

export interface SinkVerdict {
  readonly sink: string;
  /** The checkpoint named by the plan; the record beside it says which folder is in use. */
  readonly planned: string;
  readonly verdict: Verdict;
}

export function recordFile(checkpointDir: string): string {
  return `${checkpointDir.replace(/\/+$/, "")}.written-by.json`;
}

/** The views a sink's query reads, directly or through other views, and the sources under them. */
function lineage<View extends RecordedView>(
  plan: { readonly sources: RecordedPlan["sources"]; readonly views: readonly View[] },
  query: string,
  inputsOf: (view: View) => readonly string[],
): { views: string[]; sources: string[] } {
  const views = new Set<string>();
  const sources = new Set<string>();
  const visit = (name: string): void => {
    const view = plan.views.find((v) => v.name === name);
    if (view === undefined) {
      if (plan.sources.some((s) => s.name === name)) sources.add(name);
      return;
    }
    if (views.has(name)) return;
    views.add(name);
    for (const input of inputsOf(view)) visit(input);
  };
  visit(query);
  return { views: [...views], sources: [...sources] };
}

const stableJson = (value: unknown): string => JSON.stringify(value ?? null);
const outputFolder = (sink: SinkJson): string => (sink.kind === "parquet" ? sink.path : "");
const writeUrl = (sink: SinkJson): string => (sink.kind === "influx-lines" ? sink.influx.writeUrl : "");
/** Always "append" today; a record is read as written, so it is compared all the same. */
const outputMode = (sink: SinkJson): string => sink.outputMode;

/** Compares the plan that wrote a sink's checkpoint with the new one. */
export function compareSink(sinkName: string, before: WrittenBy, now: CompiledPipeline): Verdict {
  const { plan, sql } = now;
  const checkpoint = before.checkpoint;
  const current = plan.sinks.find((s) => s.name === sinkName)!;
  const then = before.plan.sinks.find((s) => s.name === sinkName);
  if (then === undefined) return { kind: "incompatible", checkpoint, reasons: ["the checkpoint was written by another query"] };
  const reasons: string[] = [];
  const notes: string[] = [];
  if (then.kind !== current.kind) reasons.push(`the sink changed from ${then.kind} to ${current.kind}`);
  if (outputFolder(then) !== outputFolder(current))
    reasons.push(`the output folder changed from ${outputFolder(then)} to ${outputFolder(current)} (a file sink's checkpoint belongs to its folder)`);
  if (outputMode(then) !== outputMode(current)) reasons.push(`the output mode changed from ${outputMode(then)} to ${outputMode(current)}`);
  if (writeUrl(then) !== writeUrl(current)) notes.push("the InfluxDB write URL changed (allowed; points already written stay where they are)");

  // A record written before plan.json had `inputs` borrows them from the new plan's view of the
  // same name: view names say a view's role, and the compiler wires each role the same way, so
  // for the same pipeline that is the old lineage. A view the new plan lacks ends its branch.
  const a = lineage(before.plan, then.query, (v) => v.inputs ?? plan.views.find((n) => n.name === v.name)?.inputs ?? []);
  const b = lineage(plan, current.query, (v) => v.inputs);
  const sourceKey = (p: RecordedPlan, names: string[]) =>
    names
      .map((n) => p.sources.find((s) => s.name === n)!)
      .flatMap((s) => (s.kind === "kafka" ? [s.options.subscribe] : []))
      .sort()
      .join(",");
  if (sourceKey(before.plan, a.sources) !== sourceKey(plan, b.sources)) {
    reasons.push(
      `the Kafka topic changed from ${sourceKey(before.plan, a.sources)} to ${sourceKey(plan, b.sources)} (the checkpoint's offsets belong to the old one)`,
    );
  }
  const state = (p: RecordedPlan, names: string[]) => names.map((n) => p.views.find((v) => v.name === n)!).filter((v) => v.state !== undefined);
  const stateBefore = state(before.plan, a.views);
  const stateNow = state(plan, b.views);
  if (stateBefore.length !== stateNow.length) reasons.push("the query's stateful operations changed");
  for (const view of stateNow) {
    const old = stateBefore.find((v) => v.name === view.name);
    if (old === undefined) reasons.push(`view ${view.name} is a new stateful operation`);
    else if (stableJson(old.state) !== stableJson(view.state))
      reasons.push(`the state of ${view.name} changed (window, grouping or aggregates): ${describeStateChange(old.state, view.state)}`);
  }
  if (stateNow.length > 0 && before.plan.sparkConf["spark.sql.shuffle.partitions"] !== plan.sparkConf["spark.sql.shuffle.partitions"]) {
    notes.push(`shufflePartitions stays ${before.plan.sparkConf["spark.sql.shuffle.partitions"]}: Spark keeps the checkpoint's value`);
  }
  for (const name of b.views) {
    const view = plan.views.find((v) => v.name === name)!;
    const old = before.plan.views.find((v) => v.name === name);
    if (old === undefined) continue;
    if (stableJson(old.watermark) !== stableJson(view.watermark)) notes.push(`the watermark of ${view.name} changed (allowed)`);
    // What Spark runs, not the header comments: those name the spec file and describe the view,
    // so a copy of the spec under another name would otherwise change every view.
    if (view.state === undefined && statementOf(before.sql[old.sqlFile] ?? "") !== statementOf(sql[view.sqlFile] ?? ""))
      notes.push(`${view.name} changed (projections and filters may change)`);
  }
  return reasons.length > 0 ? { kind: "incompatible", checkpoint, reasons } : { kind: "resumes", checkpoint, notes };
}

function describeStateChange(before: unknown, after: unknown): string {
  const a = before as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])].filter((k) => stableJson(a?.[k]) !== stableJson(b?.[k]));
  return keys.map((k) => `${k} ${stableJson(a?.[k])} -> ${stableJson(b?.[k])}`).join("; ");
}

export async function checkCheckpoints(now: CompiledPipeline): Promise<SinkVerdict[]> {
  const verdicts: SinkVerdict[] = [];
  for (const sink of now.plan.sinks) {
    const store = storeFor(sink.checkpoint);
    if (store === undefined) {
      verdicts.push({
        sink: sink.name,
        planned: sink.checkpoint,
        verdict: {
          kind: "unchecked",
          checkpoint: sink.checkpoint,
          notes: ["the driver cannot read this file system; Spark checks the checkpoint when the query starts"],
        },
      });
      continue;
    }
    const text = await store.readText(recordFile(sink.checkpoint));
    if (text === undefined) {
      verdicts.push(
        (await store.exists(sink.checkpoint))
          ? {
              sink: sink.name,
              planned: sink.checkpoint,
              verdict: { kind: "unchecked", checkpoint: sink.checkpoint, notes: ["no record of the plan that wrote this checkpoint; it resumes unchecked"] },
            }
          : { sink: sink.name, planned: sink.checkpoint, verdict: { kind: "new", checkpoint: sink.checkpoint } },
      );
      continue;
    }
    verdicts.push({ sink: sink.name, planned: sink.checkpoint, verdict: compareSink(sink.name, JSON.parse(text) as WrittenBy, now) });
  }
  return verdicts;
}

/** A new folder for a query that must start with fresh state; the old checkpoint stays as it was. */
export function freshCheckpoint(planned: string, at: Date): string {
  return `${planned.replace(/\/+$/, "")}.${at.toISOString().replace(/[-:.]/g, "").slice(0, 15)}`;
}

export async function recordCheckpoints(now: CompiledPipeline, used: ReadonlyMap<string, string>, planned: ReadonlyMap<string, string>): Promise<void> {
  const { plan, sql } = now;
  for (const sink of plan.sinks) {
    const location = planned.get(sink.name) ?? sink.checkpoint;
    const store = storeFor(location);
    if (store === undefined) continue;
    const record: WrittenBy = { plan, sql, checkpoint: used.get(sink.name) ?? sink.checkpoint, recordedAt: new Date().toISOString() };
    await store.write(recordFile(location), `${JSON.stringify(record, null, 2)}\n`);
  }
}
