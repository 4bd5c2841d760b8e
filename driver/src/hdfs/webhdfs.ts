/**
 * A small client of WebHDFS, the NameNode's REST API, for the few files the driver keeps on HDFS
 * (the sensor registry). It speaks to a Hadoop 3.3 NameNode without security: the user rides
 * along as `user.name` (https://hadoop.apache.org/docs/r3.3.4/hadoop-project-dist/hadoop-hdfs/WebHDFS.html).
 *
 * Reads and writes of file content go through a DataNode: the NameNode answers OPEN and CREATE
 * with a 307 redirect to one. Both steps are done by hand, so that a DataNode this machine cannot
 * reach (a host name only the cluster resolves) is named as such, and so that CREATE's first
 * request carries no body (the protocol sends the data to the DataNode only).
 *
 * Requests go through node:http, not fetch: a Hadoop 3.3 DataNode answers a PUT with an
 * unsolicited `100 Continue` before its `201`, which fetch (undici) rejects as a bad response.
 */
import http from "node:http";
import os from "node:os";

export class HdfsError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "HdfsError";
  }
}

export interface HdfsLocation {
  /** `hdfs://host:port` as written (`hdfs://` when the URI names no NameNode). */
  readonly nameNode: string;
  /** The absolute path, as Hadoop reads it (not percent-decoded), e.g. `/data/registry.csv`. */
  readonly path: string;
}

export interface FileStatus {
  /** Absolute path. */
  readonly path: string;
  readonly type: "FILE" | "DIRECTORY";
  readonly length: number;
  /** Epoch milliseconds. */
  readonly modificationTime: number;
  /**
   * The NameNode's clock when it answered (its `Date` header, whole seconds), where known: an age
   * computed against it does not depend on this machine's clock agreeing with the cluster's.
   */
  readonly answeredAt?: number;
}

export interface WebHdfsOptions {
  /** The `hdfs://` NameNode this client stands for, named in errors. */
  readonly nameNode?: string;
  /** Time-out of each HTTP request, body included (default 30 s). */
  readonly timeoutMs?: number;
}

const HDFS_URI = /^hdfs:(?:\/\/([^/]*))?(.*)$/is;

/**
 * Splits an `hdfs:` URI the way Hadoop's `new Path(String)` does: the text after the authority is
 * the path as it is, with no percent-decoding (`/a%20b` names a file `a%20b`; see the note on
 * toLocation in deploy/bind-plan.ts), repeated slashes collapsed and a trailing slash dropped.
 * Undefined for other schemes.
 */
export function parseHdfsUri(uri: string): HdfsLocation | undefined {
  const match = HDFS_URI.exec(uri);
  if (match === null) return undefined;
  const path = `/${match[2]!}`.replace(/\/+/g, "/");
  return { nameNode: `hdfs://${match[1] ?? ""}`, path: path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path };
}

/**
 * The NameNode's HTTP address: `WEBHDFS_URL` when set (a port forward, a NameNode whose HTTP port
 * is not the default), else the RPC host with Hadoop 3's default HTTP port, 9870
 * (`dfs.namenode.http-address`, https://hadoop.apache.org/docs/r3.3.4/hadoop-project-dist/hadoop-hdfs/hdfs-default.xml).
 */
export function webHdfsBaseFor(nameNode: string, env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.WEBHDFS_URL;
  if (configured !== undefined && configured !== "") return configured.replace(/\/+$/, "");
  const host = /^hdfs:\/\/(?:[^@/]*@)?(\[[^\]]*\]|[^:/]+)/i.exec(nameNode)?.[1];
  if (host === undefined) {
    throw new HdfsError(
      `${nameNode} names no NameNode host, so its WebHDFS address is unknown`,
      "set WEBHDFS_URL to the NameNode's HTTP address, e.g. http://localhost:9870",
    );
  }
  return `http://${host}:9870`;
}

function defaultUser(env: NodeJS.ProcessEnv): string {
  const fromEnv = env.HADOOP_USER_NAME;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  try {
    return os.userInfo().username;
  } catch {
    throw new HdfsError("cannot tell which user to act as on HDFS: this process's user has no name", "set HADOOP_USER_NAME");
  }
}

/** The path for a WebHDFS URL: every segment percent-encoded (spaces, non-ASCII, `?`, `#`, `;`), `/` kept. */
function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

interface RemoteException {
  readonly exception: string;
  readonly message: string;
}

/** What a user can do about the NameNode's refusals that are not about the file itself. */
const HINTS: Readonly<Record<string, string>> = {
  AccessControlException: "the HDFS user lacks permission there: set HADOOP_USER_NAME to a user that has it (e.g. the folder's owner)",
  SafeModeException: "the NameNode is in safe mode (starting up, or out of space); wait for it to leave, see: hdfs dfsadmin -safemode get",
  StandbyException: "this NameNode is a standby; set WEBHDFS_URL to the active NameNode's HTTP address",
  RetriableException: "the NameNode is starting up; try again in a moment",
};

/**
 * What starts HDFS for the target the scripts name in SENSOR_STREAMING_TARGET: the Docker Compose
 * cluster (start-all.sh; its NameNode's HTTP port is published on localhost:9870), the local
 * stack's cluster mode, or both when no target is named.
 */
function unreachableHint(env: NodeJS.ProcessEnv = process.env): string {
  const nameNode = "set WEBHDFS_URL to the NameNode's HTTP address";
  switch (env.SENSOR_STREAMING_TARGET) {
    case "docker":
      return `start the cluster (./infrastructure/start-all.sh) or ${nameNode} (http://localhost:9870 for it)`;
    case "local":
      return `start HDFS (infrastructure/local/stack.sh up --cluster) or ${nameNode}`;
    default:
      return `start HDFS (infrastructure/local/stack.sh up --cluster, or the Docker Compose cluster: ./infrastructure/start-all.sh) or ${nameNode}`;
  }
}

export class WebHdfs {
  readonly baseUrl: string;
  readonly user: string;
  private readonly nameNode: string | undefined;
  private readonly timeoutMs: number;

  /** `user` defaults to `$HADOOP_USER_NAME`, else this process's user, as Hadoop's own client does. */
  constructor(baseUrl: string, user?: string, options: WebHdfsOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.user = user ?? defaultUser(process.env);
    this.nameNode = options.nameNode;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** The client for an `hdfs://` URI and the path in it. */
  static forUri(uri: string, env: NodeJS.ProcessEnv = process.env): { fs: WebHdfs; path: string } {
    const location = parseHdfsUri(uri);
    if (location === undefined) throw new HdfsError(`${uri} is not an hdfs:// location`);
    return { fs: new WebHdfs(webHdfsBaseFor(location.nameNode, env), defaultUser(env), { nameNode: location.nameNode }), path: location.path };
  }

  /** The status of a file or folder; undefined when it does not exist. */
  async status(path: string): Promise<FileStatus | undefined> {
    const response = await this.call("GET", path, "GETFILESTATUS");
    if (await this.missing(response, `GETFILESTATUS ${path}`)) return undefined;
    const body = (await this.json(response, `GETFILESTATUS ${path}`)) as { FileStatus: WireStatus };
    const date = Date.parse(response.headers.get("date") ?? "");
    return { ...toStatus(path, body.FileStatus), ...(Number.isNaN(date) ? {} : { answeredAt: date }) };
  }

  /**
   * The entries of a folder, sorted by name; undefined when it does not exist. For a file,
   * WebHDFS lists the file itself.
   */
  async list(path: string): Promise<FileStatus[] | undefined> {
    const response = await this.call("GET", path, "LISTSTATUS");
    if (await this.missing(response, `LISTSTATUS ${path}`)) return undefined;
    const body = (await this.json(response, `LISTSTATUS ${path}`)) as { FileStatuses: { FileStatus: WireStatus[] } };
    const base = path === "/" ? "" : path;
    return body.FileStatuses.FileStatus.map((entry) => toStatus(entry.pathSuffix === "" ? path : `${base}/${entry.pathSuffix}`, entry)).sort((a, b) =>
      a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
    );
  }

  /** The content of a file; undefined when it does not exist. */
  async read(path: string): Promise<Buffer | undefined> {
    const redirect = await this.call("GET", path, "OPEN");
    if (await this.missing(redirect, `OPEN ${path}`)) return undefined;
    const response = await this.followRedirect(redirect, "GET", `OPEN ${path}`);
    if (!response.ok) {
      // The DataNode, not the NameNode, finds out that the path is a folder.
      throw await this.failure(response, `OPEN ${path}`);
    }
    return Buffer.from(await this.body(response, `OPEN ${path}`));
  }

  /**
   * Creates (or with `overwrite`, replaces) a file, and its parent folders as HDFS does. Two
   * steps: the NameNode names a DataNode (307, no data sent yet), the data goes to that DataNode.
   */
  async write(path: string, data: Buffer | string, overwrite = false): Promise<void> {
    const what = `CREATE ${path}`;
    const redirect = await this.call("PUT", path, "CREATE", { overwrite: String(overwrite) });
    const response = await this.followRedirect(redirect, "PUT", what, typeof data === "string" ? Buffer.from(data) : data);
    if (response.status !== 201) throw await this.failure(response, what);
    await this.body(response, what);
  }

  /**
   * Replaces a file so that a reader sees the old or the new content, never a part: the data goes
   * to `<dir>/.<name>.<pid>.tmp` (hidden from Spark and Hadoop's input listings by its leading
   * dot), which is then renamed over the target. The temporary file is removed on failure.
   */
  async writeAtomically(path: string, data: Buffer | string): Promise<void> {
    const slash = path.lastIndexOf("/");
    const name = path.slice(slash + 1);
    if (slash < 0 || name === "") throw new HdfsError(`cannot write "${path}": not an absolute file path`);
    const temporary = `${path.slice(0, slash)}/.${name}.${process.pid}.tmp`;
    try {
      await this.write(temporary, data, true);
      await this.rename(temporary, path, true);
    } catch (error) {
      // The write's own error is the one to report; a failed clean-up must not replace it.
      await this.delete(temporary).catch(() => false);
      throw error;
    }
  }

  /**
   * Renames a file or folder. Without `overwrite` HDFS's rename applies: an existing folder
   * `to` receives `from` inside it, and WebHDFS answers `{"boolean": false}` when nothing was
   * renamed. With `overwrite` (`renameoptions=OVERWRITE`) WebHDFS calls rename2, which replaces an
   * existing file `to` in one step, answers with an empty body and reports every failure as an
   * exception (case RENAME in
   * https://github.com/apache/hadoop/blob/rel/release-3.3.4/hadoop-hdfs-project/hadoop-hdfs/src/main/java/org/apache/hadoop/hdfs/server/namenode/web/resources/NamenodeWebHdfsMethods.java).
   */
  async rename(from: string, to: string, overwrite = false): Promise<void> {
    checkPath(to);
    const what = `RENAME ${from} to ${to}`;
    const response = await this.call("PUT", from, "RENAME", { destination: to, ...(overwrite ? { renameoptions: "OVERWRITE" } : {}) });
    const text = await this.text(response, what);
    if (text.trim() === "") return;
    if (parseJson<{ boolean?: boolean }>(text)?.boolean === false) {
      throw new HdfsError(`HDFS did not rename ${from} to ${to}`, `${from} may be missing, or ${to} may exist or lack its parent folder`);
    }
  }

  /** Creates a folder and its parents; succeeds when it exists. */
  async mkdirs(path: string): Promise<void> {
    const response = await this.call("PUT", path, "MKDIRS");
    const body = (await this.json(response, `MKDIRS ${path}`)) as { boolean: boolean };
    if (!body.boolean) throw new HdfsError(`HDFS did not create the folder ${path}`);
  }

  /** Deletes a file or folder (a non-empty folder only with `recursive`); false when it did not exist. */
  async delete(path: string, recursive = false): Promise<boolean> {
    const response = await this.call("DELETE", path, "DELETE", { recursive: String(recursive) });
    const body = (await this.json(response, `DELETE ${path}`)) as { boolean: boolean };
    return body.boolean;
  }

  private async call(method: string, path: string, op: string, params: Readonly<Record<string, string>> = {}): Promise<Response> {
    checkPath(path);
    const query = Object.entries({ op, "user.name": this.user, ...params })
      .map(([key, value]) => `${key}=${encodeURIComponent(value)}`)
      .join("&");
    return this.fetch(`${this.baseUrl}/webhdfs/v1${encodePath(path)}?${query}`, method, `${op} ${path}`);
  }

  private async fetch(url: string, method: string, what: string, body?: Buffer): Promise<Response> {
    try {
      return await request(url, method, this.timeoutMs, body);
    } catch (error) {
      throw this.unreachable(error, url, what);
    }
  }

  /** The DataNode's answer to the request the NameNode redirected (307 with a Location). */
  private async followRedirect(redirect: Response, method: string, what: string, body?: Buffer): Promise<Response> {
    const location = redirect.headers.get("location");
    if (redirect.status !== 307 || location === null) {
      if (!redirect.ok) throw await this.failure(redirect, what);
      throw new HdfsError(
        `WebHDFS at ${this.baseUrl} answered ${what} with HTTP ${redirect.status} instead of a redirect to a DataNode`,
        "check that WEBHDFS_URL is the NameNode's HTTP address (not HttpFS or a proxy)",
      );
    }
    await redirect.arrayBuffer();
    return this.fetch(new URL(location, this.baseUrl).href, method, what, body);
  }

  private unreachable(error: unknown, url: string, what: string): HdfsError {
    const cause = error as Error & { cause?: { code?: string; message?: string } };
    const origin = new URL(url).origin;
    const nameNode = origin === new URL(this.baseUrl).origin;
    if (cause.name === "TimeoutError") {
      return new HdfsError(
        `${nameNode ? `WebHDFS at ${this.baseUrl}` : `the DataNode at ${origin}`} did not answer ${what} within ${this.timeoutMs / 1000} s`,
        nameNode ? "is the NameNode overloaded or still starting? Try again" : "is the DataNode overloaded or still starting? Try again",
      );
    }
    const reason = cause.cause?.code ?? cause.cause?.message ?? cause.message;
    if (nameNode) {
      return new HdfsError(
        `cannot reach WebHDFS at ${this.baseUrl}${this.nameNode === undefined ? "" : ` (for ${this.nameNode})`}: ${reason}`,
        unreachableHint(),
      );
    }
    return new HdfsError(
      `cannot reach the DataNode at ${origin} that WebHDFS sent ${what} to: ${reason}`,
      "the NameNode names DataNodes by their host name; it must resolve and be reachable from this machine " +
        "(an /etc/hosts entry, or run where the cluster's names resolve)",
    );
  }

  /** True for the NameNode's 404 FileNotFoundException (the body is consumed); false otherwise. */
  private async missing(response: Response, what: string): Promise<boolean> {
    if (response.status !== 404) return false;
    const text = Buffer.from(await this.body(response, what)).toString("utf8");
    if (remoteException(text)?.exception === "FileNotFoundException") return true;
    throw this.error(response, text, what);
  }

  private async body(response: Response, what: string): Promise<ArrayBuffer> {
    try {
      return await response.arrayBuffer();
    } catch (error) {
      throw this.unreachable(error, response.url, what);
    }
  }

  private async text(response: Response, what: string): Promise<string> {
    if (!response.ok) throw await this.failure(response, what);
    return Buffer.from(await this.body(response, what)).toString("utf8");
  }

  private async json(response: Response, what: string): Promise<unknown> {
    const text = await this.text(response, what);
    const parsed = parseJson<unknown>(text);
    if (parsed === undefined) throw new HdfsError(`WebHDFS at ${this.baseUrl} answered ${what} with something other than JSON: ${shortText(text)}`);
    return parsed;
  }

  private async failure(response: Response, what: string): Promise<HdfsError> {
    return this.error(response, Buffer.from(await this.body(response, what)).toString("utf8"), what);
  }

  private error(response: Response, text: string, what: string): HdfsError {
    const remote = remoteException(text);
    if (remote !== undefined) return new HdfsError(`WebHDFS ${what}: ${remote.exception}: ${remote.message}`, HINTS[remote.exception]);
    return new HdfsError(
      `WebHDFS at ${this.baseUrl} answered ${what} with HTTP ${response.status}` +
        `${response.statusText === "" ? "" : ` ${response.statusText}`}: ${shortText(text)}`,
    );
  }
}

interface WireStatus {
  readonly pathSuffix: string;
  readonly type: "FILE" | "DIRECTORY" | "SYMLINK";
  readonly length: number;
  readonly modificationTime: number;
}

function toStatus(path: string, wire: WireStatus): FileStatus {
  return { path, type: wire.type === "DIRECTORY" ? "DIRECTORY" : "FILE", length: wire.length, modificationTime: wire.modificationTime };
}

function checkPath(path: string): void {
  if (!path.startsWith("/")) throw new HdfsError(`WebHDFS needs an absolute path, not "${path}"`);
}

function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/** The exception of a WebHDFS error body: `{"RemoteException": {"exception", "javaClassName", "message"}}`. */
function remoteException(text: string): RemoteException | undefined {
  const remote = parseJson<{ RemoteException?: Partial<RemoteException> }>(text)?.RemoteException;
  return typeof remote?.exception === "string" ? { exception: remote.exception, message: remote.message ?? "" } : undefined;
}

/** A proxy's or Jetty's error page as one short line. */
function shortText(text: string): string {
  const plain = text
    .replace(/<[^>]*>/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return plain === "" ? "(no message)" : plain.length > 300 ? `${plain.slice(0, 299)}…` : plain;
}

/**
 * One HTTP exchange as a fetch Response (the body read whole; redirects not followed). Errors look
 * like fetch's: a TimeoutError, or a TypeError whose cause carries the socket's code.
 */
function request(url: string, method: string, timeoutMs: number, body?: Buffer): Promise<Response> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders =
      body === undefined ? { "Content-Length": 0 } : { "Content-Type": "application/octet-stream", "Content-Length": body.length };
    const req = http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", (error) => reject(Object.assign(new TypeError("fetch failed"), { cause: error })));
      res.on("end", () => {
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(", ") : value);
        }
        const status = res.statusCode ?? 500;
        const content = [101, 204, 205, 304].includes(status) ? null : Buffer.concat(chunks);
        const response = new Response(content, { status, statusText: res.statusMessage ?? "", headers: responseHeaders });
        Object.defineProperty(response, "url", { value: url });
        resolve(response);
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { name: "TimeoutError" })));
    req.on("error", (error) => reject(error.name === "TimeoutError" ? error : Object.assign(new TypeError("fetch failed"), { cause: error })));
    req.end(body);
  });
}
