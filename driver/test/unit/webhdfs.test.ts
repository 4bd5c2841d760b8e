/**
 * Our WebHDFS client: URIs and addresses, and how it handles what comes back over HTTP, against a
 * FAKE WebHDFS (fake-webhdfs.ts, in memory). It tests our side of the protocol, not Hadoop; a suite
 * against a real HDFS follows.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HdfsError, parseHdfsUri, WebHdfs, webHdfsBaseFor } from "../../src/hdfs/webhdfs.js";
import { fakeWebHdfs, type FakeWebHdfs } from "./fake-webhdfs.js";

async function failure(call: Promise<unknown>): Promise<HdfsError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HdfsError);
  return error as HdfsError;
}

/** A local port nothing listens on (a port fetch does not block, unlike 1). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("parseHdfsUri", () => {
  it("splits the NameNode from the path", () => {
    expect(parseHdfsUri("hdfs://namenode:9000/data/registry.csv")).toEqual({ nameNode: "hdfs://namenode:9000", path: "/data/registry.csv" });
    expect(parseHdfsUri("HDFS://namenode/data")).toEqual({ nameNode: "hdfs://namenode", path: "/data" });
    expect(parseHdfsUri("hdfs://namenode:9000")).toEqual({ nameNode: "hdfs://namenode:9000", path: "/" });
  });

  it("keeps the path as Hadoop's Path(String) reads it: no percent-decoding, slashes normalised", () => {
    expect(parseHdfsUri("hdfs://nn:9000/data dir/ü.csv")?.path).toBe("/data dir/ü.csv");
    expect(parseHdfsUri("hdfs://nn:9000/data%20dir/a?b#c")?.path).toBe("/data%20dir/a?b#c");
    expect(parseHdfsUri("hdfs://nn:9000//data///x/")?.path).toBe("/data/x");
  });

  it("takes a URI without a NameNode (Hadoop's default file system) and refuses other schemes", () => {
    expect(parseHdfsUri("hdfs:///data/r.csv")).toEqual({ nameNode: "hdfs://", path: "/data/r.csv" });
    expect(parseHdfsUri("hdfs:/data/r.csv")).toEqual({ nameNode: "hdfs://", path: "/data/r.csv" });
    for (const other of ["file:///data/r.csv", "/data/r.csv", "data/r.csv", "s3a://bucket/r.csv", "webhdfs://nn:9870/r.csv"])
      expect(parseHdfsUri(other)).toBeUndefined();
  });
});

describe("webHdfsBaseFor", () => {
  it("uses WEBHDFS_URL when set, else the NameNode host on Hadoop 3's HTTP port", () => {
    expect(webHdfsBaseFor("hdfs://namenode:9000", { WEBHDFS_URL: "http://localhost:9870/" })).toBe("http://localhost:9870");
    expect(webHdfsBaseFor("hdfs://namenode:9000", {})).toBe("http://namenode:9870");
    expect(webHdfsBaseFor("hdfs://namenode", { WEBHDFS_URL: "" })).toBe("http://namenode:9870");
    expect(webHdfsBaseFor("hdfs://[::1]:9000", {})).toBe("http://[::1]:9870");
  });

  it("asks for WEBHDFS_URL when the URI names no NameNode", () => {
    expect(() => webHdfsBaseFor("hdfs://", {})).toThrow(HdfsError);
    expect(webHdfsBaseFor("hdfs://", { WEBHDFS_URL: "http://nn:50070" })).toBe("http://nn:50070");
  });
});

describe("WebHdfs.forUri", () => {
  it("builds the client for the URI's NameNode, as HADOOP_USER_NAME", () => {
    const { fs, path } = WebHdfs.forUri("hdfs://namenode:9000/data/registry.csv", { HADOOP_USER_NAME: "etl" });
    expect([fs.baseUrl, fs.user, path]).toEqual(["http://namenode:9870", "etl", "/data/registry.csv"]);
  });

  it("refuses a location that is not on HDFS", () => {
    expect(() => WebHdfs.forUri("file:///data/registry.csv", {})).toThrow(/is not an hdfs:\/\/ location/);
  });
});

describe("WebHdfs against a FAKE WebHDFS server (in memory; not Hadoop)", () => {
  let hdfs: FakeWebHdfs;
  let fs: WebHdfs;
  beforeEach(async () => {
    hdfs = await fakeWebHdfs();
    fs = new WebHdfs(hdfs.url, "sensors", { nameNode: "hdfs://namenode:9000" });
  });
  afterEach(async () => hdfs.close());

  const folder = "/data/school registry/Schüler";
  const file = `${folder}/registre ñ.csv`;

  it("writes a file in two steps, creating its folders, and reads it back through the DataNode", async () => {
    await fs.write(file, "institute,DevEui\nIES Sant Pau,000024E124001EEF\n");
    expect(hdfs.file(file)).toBe("institute,DevEui\nIES Sant Pau,000024E124001EEF\n");
    expect(await fs.read(file)).toEqual(Buffer.from("institute,DevEui\nIES Sant Pau,000024E124001EEF\n"));
    const create = hdfs.requests.filter((r) => r.op === "CREATE");
    // The NameNode gets no data; the DataNode it redirected to gets all of it.
    expect(create.map((r) => [r.server, r.method, r.bodyLength])).toEqual([
      ["namenode", "PUT", 0],
      ["datanode", "PUT", 47],
    ]);
    expect(hdfs.requests.filter((r) => r.op === "OPEN").map((r) => r.server)).toEqual(["namenode", "datanode"]);
  });

  it("percent-encodes each path segment and sends the user", async () => {
    await fs.write(file, "x");
    const first = hdfs.requests[0]!;
    expect(first.url).toBe("/webhdfs/v1/data/school%20registry/Sch%C3%BCler/registre%20%C3%B1.csv?op=CREATE&user.name=sensors&overwrite=false");
    expect(hdfs.requests.every((r) => r.user === "sensors")).toBe(true);
    await fs.write("/odd/a?b#c;d+e%20f.csv", "y");
    expect(hdfs.file("/odd/a?b#c;d+e%20f.csv")).toBe("y");
  });

  it("tells files and folders apart and lists a folder sorted by name", async () => {
    await fs.write(`${folder}/b.csv`, "bb");
    await fs.write(`${folder}/a.csv`, "a");
    await fs.mkdirs(`${folder}/zz/deeper`);
    expect(await fs.status(`${folder}/b.csv`)).toMatchObject({ path: `${folder}/b.csv`, type: "FILE", length: 2 });
    expect((await fs.status(`${folder}/b.csv`))!.modificationTime).toBeGreaterThan(1_700_000_000_000);
    expect(await fs.status(folder)).toMatchObject({ path: folder, type: "DIRECTORY" });
    expect((await fs.list(folder))!.map((s) => [s.path, s.type])).toEqual([
      [`${folder}/a.csv`, "FILE"],
      [`${folder}/b.csv`, "FILE"],
      [`${folder}/zz`, "DIRECTORY"],
    ]);
    expect((await fs.list("/"))!.map((s) => s.path)).toEqual(["/data"]);
    expect((await fs.list(`${folder}/a.csv`))!.map((s) => s.path)).toEqual([`${folder}/a.csv`]);
  });

  it("answers undefined for what does not exist (WebHDFS's 404 FileNotFoundException)", async () => {
    expect(await fs.status("/nothing/here.csv")).toBeUndefined();
    expect(await fs.list("/nothing")).toBeUndefined();
    expect(await fs.read("/nothing/here.csv")).toBeUndefined();
    expect(await fs.delete("/nothing")).toBe(false);
  });

  it("refuses to read a folder (the DataNode's 404 says so)", async () => {
    await fs.mkdirs(folder);
    const error = await failure(fs.read(folder));
    expect(error.message).toBe(`WebHDFS OPEN ${folder}: FileNotFoundException: Path is not a file: ${folder}`);
  });

  it("overwrites only when asked", async () => {
    await fs.write(file, "one");
    const error = await failure(fs.write(file, "two"));
    expect(error.message).toContain(`WebHDFS CREATE ${file}: FileAlreadyExistsException:`);
    await fs.write(file, Buffer.from("two"), true);
    expect(hdfs.file(file)).toBe("two");
  });

  it("writes atomically: a hidden temporary file renamed over the target, none left behind", async () => {
    await fs.write(file, "old");
    await fs.writeAtomically(file, "new content");
    expect(hdfs.file(file)).toBe("new content");
    const temporary = `${folder}/.registre ñ.csv.${process.pid}.tmp`;
    expect(hdfs.requests.filter((r) => r.server === "namenode").map((r) => `${r.op} ${r.path}`)).toEqual([
      `CREATE ${file}`,
      `CREATE ${temporary}`,
      `RENAME ${temporary}`,
    ]);
    expect(hdfs.requests.find((r) => r.op === "RENAME")!.url).toContain("&renameoptions=OVERWRITE");
    expect((await fs.list(folder))!.map((s) => s.path)).toEqual([file]);
    await fs.writeAtomically("/fresh/registry.csv", "first");
    expect(hdfs.file("/fresh/registry.csv")).toBe("first");
  });

  it("removes the temporary file when the rename fails, and keeps the old content", async () => {
    await fs.write(file, "old");
    hdfs.failNext("RENAME", 403, "AccessControlException", 'Permission denied: user=sensors, access=WRITE, inode="/data":hdfs:supergroup:drwxr-xr-x');
    const error = await failure(fs.writeAtomically(file, "new"));
    expect(error.message).toContain("AccessControlException: Permission denied: user=sensors");
    expect(error.hint).toContain("HADOOP_USER_NAME");
    expect(hdfs.file(file)).toBe("old");
    expect((await fs.list(folder))!.map((s) => s.path)).toEqual([file]);
  });

  it("renames, and says so when WebHDFS answers false", async () => {
    await fs.write("/a/one.csv", "1");
    await fs.rename("/a/one.csv", "/a/two.csv");
    expect(hdfs.file("/a/two.csv")).toBe("1");
    const error = await failure(fs.rename("/a/missing.csv", "/a/three.csv"));
    expect(error.message).toBe("HDFS did not rename /a/missing.csv to /a/three.csv");
    await fs.write("/a/one.csv", "2");
    expect((await failure(fs.rename("/a/one.csv", "/a/two.csv"))).message).toContain("did not rename");
    await fs.rename("/a/one.csv", "/a/two.csv", true);
    expect(hdfs.file("/a/two.csv")).toBe("2");
    const overwrite = await failure(fs.rename("/a/two.csv", "/b/two.csv", true));
    expect(overwrite.message).toBe("WebHDFS RENAME /a/two.csv to /b/two.csv: FileNotFoundException: rename destination parent /b not found.");
  });

  it("deletes files and folders, a non-empty folder only recursively", async () => {
    await fs.write("/d/e/f.csv", "x");
    expect((await failure(fs.delete("/d"))).message).toContain("PathIsNotEmptyDirectoryException");
    expect(await fs.delete("/d/e/f.csv")).toBe(true);
    expect(await fs.delete("/d", true)).toBe(true);
    expect(await fs.status("/d")).toBeUndefined();
  });

  it("passes on the NameNode's hint-worthy refusals", async () => {
    hdfs.failNext("GETFILESTATUS", 403, "SafeModeException", "Cannot create file/data. Name node is in safe mode.");
    const error = await failure(fs.status("/data"));
    expect(error.message).toBe("WebHDFS GETFILESTATUS /data: SafeModeException: Cannot create file/data. Name node is in safe mode.");
    expect(error.hint).toContain("safe mode");
  });

  it("refuses relative paths", async () => {
    expect((await failure(fs.status("data/registry.csv"))).message).toBe('WebHDFS needs an absolute path, not "data/registry.csv"');
  });

  it("names a DataNode it cannot reach, apart from the NameNode", async () => {
    await fs.write(file, "x");
    const closed = await closedPort();
    hdfs.dataNode = `http://127.0.0.1:${closed}`;
    const error = await failure(fs.read(file));
    expect(error.message).toBe(`cannot reach the DataNode at http://127.0.0.1:${closed} that WebHDFS sent OPEN ${file} to: ECONNREFUSED`);
    expect(error.hint).toContain("host name");
  });
});

describe("WebHdfs when WebHDFS is away or is something else", () => {
  it("says which NameNode it cannot reach, and how to fix it", async () => {
    const closed = await closedPort();
    const fs = new WebHdfs(`http://127.0.0.1:${closed}`, "sensors", { nameNode: "hdfs://namenode:9000" });
    const error = await failure(fs.status("/data/registry.csv"));
    expect(error.message).toBe(`cannot reach WebHDFS at http://127.0.0.1:${closed} (for hdfs://namenode:9000): ECONNREFUSED`);
    // The hint names what starts HDFS for the scripts' target.
    const saved = process.env.SENSOR_STREAMING_TARGET;
    const hintFor = async (target: string | undefined): Promise<string | undefined> => {
      if (target === undefined) delete process.env.SENSOR_STREAMING_TARGET;
      else process.env.SENSOR_STREAMING_TARGET = target;
      return (await failure(fs.status("/data/registry.csv"))).hint;
    };
    try {
      expect(await hintFor("local")).toBe("start HDFS (infrastructure/local/stack.sh up --cluster) or set WEBHDFS_URL to the NameNode's HTTP address");
      expect(await hintFor("docker")).toBe(
        "start the cluster (./infrastructure/start-all.sh) or set WEBHDFS_URL to the NameNode's HTTP address (http://localhost:9870 for it)",
      );
      const either = await hintFor(undefined);
      expect(either).toContain("infrastructure/local/stack.sh up --cluster");
      expect(either).toContain("./infrastructure/start-all.sh");
    } finally {
      if (saved === undefined) delete process.env.SENSOR_STREAMING_TARGET;
      else process.env.SENSOR_STREAMING_TARGET = saved;
    }
  });

  it("gives up on a request that gets no answer in time", async () => {
    const server = createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const error = await failure(new WebHdfs(url, "sensors", { timeoutMs: 200 }).read("/data/registry.csv"));
      expect(error.message).toBe(`WebHDFS at ${url} did not answer OPEN /data/registry.csv within 0.2 s`);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it("reports a page that is not WebHDFS's answer (a proxy) with its status", async () => {
    const server = createServer((_, response) => {
      response.writeHead(502, { "Content-Type": "text/html" });
      response.end("<html><body><h1>502 Bad Gateway</h1></body></html>");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const error = await failure(new WebHdfs(url, "sensors").status("/data"));
      expect(error.message).toBe(`WebHDFS at ${url} answered GETFILESTATUS /data with HTTP 502 Bad Gateway: 502 Bad Gateway`);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
