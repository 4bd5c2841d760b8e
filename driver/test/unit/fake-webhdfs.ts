/**
 * A FAKE WebHDFS on a free local port (node:http, files in memory), for unit tests of our WebHDFS
 * client and of the commands that use it. It is not Hadoop: it answers the operations our client
 * uses the way Hadoop 3.3's NameNode and DataNode answer them, as documented
 * (https://hadoop.apache.org/docs/r3.3.4/hadoop-project-dist/hadoop-hdfs/WebHDFS.html) and as
 * NamenodeWebHdfsMethods implements them: OPEN and CREATE redirect (307) to a DataNode, which
 * this fake serves under /datanode/; RENAME with renameoptions answers an empty body; errors are
 * RemoteException JSON with Hadoop's status for the exception (FileNotFoundException 404,
 * IOExceptions 403, IllegalArgumentException 400). Behaviour of a real HDFS is tested against one.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeEntry {
  readonly type: "FILE" | "DIRECTORY";
  readonly data: Buffer;
  readonly modificationTime: number;
}

export interface FakeRequest {
  readonly server: "namenode" | "datanode";
  readonly method: string;
  readonly op: string;
  /** The decoded path. */
  readonly path: string;
  /** The request URL as sent, percent-encoding included. */
  readonly url: string;
  readonly user: string | null;
  readonly bodyLength: number;
}

export interface FakeWebHdfs {
  /** The NameNode's HTTP address, as WEBHDFS_URL would name it. */
  readonly url: string;
  /** Every file and folder by absolute path; "/" always exists. */
  readonly entries: Map<string, FakeEntry>;
  readonly requests: FakeRequest[];
  /** The content of a file, as text; undefined when there is none. */
  file(path: string): string | undefined;
  /** The next request of `op` to the NameNode fails with this exception. */
  failNext(op: string, status: number, exception: string, message: string): void;
  /** Where OPEN and CREATE are redirected to (default: this server's /datanode/). */
  dataNode: string;
  close(): Promise<void>;
}

const PREFIX = "/webhdfs/v1";
const DATANODE_PREFIX = `/datanode${PREFIX}`;

class RemoteError extends Error {
  constructor(
    readonly status: number,
    readonly exception: string,
    message: string,
  ) {
    super(message);
  }
}

const notFound = (message: string) => new RemoteError(404, "FileNotFoundException", message);

function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? "/" : path.slice(0, slash);
}

function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

export async function fakeWebHdfs(): Promise<FakeWebHdfs> {
  const entries = new Map<string, FakeEntry>([["/", { type: "DIRECTORY", data: Buffer.alloc(0), modificationTime: 0 }]]);
  const requests: FakeRequest[] = [];
  const failures = new Map<string, RemoteError>();
  let clock = 1_700_000_000_000;
  const now = () => (clock += 1000);

  const isDir = (path: string) => entries.get(path)?.type === "DIRECTORY";
  const children = (dir: string) => [...entries.keys()].filter((p) => p !== "/" && parentOf(p) === dir);

  function makeDirs(path: string): void {
    if (path === "/" || isDir(path)) return;
    if (entries.has(path)) throw new RemoteError(403, "ParentNotDirectoryException", `Parent path is not a directory: ${path}`);
    makeDirs(parentOf(path));
    entries.set(path, { type: "DIRECTORY", data: Buffer.alloc(0), modificationTime: now() });
  }

  function wireStatus(path: string, suffix: string) {
    const entry = entries.get(path)!;
    return {
      accessTime: entry.modificationTime,
      blockSize: 134217728,
      childrenNum: entry.type === "DIRECTORY" ? children(path).length : 0,
      fileId: 16386,
      group: "supergroup",
      length: entry.data.length,
      modificationTime: entry.modificationTime,
      owner: "hdfs",
      pathSuffix: suffix,
      permission: entry.type === "DIRECTORY" ? "755" : "644",
      replication: entry.type === "DIRECTORY" ? 0 : 1,
      storagePolicy: 0,
      type: entry.type,
    };
  }

  /** Moves a file or folder with everything below it. */
  function move(from: string, to: string): void {
    for (const path of [...entries.keys()].filter((p) => p === from || p.startsWith(`${from}/`))) {
      const entry = entries.get(path)!;
      entries.delete(path);
      entries.set(to + path.slice(from.length), entry);
    }
  }

  /** FSDirRenameOp.renameTo without options: false instead of an exception. */
  function rename(from: string, to: string): boolean {
    if (!entries.has(from) || from === "/") return false;
    const target = isDir(to) ? `${to === "/" ? "" : to}/${from.slice(from.lastIndexOf("/") + 1)}` : to;
    if (entries.has(target) || !isDir(parentOf(target)) || target.startsWith(`${from}/`)) return false;
    move(from, target);
    return true;
  }

  /** FSDirRenameOp with Options.Rename.OVERWRITE: replaces a file or an empty folder, else throws. */
  function renameOverwrite(from: string, to: string): void {
    const source = entries.get(from);
    if (source === undefined) throw notFound(`rename source ${from} is not found.`);
    if (!entries.has(parentOf(to))) throw notFound(`rename destination parent ${parentOf(to)} not found.`);
    if (!isDir(parentOf(to))) throw new RemoteError(403, "ParentNotDirectoryException", `rename destination parent ${parentOf(to)} is a file.`);
    const existing = entries.get(to);
    if (existing !== undefined) {
      if ((existing.type === "DIRECTORY") !== (source.type === "DIRECTORY")) {
        throw new RemoteError(403, "IOException", `Source ${from} and destination ${to} must both be directories`);
      }
      if (existing.type === "DIRECTORY" && children(to).length > 0)
        throw new RemoteError(403, "IOException", `rename destination directory is not empty: ${to}`);
      entries.delete(to);
    }
    move(from, to);
  }

  function nameNode(method: string, op: string, path: string, query: URLSearchParams, response: ServerResponse): void {
    const json = (body: unknown) => {
      response.writeHead(200, { "Content-Type": "application/json" });
      response.end(JSON.stringify(body));
    };
    const redirect = () => {
      // As NamenodeWebHdfsMethods.redirectURI: the op, the user, the NameNode's RPC address and the other parameters.
      const params = new URLSearchParams(query);
      params.set("namenoderpcaddress", "localhost:9000");
      if (op === "OPEN") params.set("offset", "0");
      response.writeHead(307, { Location: `${fake.dataNode}${PREFIX}${encodePath(path)}?${params.toString()}`, "Content-Type": "application/octet-stream" });
      response.end();
    };
    switch (`${method} ${op}`) {
      case "GET GETFILESTATUS":
        if (!entries.has(path)) throw notFound(`File does not exist: ${path}`);
        return json({ FileStatus: wireStatus(path, "") });
      case "GET LISTSTATUS":
        if (!entries.has(path)) throw notFound(`File ${path} does not exist.`);
        return json({
          FileStatuses: {
            FileStatus: isDir(path)
              ? children(path)
                  .sort()
                  .map((p) => wireStatus(p, p.slice(p.lastIndexOf("/") + 1)))
              : [wireStatus(path, "")],
          },
        });
      case "GET OPEN":
        // The NameNode checks only that the path exists; the DataNode finds out it is a folder.
        if (!entries.has(path)) throw notFound(`File ${path} not found.`);
        return redirect();
      case "PUT CREATE":
        return redirect();
      case "PUT MKDIRS":
        makeDirs(path);
        return json({ boolean: true });
      case "PUT RENAME": {
        const to = query.get("destination");
        if (to === null || !to.startsWith("/")) throw new RemoteError(400, "IllegalArgumentException", 'Invalid value for webhdfs parameter "destination"');
        if (query.get("renameoptions") === "OVERWRITE") {
          renameOverwrite(path, to);
          response.writeHead(200, { "Content-Type": "application/octet-stream" });
          return void response.end();
        }
        return json({ boolean: rename(path, to) });
      }
      case "DELETE DELETE": {
        if (!entries.has(path) || path === "/") return json({ boolean: false });
        if (isDir(path) && children(path).length > 0 && query.get("recursive") !== "true") {
          throw new RemoteError(403, "PathIsNotEmptyDirectoryException", `\`${path} is non empty': Directory is not empty`);
        }
        for (const p of [...entries.keys()].filter((k) => k === path || k.startsWith(`${path}/`))) entries.delete(p);
        return json({ boolean: true });
      }
      default:
        throw new RemoteError(400, "IllegalArgumentException", `Invalid value for webhdfs parameter "op": ${op}`);
    }
  }

  function dataNode(method: string, op: string, path: string, query: URLSearchParams, body: Buffer, response: ServerResponse): void {
    if (method === "GET" && op === "OPEN") {
      const entry = entries.get(path);
      if (entry === undefined) throw notFound(`File does not exist: ${path}`);
      if (entry.type === "DIRECTORY") throw notFound(`Path is not a file: ${path}`);
      response.writeHead(200, { "Content-Type": "application/octet-stream" });
      return void response.end(entry.data);
    }
    if (method === "PUT" && op === "CREATE") {
      const existing = entries.get(path);
      if (existing?.type === "DIRECTORY") throw new RemoteError(403, "FileAlreadyExistsException", `${path} already exists as a directory`);
      if (existing !== undefined && query.get("overwrite") !== "true")
        throw new RemoteError(403, "FileAlreadyExistsException", `${path} for client 127.0.0.1 already exists`);
      makeDirs(parentOf(path));
      entries.set(path, { type: "FILE", data: body, modificationTime: now() });
      response.writeHead(201, { Location: `hdfs://localhost:9000${encodePath(path)}`, "Content-Length": "0" });
      return void response.end();
    }
    throw new RemoteError(400, "IllegalArgumentException", `Invalid operation ${method} ${op}`);
  }

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    void (async () => {
      const url = new URL(request.url ?? "/", "http://fake");
      const isDataNode = url.pathname.startsWith(DATANODE_PREFIX);
      const raw = url.pathname.slice(isDataNode ? DATANODE_PREFIX.length : PREFIX.length);
      const path = raw.split("/").map(decodeURIComponent).join("/") || "/";
      const op = url.searchParams.get("op") ?? "";
      const body = await readBody(request);
      requests.push({
        server: isDataNode ? "datanode" : "namenode",
        method: request.method ?? "",
        op,
        path,
        url: request.url ?? "",
        user: url.searchParams.get("user.name"),
        bodyLength: body.length,
      });
      try {
        const failure = isDataNode ? undefined : failures.get(op);
        if (failure !== undefined) {
          failures.delete(op);
          throw failure;
        }
        if (isDataNode) dataNode(request.method ?? "", op, path, url.searchParams, body, response);
        else nameNode(request.method ?? "", op, path, url.searchParams, response);
      } catch (error) {
        if (!(error instanceof RemoteError)) throw error;
        response.writeHead(error.status, { "Content-Type": "application/json" });
        response.end(
          JSON.stringify({ RemoteException: { exception: error.exception, javaClassName: `org.apache.hadoop.${error.exception}`, message: error.message } }),
        );
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const fake: FakeWebHdfs = {
    url,
    entries,
    requests,
    dataNode: `${url}/datanode`,
    file: (path) => {
      const entry = entries.get(path);
      return entry?.type === "FILE" ? entry.data.toString("utf8") : undefined;
    },
    failNext: (op, status, exception, message) => void failures.set(op, new RemoteError(status, exception, message)),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return fake;
}
