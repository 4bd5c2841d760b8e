/**
 * Where the pipeline reads its registry: a local file or a file on HDFS, read whole and replaced
 * atomically, so that the job never reads half a registry.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { localPathOf } from "../deploy/bind-plan.js";
import { parseHdfsUri, WebHdfs } from "../hdfs/webhdfs.js";

export interface RegistryStore {
  /** The bound location, as the job reads it (`file:///...` or `hdfs://...`). */
  readonly location: string;
  /** The file's content; undefined when there is none. */
  read(): Promise<Buffer | undefined>;
  /** Replaces the file in one step: a reader sees the old or the new content. */
  write(content: Buffer): Promise<void>;
}

/** The store for a location; undefined for a scheme other than file: and hdfs:. */
export function registryStore(location: string, env: NodeJS.ProcessEnv = process.env): RegistryStore | undefined {
  if (parseHdfsUri(location) !== undefined) {
    const hdfs = WebHdfs.forUri(location, env);
    return { location, read: () => hdfs.fs.read(hdfs.path), write: (content) => hdfs.fs.writeAtomically(hdfs.path, content) };
  }
  const file = localPathOf(location);
  if (file === undefined) return undefined;
  return { location, read: async () => readLocal(file), write: async (content) => writeLocalAtomically(file, content) };
}

function readLocal(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** A hidden temporary file in the same folder (so the same file system), renamed over the target. */
function writeLocalAtomically(file: string, content: Buffer): void {
  const dir = path.dirname(file);
  const temporary = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  mkdirSync(dir, { recursive: true });
  try {
    writeFileSync(temporary, content);
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
