/**
 * `registry validate|upload|show`: check a registry CSV against the spec, put it where the
 * pipeline reads it (the spec's `registry.path` with the profile and `${VAR}`s applied), and show
 * what is there. Like the commands in cli/, each ends in an exit code or an ExitError.
 */
import { readFileSync } from "node:fs";
import type { Output } from "../cli/commands.js";
import { EXIT, ExitError } from "../cli/exit-codes.js";
import { pipelineArguments } from "../job/session.js";
import { loadPlan, type SpecOptions } from "../cli/pipeline-input.js";
import { toLocation } from "../deploy/bind-plan.js";
import { HdfsError } from "../hdfs/webhdfs.js";
import { renderTable, toArrow } from "../inspect/table-view.js";
import { readRegistryCsv, type RegistryCsv, type RegistryProblem, type RegistryShape } from "./registry-csv.js";
import { diffRegistries, diffSummary, formatDiff } from "./registry-diff.js";
import { registryStore, type RegistryStore } from "./registry-store.js";

export const DEFAULT_REGISTRY_CSV = "data/registry.csv";

interface RegistryTarget {
  /** The spec (and profile) as shown to the user. */
  readonly source: string;
  readonly shape: RegistryShape;
  /** Where the job reads the registry. */
  readonly location: string;
}

function registryTarget(specFile: string | undefined, options: SpecOptions): RegistryTarget {
  const { loaded, spec } = loadPlan(specFile, options);
  const source = `${loaded.specFile}${loaded.profileFile === undefined ? "" : ` with ${loaded.profileFile}`}`;
  const format = spec.registry.format.value;
  if (format !== "csv") {
    throw new ExitError(
      EXIT.invalidRegistry,
      `${source} reads its registry as ${format} (registry.format); the registry commands check and upload CSV files only`,
      "copy other formats with HDFS's own tools (hdfs dfs -put)",
    );
  }
  return {
    source,
    shape: { key: spec.registry.key.value, columns: spec.registry.columns.value.map((c) => c.value) },
    // Bound as a job's plan is bound (deploy/bind-plan.ts): a relative path resolves against the
    // folder the CLI runs in, as it does for start.
    location: toLocation(spec.registry.path.value, process.cwd()),
  };
}

function openStore(location: string): RegistryStore {
  let store: RegistryStore | undefined;
  try {
    store = registryStore(location);
  } catch (error) {
    if (error instanceof HdfsError) throw new ExitError(EXIT.fileError, `cannot open ${location}: ${error.message}`, error.hint);
    throw error;
  }
  if (store === undefined) {
    throw new ExitError(
      EXIT.fileError,
      `the registry is at ${location}; the registry commands read and write local files and hdfs:// only`,
      "copy it with that file system's own tools",
    );
  }
  return store;
}

async function storeCall<T>(verb: "read" | "write", location: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof HdfsError) throw new ExitError(EXIT.fileError, `cannot ${verb} ${location}: ${error.message}`, error.hint);
    throw new ExitError(EXIT.fileError, `cannot ${verb} ${location}: ${(error as Error).message}`, "check the path and its permissions");
  }
}

function readCsv(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ExitError(
      EXIT.fileError,
      `cannot read the registry ${file}: ${(error as Error).message}`,
      `pass the CSV's path, e.g. sensor-streaming registry validate ${DEFAULT_REGISTRY_CSV}`,
    );
  }
}

/** `file: line N[, column M]: message`, one line per problem (operators read a CSV by line numbers). */
function formatProblems(file: string, problems: readonly RegistryProblem[]): string {
  return problems.map((p) => `${file}: line ${p.line}${p.column === undefined ? "" : `, column ${p.column}`}: ${p.message}`).join("\n");
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? "" : "s"}`;

/** The registry in `file`, or an ExitError listing every problem. */
function checked(file: string, target: RegistryTarget, outcome: string, hint: string): RegistryCsv {
  const registry = readRegistryCsv(readCsv(file), target.shape);
  if (registry.problems.length === 0) return registry;
  throw new ExitError(
    EXIT.invalidRegistry,
    `${formatProblems(file, registry.problems)}\n\n${file}: ${plural(registry.problems.length, "problem")} for ${target.source}; ${outcome}`,
    hint,
  );
}

export function registryValidateCommand(csv: string | undefined, specFile: string | undefined, options: SpecOptions, io: Output): number {
  const file = csv ?? DEFAULT_REGISTRY_CSV;
  const target = registryTarget(specFile, options);
  const registry = checked(file, target, "it is not valid", "fix the lines above, then upload it with ./data/upload-data.sh");
  io.out(`${file} is a valid registry for ${target.source}: ${plural(registry.rows.length, "device")}, columns ${registry.header.join(", ")}`);
  return EXIT.ok;
}

export async function registryUploadCommand(
  csv: string | undefined,
  specFile: string | undefined,
  options: SpecOptions & { dryRun?: boolean; ifMissing?: boolean },
  io: Output,
): Promise<number> {
  const file = csv ?? DEFAULT_REGISTRY_CSV;
  const target = registryTarget(specFile, options);
  const registry = checked(
    file,
    target,
    `nothing was uploaded (${target.location} is as it was)`,
    "fix the lines above and upload again; sensor-streaming registry validate checks without uploading",
  );
  const store = openStore(target.location);
  const current = await storeCall("read", store.location, () => store.read());
  const devices = plural(registry.rows.length, "device");
  if (options.ifMissing === true && current !== undefined) {
    io.out(`${store.location} already holds a registry; left as it is (--if-missing). Replace it with ./data/upload-data.sh`);
    return EXIT.ok;
  }
  if (current?.equals(registry.content) === true) {
    io.out(`${store.location} is unchanged: it already holds ${file} (${devices}); nothing written`);
    return EXIT.ok;
  }
  const before = current === undefined ? undefined : readRegistryCsv(current, target.shape);
  const diff = diffRegistries(before, registry, target.shape);
  io.out(`${file} -> ${store.location}${options.dryRun === true ? " (dry run)" : ""}`);
  if (before === undefined) {
    io.out(`  no registry there yet: all ${devices} are new`);
  } else {
    if (before.problems.length > 0)
      io.out(`  (the registry there has ${plural(before.problems.length, "problem")}; its devices are compared as Spark reads them)`);
    const lines = formatDiff(diff, target.shape);
    for (const line of lines) io.out(`  ${line}`);
    if (lines.length === 0) io.out("  the same devices and values; only the file's layout changed (row order, quoting, spacing or line ends)");
  }
  if (options.dryRun !== true) await storeCall("write", store.location, () => store.write(registry.content));
  io.out(`${diffSummary(diff)}; ${options.dryRun === true ? "dry run: nothing written" : `written to ${store.location}`}`);
  return EXIT.ok;
}

export async function registryShowCommand(specFile: string | undefined, options: SpecOptions, io: Output): Promise<number> {
  const target = registryTarget(specFile, options);
  const store = openStore(target.location);
  const current = await storeCall("read", store.location, () => store.read());
  if (current === undefined) {
    // The script uploads for the default spec and profile; another spec or profile is named.
    const args = pipelineArguments(specFile, options);
    throw new ExitError(
      EXIT.fileError,
      `no registry at ${store.location}`,
      args === "" ? "upload one with ./data/upload-data.sh" : `upload one with: sensor-streaming registry upload ${DEFAULT_REGISTRY_CSV}${args}`,
    );
  }
  const registry = readRegistryCsv(current, target.shape);
  if (registry.rows.length > 0) {
    const rows = registry.rows.map((row) => Object.fromEntries(registry.header.map((name, i) => [name, row.values[i] ?? ""])));
    io.out(renderTable(toArrow(rows, registry.header)));
  }
  io.out(`(${plural(registry.rows.length, "device")} in ${store.location})`);
  if (registry.problems.length > 0) {
    io.err(`the registry at ${store.location} has ${plural(registry.problems.length, "problem")}; upload a corrected one with ./data/upload-data.sh:`);
    io.err(formatProblems(store.location, registry.problems));
  }
  return EXIT.ok;
}
