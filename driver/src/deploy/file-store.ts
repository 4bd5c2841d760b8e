/**
 * The files the driver itself reads and writes beside a running job (checkpoint records, the stop
 * marker and heartbeat, the sinks' committed Parquet): on the local disk, or on HDFS through
 * WebHDFS, so that nothing here needs Spark or a Hadoop client. A location is what the bound plan
 * holds: a local path, a `file:` location, or `hdfs://namenode:port/path`; like Hadoop, a path
 * is taken literally (never percent-decoded).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { localPathOf } from "./bind-plan.js";
import { WebHdfs, parseHdfsUri } from "../hdfs/webhdfs.js";

export interface StoreEntry {
  readonly name: string;
  /** The entry's location, in the same form as the folder's. */
  readonly location: string;
  readonly directory: boolean;
  readonly modifiedMs: number;
}

export interface FileStore {
  /** "local disk" or "HDFS at hdfs://host:port", for messages. */
  readonly description: string;
  readBytes(location: string): Promise<Buffer | undefined>;
  readText(location: string): Promise<string | undefined>;
  /**
   * Written whole or not at all: a hidden temporary file beside the target (a leading dot, which
   * Spark's and Hadoop's input listings skip) renamed over it, removed if the write fails.
   */
  write(location: string, data: Buffer | string): Promise<void>;
  exists(location: string): Promise<boolean>;
  /** When the file was last written (ms since the epoch), or undefined when it is missing. */
  modifiedMs(location: string): Promise<number | undefined>;
  /**
   * How long ago the file was last written, by the file system's own clock where it tells it (the
   * NameNode's), or undefined when it is missing.
   */
  ageMs(location: string): Promise<number | undefined>;
  /** Creates a folder (and its parents); a folder marker needs no DataNode on HDFS. */
  mkdirs(location: string): Promise<void>;
  list(location: string): Promise<StoreEntry[] | undefined>;
  remove(location: string): Promise<void>;
}

/** A child of a folder location, in the same form. */
export function childOf(location: string, name: string): string {
  return `${location.replace(/\/+$/, "")}/${name}`;
}

class LocalStore implements FileStore {
  readonly description = "local disk";

  private file(location: string): string {
    const file = localPathOf(location);
    if (file === undefined) throw new Error(`${location} is not a local path`);
    return file;
  }

  async readBytes(location: string): Promise<Buffer | undefined> {
    const file = this.file(location);
    return existsSync(file) ? readFileSync(file) : undefined;
  }

  async readText(location: string): Promise<string | undefined> {
    return (await this.readBytes(location))?.toString("utf8");
  }

  async write(location: string, data: Buffer | string): Promise<void> {
    const file = this.file(location);
    const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
    mkdirSync(path.dirname(file), { recursive: true });
    try {
      writeFileSync(temporary, data);
      renameSync(temporary, file);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
  }

  async exists(location: string): Promise<boolean> {
    return existsSync(this.file(location));
  }

  async modifiedMs(location: string): Promise<number | undefined> {
    return statSync(this.file(location), { throwIfNoEntry: false })?.mtimeMs;
  }

  async ageMs(location: string): Promise<number | undefined> {
    const modified = await this.modifiedMs(location);
    return modified === undefined ? undefined : Date.now() - modified;
  }

  async mkdirs(location: string): Promise<void> {
    mkdirSync(this.file(location), { recursive: true });
  }

  async list(location: string): Promise<StoreEntry[] | undefined> {
    const dir = this.file(location);
    if (!existsSync(dir)) return undefined;
    return readdirSync(dir, { withFileTypes: true })
      .map((entry) => {
        const full = path.join(dir, entry.name);
        return {
          name: entry.name,
          location: childOf(location, entry.name),
          directory: entry.isDirectory(),
          modifiedMs: statSync(full, { throwIfNoEntry: false })?.mtimeMs ?? 0,
        };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async remove(location: string): Promise<void> {
    rmSync(this.file(location), { force: true, recursive: true });
  }
}

class HdfsStore implements FileStore {
  constructor(
    private readonly fs: WebHdfs,
    readonly description: string,
  ) {}

  private path(location: string): string {
    const parsed = parseHdfsUri(location);
    if (parsed === undefined) throw new Error(`${location} is not an hdfs:// location`);
    return parsed.path;
  }

  readBytes(location: string): Promise<Buffer | undefined> {
    return this.fs.read(this.path(location));
  }

  async readText(location: string): Promise<string | undefined> {
    return (await this.readBytes(location))?.toString("utf8");
  }

  write(location: string, data: Buffer | string): Promise<void> {
    return this.fs.writeAtomically(this.path(location), data);
  }

  async exists(location: string): Promise<boolean> {
    return (await this.fs.status(this.path(location))) !== undefined;
  }

  async modifiedMs(location: string): Promise<number | undefined> {
    return (await this.fs.status(this.path(location)))?.modificationTime;
  }

  async ageMs(location: string): Promise<number | undefined> {
    const status = await this.fs.status(this.path(location));
    return status === undefined ? undefined : (status.answeredAt ?? Date.now()) - status.modificationTime;
  }

  mkdirs(location: string): Promise<void> {
    return this.fs.mkdirs(this.path(location));
  }

  async list(location: string): Promise<StoreEntry[] | undefined> {
    const entries = await this.fs.list(this.path(location));
    return entries?.map((entry) => {
      const name = entry.path.slice(entry.path.lastIndexOf("/") + 1);
      return { name, location: childOf(location, name), directory: entry.type === "DIRECTORY", modifiedMs: entry.modificationTime };
    });
  }

  async remove(location: string): Promise<void> {
    await this.fs.delete(this.path(location), true);
  }
}

const LOCAL = new LocalStore();

/** The store that holds a location, or undefined when the driver cannot reach it (e.g. s3a:). */
export function storeFor(location: string, env: NodeJS.ProcessEnv = process.env): FileStore | undefined {
  if (localPathOf(location) !== undefined) return LOCAL;
  const hdfs = parseHdfsUri(location);
  if (hdfs === undefined) return undefined;
  const { fs } = WebHdfs.forUri(location, env);
  return new HdfsStore(fs, `HDFS at ${hdfs.nameNode}`);
}

export function isHdfs(location: string): boolean {
  return parseHdfsUri(location) !== undefined;
}
