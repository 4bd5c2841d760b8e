/** `inspect refused`: the newest lines InfluxDB refused, from the InfluxDB sinks' dead-letter folders. */
import { planJson } from "../emit/plan-json.js";
import { BindError, bindPlan, localPathOf } from "../deploy/bind-plan.js";
import { storeFor } from "../deploy/file-store.js";
import { HdfsError } from "../hdfs/webhdfs.js";
import { readRefusedRows, REFUSED_COLUMNS } from "../inspect/refused-points.js";
import { renderTable, toArrow } from "../inspect/table-view.js";
import type { Row } from "../inspect/sink-files.js";
import type { PlanNode } from "../plan/nodes.js";
import { numberOption, type Output } from "./commands.js";
import { EXIT, ExitError } from "./exit-codes.js";
import { loadPlan, type SpecOptions } from "./pipeline-input.js";

export interface BoundSinks {
  readonly sinks: ReadonlyArray<{ readonly name: string; readonly influx?: { readonly refusedPath?: string | null } }>;
}

function boundSinks(plan: PlanNode): BoundSinks {
  try {
    return bindPlan(planJson(plan), process.env, process.cwd());
  } catch (error) {
    if (error instanceof BindError) throw new ExitError(EXIT.invalidSpec, error.message, `export ${error.unset.map((v) => `${v}=...`).join(" ")}`);
    throw error;
  }
}

/** The dead-letter folders of the plan's InfluxDB sinks, with the sinks that write to each. */
function refusedFolders(bound: BoundSinks): Map<string, string[]> {
  const folders = new Map<string, string[]>();
  for (const sink of bound.sinks) {
    const location = sink.influx?.refusedPath;
    if (typeof location !== "string" || location === "") continue;
    if (storeFor(location) === undefined)
      throw new ExitError(EXIT.fileError, `the refused points of ${sink.name} are at ${location}; inspect reads local folders and hdfs:// only`);
    const dir = localPathOf(location) ?? location;
    folders.set(dir, [...(folders.get(dir) ?? []), sink.name]);
  }
  return folders;
}

export async function inspectRefusedCommand(
  specFile: string | undefined,
  options: SpecOptions & { limit: string; columns?: string },
  io: Output,
): Promise<number> {
  const { plan } = loadPlan(specFile, options);
  return showRefused(plan.pipeline, boundSinks(plan), options, io);
}

/** The table of the newest refused points of a bound plan's InfluxDB sinks. */
export async function showRefused(pipeline: string, bound: BoundSinks, options: { limit: string; columns?: string }, io: Output): Promise<number> {
  const limit = numberOption(options.limit, "limit", 1);
  const folders = refusedFolders(bound);
  if (folders.size === 0) {
    io.out(
      `the plan of pipeline ${pipeline} names no folder for the points InfluxDB refuses (sinks[].influx.refusedPath in plan.json), so none are kept; ` +
        "refusals are still counted in sensor-streaming status and logged as influx-refused events",
    );
    return EXIT.ok;
  }
  const rows: Row[] = [];
  for (const [dir, sinks] of folders) {
    try {
      rows.push(...(await readRefusedRows(dir, limit, sinks)));
    } catch (error) {
      if (error instanceof HdfsError) throw new ExitError(EXIT.fileError, `cannot read the refused points at ${dir}: ${error.message}`, error.hint);
      throw error;
    }
  }
  const dirs = [...folders.keys()].join(", ");
  if (rows.length === 0) {
    io.out(`no refused points yet in ${dirs}`);
    return EXIT.ok;
  }
  const time = (r: Row): number => (r.refused_at instanceof Date ? r.refused_at.getTime() : 0);
  const newest = rows.sort((a, b) => time(b) - time(a)).slice(0, limit);
  const columns = options.columns?.split(",").map((c) => c.trim()) ?? [...REFUSED_COLUMNS];
  io.out(renderTable(toArrow(newest, columns)));
  io.out(`(the ${newest.length} newest refused lines in ${dirs})`);
  return EXIT.ok;
}
