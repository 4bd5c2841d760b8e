/** Reads every Parquet file Spark wrote under a folder (partition folders included). */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";

function parquetFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) {
      if (name !== "_spark_metadata") out.push(...parquetFiles(file));
    } else if (name.endsWith(".parquet")) out.push(file);
  }
  return out.sort();
}

/**
 * Rows of the files the sink committed. Spark's file sink lists committed files in
 * `_spark_metadata`; a file of an aborted batch may lie in the folder without being listed, so
 * only listed files count, as they do for any reader of a streaming sink's output.
 */
export async function readSinkRows(dir: string): Promise<Array<Record<string, unknown>>> {
  const committed = committedFiles(dir);
  const rows: Array<Record<string, unknown>> = [];
  for (const file of parquetFiles(dir).filter((f) => committed.has(path.resolve(f)))) {
    const partition = Object.fromEntries(
      path
        .relative(dir, path.dirname(file))
        .split(path.sep)
        .filter((p) => p.includes("="))
        .map((p) => p.split("=") as [string, string]),
    );
    const buffer = await asyncBufferFromFile(file);
    for (const row of (await parquetReadObjects({ file: buffer })) as Array<Record<string, unknown>>) rows.push({ ...row, ...partition });
  }
  return rows;
}

function committedFiles(dir: string): Set<string> {
  const metadata = path.join(dir, "_spark_metadata");
  const files = new Set<string>();
  for (const name of readdirSync(metadata).filter((n) => /^\d+(\.compact)?$/.test(n))) {
    const text = readFileSync(path.join(metadata, name), "utf8");
    for (const line of text.split("\n").slice(1)) {
      if (line.trim() === "") continue;
      const entry = JSON.parse(line) as { path: string };
      files.add(path.resolve(fileURLToPath(entry.path)));
    }
  }
  return files;
}

