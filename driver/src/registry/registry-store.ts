/**
 * Where the pipeline reads its registry: a local file or a file on HDFS, read whole and replaced
 * atomically (deploy/file-store.ts), so that the job never reads half a registry.
 */
import { storeFor } from "../deploy/file-store.js";

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
  const store = storeFor(location, env);
  if (store === undefined) return undefined;
  return { location, read: () => store.readBytes(location), write: (content) => store.write(location, content) };
}
