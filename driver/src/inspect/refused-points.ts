/**
 * An InfluxDB sink's dead letters: the lines InfluxDB refused, which the runner writes as Parquet
 * under `<refusedPath>/sink=<sink>/checkpoint=<id>/batch_id=<n>/` (columns sink, batch_id, line, status, reason,
 * refused_at). Each folder is a batch write of one micro-batch, not a streaming file sink: there
 * is no `_spark_metadata`, and as for Spark's own reader, names starting with `_` or `.`
 * (`_SUCCESS`, `_temporary/`, checksums) are not data.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { partitionValues, type Row } from "./sink-files.js";

export const REFUSED_COLUMNS = ["refused_at", "sink", "batch_id", "status", "reason", "line"] as const;

const isData = (name: string): boolean => !name.startsWith("_") && !name.startsWith(".");

function subfolders(dir: string, key: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name.startsWith(`${key}=`))
    .map((e) => path.join(dir, e.name));
}

/** The data files of the refused points, of the given sinks only when named. */
export function refusedFiles(dir: string, sinks?: readonly string[]): string[] {
  const files: string[] = [];
  for (const sinkDir of subfolders(dir, "sink")) {
    if (sinks !== undefined && !sinks.includes(path.basename(sinkDir).slice("sink=".length))) continue;
    // One folder per checkpoint the query has run on (fresh state starts its batch ids at 0 again).
    for (const batchDir of subfolders(sinkDir, "checkpoint").flatMap((d) => subfolders(d, "batch_id"))) {
      for (const entry of readdirSync(batchDir, { withFileTypes: true })) if (entry.isFile() && isData(entry.name)) files.push(path.join(batchDir, entry.name));
    }
  }
  return files.sort();
}

const time = (value: unknown): number => (value instanceof Date ? value.getTime() : 0);

/** The newest refused points first: the rows of the `limit` most recently written files hold them. */
export async function readRefusedRows(dir: string, limit: number, sinks?: readonly string[]): Promise<Row[]> {
  const files = refusedFiles(dir, sinks)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
    .slice(0, limit);
  const rows: Row[] = [];
  for (const file of files) {
    const partition = partitionValues(dir, file);
    // The files carry sink and batch_id themselves, typed; the folder names only stand in.
    for (const row of (await parquetReadObjects({ file: await asyncBufferFromFile(file) })) as Row[]) rows.push({ ...partition, ...row });
  }
  return rows.sort((a, b) => time(b.refused_at) - time(a.refused_at) || Number(b.batch_id ?? 0) - Number(a.batch_id ?? 0));
}
