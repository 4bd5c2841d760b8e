/**
 * Reads what a Spark file sink committed, on the local disk or on HDFS (through WebHDFS). The
 * sink lists its committed files in `_spark_metadata`; a file of an aborted micro-batch may lie in
 * the folder unlisted, and readers must ignore it, as Spark's own readers do.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parquetReadObjects } from "hyparquet";
import { childOf, storeFor, type FileStore } from "../deploy/file-store.js";
import { localPathOf } from "../deploy/bind-plan.js";
import { parseHdfsUri } from "../hdfs/webhdfs.js";

export type Row = Record<string, unknown>;

/**
 * The files a sink's metadata log adds, as locations of the sink folder's own form. Spark writes
 * each as a URI (`file:/a%20b/...`, `hdfs://nn:9000/a%20b/...`), percent-encoded.
 */
export function committedInLog(log: string, folder: string): string[] {
  const files: string[] = [];
  for (const line of log.split("\n").slice(1)) {
    if (line.trim() === "") continue;
    const entry = JSON.parse(line) as { path: string; action?: string };
    if (entry.action !== undefined && entry.action !== "add") continue;
    if (localPathOf(folder) !== undefined) files.push(path.resolve(fileURLToPath(entry.path)));
    else {
      const hdfs = parseHdfsUri(folder);
      const url = new URL(entry.path);
      files.push(hdfs === undefined ? entry.path : `${hdfs.nameNode}${decodeURIComponent(url.pathname)}`);
    }
  }
  return files;
}

/** The committed files of a sink folder that still exist, sorted, with when each was written. */
export async function committedFiles(store: FileStore, folder: string): Promise<Array<{ file: string; modifiedMs: number }>> {
  const metadata = childOf(folder, "_spark_metadata");
  const logs = ((await store.list(metadata)) ?? []).filter((e) => /^\d+(\.compact)?$/.test(e.name));
  const files = new Set<string>();
  for (const log of logs) for (const file of committedInLog((await store.readText(log.location)) ?? "", folder)) files.add(file);
  // One listing per partition folder (one request on HDFS), not one look per file.
  const byFolder = new Map<string, string[]>();
  for (const file of files) {
    const parent = file.slice(0, file.lastIndexOf("/"));
    byFolder.set(parent, [...(byFolder.get(parent) ?? []), file]);
  }
  const existing: Array<{ file: string; modifiedMs: number }> = [];
  for (const [parent, wanted] of byFolder) {
    const listed = new Map(((await store.list(parent)) ?? []).map((e) => [e.name, e.modifiedMs]));
    for (const file of wanted) {
      const modifiedMs = listed.get(file.slice(file.lastIndexOf("/") + 1));
      if (modifiedMs !== undefined) existing.push({ file, modifiedMs });
    }
  }
  return existing.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/** Partition values come from the folder names (`event_date=2026-11-02`). */
export function partitionValues(dir: string, file: string): Row {
  return Object.fromEntries(
    path.posix
      .relative(dir.replace(/\\/g, "/"), path.posix.dirname(file.replace(/\\/g, "/")))
      .split("/")
      .filter((part) => part.includes("="))
      .map((part) => {
        const at = part.indexOf("=");
        return [part.slice(0, at), decodeURIComponent(part.slice(at + 1))];
      }),
  );
}

/**
 * Rows of the committed files of a sink folder (a local path, `file:` or `hdfs://` location);
 * with `newestFiles`, only of that many most recently written.
 */
export async function readSinkRows(folder: string, newestFiles?: number): Promise<Row[]> {
  const store = storeFor(folder);
  if (store === undefined) throw new Error(`${folder}: the driver reads local folders and hdfs:// only`);
  const dir = localPathOf(folder) ?? folder;
  let committed = await committedFiles(store, dir);
  if (newestFiles !== undefined) committed = committed.sort((a, b) => a.modifiedMs - b.modifiedMs).slice(-newestFiles);
  const rows: Row[] = [];
  for (const { file } of committed) {
    const bytes = await store.readBytes(file);
    if (bytes === undefined) continue;
    const partition = partitionValues(dir, file);
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    for (const row of (await parquetReadObjects({ file: buffer })) as Row[]) rows.push({ ...row, ...partition });
  }
  return rows;
}
