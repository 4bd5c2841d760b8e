/**
 * Spark restarts a streaming query from its checkpoint only after some kinds of change
 * ("Recovery Semantics after Changes in a Streaming Query",
 * https://spark.apache.org/docs/3.5.1/structured-streaming-programming-guide.html#recovery-semantics-after-changes-in-a-streaming-query):
 * projections and filters may change; the input topic, the output sink and the shape of
 * aggregation state (window, grouping, aggregates) may not.
 *
 * The driver keeps, beside each checkpoint, the bound plan and SQL that wrote it
 * (`<checkpoint>.written-by.json`), compares the new plan with it before submitting, and says per
 * query whether it resumes or needs fresh state. Checkpoints on the local disk and on HDFS
 * (through WebHDFS) are checked; others (say, s3a:) are reported as not checked.
 */
import { storeFor } from "./file-store.js";

export interface PlanJson {
  readonly pipeline: string;
  readonly sparkConf: Readonly<Record<string, string>>;
  readonly sources: ReadonlyArray<{ name: string; kind: string; options?: Readonly<Record<string, string>>; path?: string }>;
  readonly views: ReadonlyArray<{ name: string; sqlFile: string; watermark?: { column: string; delay: string }; state?: unknown }>;
  readonly sinks: ReadonlyArray<{
    name: string;
    kind: string;
    query: string;
    checkpoint: string;
    path?: string;
    outputMode: string;
    influx?: { writeUrl: string };
  }>;
}

export interface WrittenBy {
  readonly plan: PlanJson;
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
function lineage(plan: PlanJson, sql: Readonly<Record<string, string>>, query: string): { views: string[]; sources: string[] } {
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
    const text = sql[view.sqlFile] ?? "";
    for (const other of [...plan.views.map((v) => v.name), ...plan.sources.map((s) => s.name)]) {
      if (other !== name && new RegExp(`\\b(FROM|JOIN)\\s+${other}\\b`).test(text)) visit(other);
    }
  };
  visit(query);
  return { views: [...views], sources: [...sources] };
}

const stableJson = (value: unknown): string => JSON.stringify(value ?? null);

/** Compares the plan that wrote a sink's checkpoint with the new one. */
export function compareSink(sinkName: string, before: WrittenBy, plan: PlanJson, sql: Readonly<Record<string, string>>): Verdict {
  const checkpoint = before.checkpoint;
  const now = plan.sinks.find((s) => s.name === sinkName)!;
  const then = before.plan.sinks.find((s) => s.name === sinkName);
  if (then === undefined) return { kind: "incompatible", checkpoint, reasons: ["the checkpoint was written by another query"] };
  const reasons: string[] = [];
  const notes: string[] = [];
  if (then.kind !== now.kind) reasons.push(`the sink changed from ${then.kind} to ${now.kind}`);
  if ((then.path ?? "") !== (now.path ?? ""))
    reasons.push(`the output folder changed from ${then.path} to ${now.path} (a file sink's checkpoint belongs to its folder)`);
  if (then.outputMode !== now.outputMode) reasons.push(`the output mode changed from ${then.outputMode} to ${now.outputMode}`);
  if ((then.influx?.writeUrl ?? "") !== (now.influx?.writeUrl ?? ""))
    notes.push("the InfluxDB write URL changed (allowed; points already written stay where they are)");

  const a = lineage(before.plan, before.sql, then.query);
  const b = lineage(plan, sql, now.query);
  const sourceKey = (p: PlanJson, names: string[]) =>
    names
      .map((n) => p.sources.find((s) => s.name === n)!)
      .filter((s) => s.kind === "kafka")
      .map((s) => `${s.options?.subscribe}`)
      .sort()
      .join(",");
  if (sourceKey(before.plan, a.sources) !== sourceKey(plan, b.sources)) {
    reasons.push(
      `the Kafka topic changed from ${sourceKey(before.plan, a.sources)} to ${sourceKey(plan, b.sources)} (the checkpoint's offsets belong to the old one)`,
    );
  }
  const state = (p: PlanJson, names: string[]) => names.map((n) => p.views.find((v) => v.name === n)!).filter((v) => v.state !== undefined);
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
    if (old !== undefined && stableJson(old.watermark) !== stableJson(view.watermark)) notes.push(`the watermark of ${view.name} changed (allowed)`);
    if (old !== undefined && before.sql[old.sqlFile] !== sql[view.sqlFile] && view.state === undefined)
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

export async function checkCheckpoints(plan: PlanJson, sql: Readonly<Record<string, string>>): Promise<SinkVerdict[]> {
  const verdicts: SinkVerdict[] = [];
  for (const sink of plan.sinks) {
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
    verdicts.push({ sink: sink.name, planned: sink.checkpoint, verdict: compareSink(sink.name, JSON.parse(text) as WrittenBy, plan, sql) });
  }
  return verdicts;
}

/** A new folder for a query that must start with fresh state; the old checkpoint stays as it was. */
export function freshCheckpoint(planned: string, at: Date): string {
  return `${planned.replace(/\/+$/, "")}.${at.toISOString().replace(/[-:.]/g, "").slice(0, 15)}`;
}

export async function recordCheckpoints(
  plan: PlanJson,
  sql: Readonly<Record<string, string>>,
  used: ReadonlyMap<string, string>,
  planned: ReadonlyMap<string, string>,
): Promise<void> {
  for (const sink of plan.sinks) {
    const location = planned.get(sink.name) ?? sink.checkpoint;
    const store = storeFor(location);
    if (store === undefined) continue;
    const record: WrittenBy = { plan, sql, checkpoint: used.get(sink.name) ?? sink.checkpoint, recordedAt: new Date().toISOString() };
    await store.write(recordFile(location), `${JSON.stringify(record, null, 2)}\n`);
  }
}
