/** validate, compile and explain. */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { compiledFiles, compilePipeline, pipelineFiles } from "../emit/compiled-files.js";
import { planJson } from "../emit/plan-json.js";
import { explainPlan } from "../emit/explain.js";
import { explainMermaid } from "../emit/explain-mermaid.js";
import { stageLocal } from "../deploy/stage-local.js";
import { parseRegistryCsv } from "../simulator/readings.js";
import { readSinkRows } from "../inspect/sink-files.js";
import { storeFor } from "../deploy/file-store.js";
import { HdfsError } from "../hdfs/webhdfs.js";
import { renderTable, toArrow } from "../inspect/table-view.js";
import { BindError, bindPlan, localPathOf } from "../deploy/bind-plan.js";
import { simulate } from "../simulator/simulate.js";
import { EXIT, ExitError } from "./exit-codes.js";
import { formatDiagnostics, load, loadPlan, type SpecOptions } from "./pipeline-input.js";
import type { Output } from "../job/errors.js";

/** Where commands write (defined with the job lifecycle, which writes the same way). */
export type { Output } from "../job/errors.js";

export function validateCommand(specFile: string | undefined, options: SpecOptions & { json?: boolean }, io: Output): number {
  const loaded = load(specFile, options);
  if (options.json === true) {
    io.out(JSON.stringify({ valid: loaded.spec !== undefined, diagnostics: loaded.diagnostics }, null, 2));
    return loaded.spec === undefined ? EXIT.invalidSpec : EXIT.ok;
  }
  if (loaded.spec === undefined) {
    io.err(formatDiagnostics(loaded).replace("nothing was compiled", "the spec is not valid"));
    return EXIT.invalidSpec;
  }
  const { plan } = loadPlan(specFile, options);
  const profile = loaded.profileFile === undefined ? "" : ` with ${loaded.profileFile}`;
  io.out(`${loaded.specFile}${profile} is valid: pipeline "${plan.pipeline}", ${plan.views.length} views, ${plan.sinks.length} sinks`);
  return EXIT.ok;
}

export const DEFAULT_OUT = "sql";

/** Generated files are recognised by name, so a renamed view does not leave a stale file. */
function isGenerated(name: string): boolean {
  return name === "plan.json" || /^\d\d-[a-z0-9-]+\.sql$/.test(name);
}

export function compileCommand(specFile: string | undefined, options: SpecOptions & { out?: string; check?: boolean }, io: Output): number {
  const { plan } = loadPlan(specFile, options);
  const dir = path.join(options.out ?? DEFAULT_OUT, plan.pipeline);
  const files = compiledFiles(plan);
  const existing = existsSync(dir) ? readdirSync(dir).filter(isGenerated) : [];

  if (options.check === true) {
    const wanted = new Map(files.map((f) => [f.name, f.content]));
    const stale = [
      ...files.filter((f) => !existing.includes(f.name) || readFileSync(path.join(dir, f.name), "utf8") !== f.content).map((f) => f.name),
      ...existing.filter((name) => !wanted.has(name)),
    ];
    if (stale.length === 0) {
      io.out(`${dir}/ is up to date with ${plan.specFile}`);
      return EXIT.ok;
    }
    throw new ExitError(
      EXIT.stale,
      `${dir}/ is stale: ${stale.join(", ")} differ from what ${plan.specFile} compiles to`,
      `run: sensor-streaming compile ${plan.specFile}${options.out === undefined ? "" : ` --out ${options.out}`}`,
    );
  }

  try {
    mkdirSync(dir, { recursive: true });
    for (const name of existing) if (!files.some((f) => f.name === name)) rmSync(path.join(dir, name));
    for (const file of files) writeFileSync(path.join(dir, file.name), file.content);
  } catch (error) {
    throw new ExitError(EXIT.fileError, `cannot write ${dir}/: ${(error as Error).message}`, "check the --out folder and its permissions");
  }
  io.out(`compiled ${plan.specFile} -> ${dir}/ (${files.length} files)`);
  for (const file of files) io.out(`  ${file.name}`);
  return EXIT.ok;
}

export function explainCommand(specFile: string | undefined, options: SpecOptions & { format?: string }, io: Output): number {
  const { plan, loaded } = loadPlan(specFile, options);
  io.out((options.format === "mermaid" ? explainMermaid(plan) : explainPlan(plan, process.env, loaded.profileFile)).trimEnd());
  return EXIT.ok;
}

export const DEFAULT_STAGING = ".local-stack/staging";

export function stageCommand(specFile: string | undefined, options: SpecOptions & { out?: string }, io: Output): number {
  const { plan } = loadPlan(specFile, options);
  const root = options.out ?? process.env.SENSOR_STREAMING_STAGING ?? DEFAULT_STAGING;
  try {
    const compiled = compilePipeline(plan);
    const staged = stageLocal(plan.pipeline, pipelineFiles({ ...compiled, plan: bindPlan(compiled.plan, process.env, process.cwd()) }), root);
    io.err(
      `${staged.reused ? "already staged" : "staged"} ${plan.specFile}${options.profile === undefined ? "" : ` (profile ${options.profile})`} in ${staged.dir}`,
    );
    io.out(staged.planFile);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof BindError) {
      throw new ExitError(
        EXIT.invalidSpec,
        `cannot stage ${plan.specFile}: ${error.message}`,
        `export ${error.unset.map((v) => `${v}=...`).join(" ")} or give the setting a default`,
      );
    }
    throw new ExitError(EXIT.fileError, `cannot stage into ${root}: ${(error as Error).message}`, "check the folder and its permissions");
  }
}

export interface SimulateCliOptions {
  readonly registry: string;
  readonly brokers: string;
  readonly topic: string;
  readonly rate: string;
  readonly duration?: string;
  readonly bad: string;
  readonly seed: string;
}

export function numberOption(value: string, name: string, min: number, max = Infinity): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new ExitError(EXIT.usage, `--${name} must be a number from ${min}${max === Infinity ? "" : ` to ${max}`}, got "${value}"`);
  return n;
}

export async function simulateCommand(options: SimulateCliOptions, io: Output): Promise<number> {
  let text: string;
  try {
    text = readFileSync(options.registry, "utf8");
  } catch (error) {
    throw new ExitError(EXIT.fileError, `cannot read the registry ${options.registry}: ${(error as Error).message}`, "pass --registry PATH");
  }
  let devices;
  try {
    devices = parseRegistryCsv(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    throw new ExitError(
      EXIT.fileError,
      `cannot use the registry ${options.registry}: ${(error as Error).message}`,
      "the header must name institute,DevEui,profile,classroom",
    );
  }
  if (devices.length === 0) throw new ExitError(EXIT.fileError, `the registry ${options.registry} lists no devices`);
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  process.once("SIGTERM", () => controller.abort());
  const rate = numberOption(options.rate, "rate", 0.01);
  io.err(
    `simulator: ${devices.length} devices, ${rate} readings/s to ${options.topic} on ${options.brokers}` +
      `${options.duration === undefined ? " until Ctrl-C" : ` for ${options.duration} s`}`,
  );
  await simulate({
    brokers: options.brokers.split(","),
    topic: options.topic,
    devices,
    rate,
    durationSeconds: options.duration === undefined ? undefined : numberOption(options.duration, "duration", 1),
    badFraction: numberOption(options.bad, "bad", 0, 1),
    seed: numberOption(options.seed, "seed", 0),
    log: io.err,
    signal: controller.signal,
  }).catch((error: Error) => {
    throw new ExitError(
      EXIT.fileError,
      `the simulator lost Kafka at ${options.brokers}: ${error.message}`,
      "is Kafka running? For the local stack: infrastructure/local/stack.sh up",
    );
  });
  return EXIT.ok;
}

const SINK_OF: Readonly<Record<string, string>> = { raw: "raw_parquet", rejected: "rejected_parquet" };

export async function inspectCommand(
  which: string,
  specFile: string | undefined,
  options: SpecOptions & { limit: string; columns?: string },
  io: Output,
): Promise<number> {
  const sinkName = SINK_OF[which];
  if (sinkName === undefined) throw new ExitError(EXIT.usage, `inspect shows "raw" or "rejected", not "${which}"`);
  const { plan, spec } = loadPlan(specFile, options);
  let bound: { readonly sinks: ReadonlyArray<{ readonly name: string; readonly path?: string }> };
  try {
    bound = bindPlan(planJson(plan), process.env, process.cwd());
  } catch (error) {
    if (error instanceof BindError) throw new ExitError(EXIT.invalidSpec, error.message);
    throw error;
  }
  const location = bound.sinks.find((s) => s.name === sinkName)!.path!;
  const dir = localPathOf(location) ?? location;
  if (storeFor(location) === undefined)
    throw new ExitError(EXIT.fileError, `the ${which} sink is at ${location}; inspect reads local folders and hdfs:// only`);
  const limit = numberOption(options.limit, "limit", 1);
  let rows;
  try {
    rows = await readSinkRows(dir, Math.max(4, Math.ceil(limit / 50)));
  } catch (error) {
    if (error instanceof HdfsError) throw new ExitError(EXIT.fileError, `cannot read the ${which} sink at ${location}: ${error.message}`, error.hint);
    throw error;
  }
  if (rows.length === 0) {
    io.out(`no ${which} rows yet in ${dir}`);
    return EXIT.ok;
  }
  const arrival = (r: Record<string, unknown>) => (r.kafka_timestamp instanceof Date ? r.kafka_timestamp.getTime() : 0);
  const newest = rows.sort((a, b) => arrival(b) - arrival(a) || Number(b.kafka_offset ?? 0) - Number(a.kafka_offset ?? 0)).slice(0, limit);
  const fields = spec.source.fields.value.map((f) => f.name.value);
  const defaults =
    which === "rejected"
      ? ["kafka_timestamp", "kafka_partition", "kafka_offset", "reject_reason", "message"]
      : [
          "event_time",
          ...spec.registry.columns.value.map((c) => c.value),
          spec.registry.joinOn.value,
          ...fields.filter((f) => f !== spec.registry.joinOn.value && f !== spec.source.eventTime.field.value).slice(0, 4),
        ];
  const columns = options.columns?.split(",").map((c) => c.trim()) ?? defaults;
  io.out(renderTable(toArrow(newest, columns)));
  io.out(`(${newest.length} newest of ${rows.length} rows read from ${dir})`);
  return EXIT.ok;
}
