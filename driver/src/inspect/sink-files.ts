/**
 * Reads what a Spark file sink committed. The sink lists its committed files in
 * `_spark_metadata`; a file of an aborted micro-batch may lie in the folder unlisted, and readers
 * must ignore it, as Spark's own readers do.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";

export type Row = Record<string, unknown>;

export function committedFiles(dir: string): string[] {
  const metadata = path.join(dir, "_spark_metadata");
  if (!existsSync(metadata)) return [];
  const files = new Set<string>();
  for (const name of readdirSync(metadata).filter((n) => /^\d+(\.compact)?$/.test(n))) {
    for (const line of readFileSync(path.join(metadata, name), "utf8").split("\n").slice(1)) {
      if (line.trim() === "") continue;
      const entry = JSON.parse(line) as { path: string; action?: string };
      if (entry.action === undefined || entry.action === "add") files.add(path.resolve(fileURLToPath(entry.path)));
    }
  }
  return [...files].filter((f) => existsSync(f)).sort();
}

/** Partition values come from the folder names (`event_date=2026-11-02`). */
export function partitionValues(dir: string, file: string): Row {
  return Object.fromEntries(
    path
      .relative(dir, path.dirname(file))
      .split(path.sep)
      .filter((part) => part.includes("="))
      .map((part) => {
        const at = part.indexOf("=");
        return [part.slice(0, at), decodeURIComponent(part.slice(at + 1))];
      }),
  );
}

/** Rows of the committed files; with `newestFiles`, only of that many most recently written. */
export async function readSinkRows(dir: string, newestFiles?: number): Promise<Row[]> {
  let files = committedFiles(dir);
  if (newestFiles !== undefined) files = files.sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs).slice(-newestFiles);
  const rows: Row[] = [];
  for (const file of files) {
    const partition = partitionValues(dir, file);
    for (const row of (await parquetReadObjects({ file: await asyncBufferFromFile(file) })) as Row[]) rows.push({ ...row, ...partition });
  }
  return rows;
}
