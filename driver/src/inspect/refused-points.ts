/**
 * An InfluxDB sink's dead letters: the lines InfluxDB refused, which the runner writes as Parquet
 * under `<refusedPath>/sink=<sink>/checkpoint=<id>/batch_id=<n>/` (columns sink, batch_id, line, status, reason,
 * refused_at). Each folder is a batch write of one micro-batch, not a streaming file sink: there
 * is no `_spark_metadata`, and as for Spark's own reader, names starting with `_` or `.`
 * (`_SUCCESS`, `_temporary/`, checksums) are not data. On the local disk or on HDFS.
 */
import { parquetReadObjects } from "hyparquet";
import { localPathOf } from "../deploy/bind-plan.js";
import { storeFor, type FileStore, type StoreEntry } from "../deploy/file-store.js";
import { partitionValues, type Row } from "./sink-files.js";

export const REFUSED_COLUMNS = ["refused_at", "sink", "batch_id", "status", "reason", "line"] as const;

const isData = (name: string): boolean => !name.startsWith("_") && !name.startsWith(".");

async function subfolders(store: FileStore, dir: string, key: string): Promise<StoreEntry[]> {
  return ((await store.list(dir)) ?? []).filter((e) => e.directory && e.name.startsWith(`${key}=`));
}

/** The data files of the refused points (newest first), of the given sinks only when named. */
export async function refusedFiles(store: FileStore, dir: string, sinks?: readonly string[]): Promise<StoreEntry[]> {
  const files: StoreEntry[] = [];
  for (const sinkDir of await subfolders(store, dir, "sink")) {
    if (sinks !== undefined && !sinks.includes(sinkDir.name.slice("sink=".length))) continue;
    // One folder per checkpoint the query has run on (fresh state starts its batch ids at 0 again).
    for (const checkpointDir of await subfolders(store, sinkDir.location, "checkpoint")) {
      for (const batchDir of await subfolders(store, checkpointDir.location, "batch_id")) {
        for (const entry of (await store.list(batchDir.location)) ?? []) if (!entry.directory && isData(entry.name)) files.push(entry);
      }
    }
  }
  return files.sort((a, b) => b.modifiedMs - a.modifiedMs || a.location.localeCompare(b.location));
}

const time = (value: unknown): number => (value instanceof Date ? value.getTime() : 0);

/** The newest refused points first: the rows of the `limit` most recently written files hold them. */
export async function readRefusedRows(folder: string, limit: number, sinks?: readonly string[]): Promise<Row[]> {
  const store = storeFor(folder);
  if (store === undefined) throw new Error(`${folder}: the driver reads local folders and hdfs:// only`);
  const dir = localPathOf(folder) ?? folder;
  const rows: Row[] = [];
  for (const file of (await refusedFiles(store, dir, sinks)).slice(0, limit)) {
    const bytes = await store.readBytes(file.location);
    if (bytes === undefined) continue;
    const partition = partitionValues(dir, file.location);
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    // The files carry sink and batch_id themselves, typed; the folder names only stand in.
    for (const row of (await parquetReadObjects({ file: buffer })) as Row[]) rows.push({ ...partition, ...row });
  }
  return rows.sort((a, b) => time(b.refused_at) - time(a.refused_at) || Number(b.batch_id ?? 0) - Number(a.batch_id ?? 0));
}
