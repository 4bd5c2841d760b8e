/**
 * `registry validate|upload|show` in-process: what changed between two registries, uploads to a
 * local file and to HDFS through a FAKE WebHDFS (fake-webhdfs.ts, in memory; not Hadoop), and what
 * show prints. The target is the schools spec's registry.path, `${REGISTRY_PATH:-...}`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EXIT, ExitError } from "../../src/cli/exit-codes.js";
import { registryShowCommand, registryUploadCommand, registryValidateCommand } from "../../src/registry/registry-commands.js";
import { readRegistryCsv, type RegistryShape } from "../../src/registry/registry-csv.js";
import { diffRegistries, diffSummary, formatDiff } from "../../src/registry/registry-diff.js";
import { fakeWebHdfs, type FakeWebHdfs } from "./fake-webhdfs.js";

const SHAPE: RegistryShape = { key: "DevEui", columns: ["institute", "profile", "classroom"] };
const HEADER = "institute,DevEui,profile,classroom";
const scratch = mkdtempSync(path.join(os.tmpdir(), "sensor-registry-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());

const csv = (...rows: string[]) => `${[HEADER, ...rows].join("\n")}\n`;
const ORIGINAL = csv("IES Sant Pau,A1,iaq,Aula 1.1", "IES Sant Pau,A2,finestra,Aula 1.1", "IES Sant Pau,A3,porta,Aula 1.2");
const EDITED = csv("IES Sant Pau,A1,iaq,Aula 1.1", "IES Sant Pau,A3,porta,Aula 2.2", "IES Sant Pau,A4,iaq,Aula 3");

let counter = 0;
/** A CSV file in the scratch folder. */
function csvFile(text: string | Buffer): string {
  const file = path.join(scratch, `input-${++counter}.csv`);
  writeFileSync(file, text);
  return file;
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) } };
}

async function exitError(call: () => unknown): Promise<ExitError> {
  const error = await Promise.resolve()
    .then(call)
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(error).toBeInstanceOf(ExitError);
  return error as ExitError;
}

describe("diffRegistries", () => {
  const parsed = (text: string) => readRegistryCsv(Buffer.from(text), SHAPE);

  it("names the devices added, removed and changed, with the columns that changed", () => {
    const diff = diffRegistries(parsed(ORIGINAL), parsed(EDITED), SHAPE);
    expect(formatDiff(diff, SHAPE)).toEqual([
      'added    A4: institute "IES Sant Pau", profile "iaq", classroom "Aula 3"',
      'removed  A2: institute "IES Sant Pau", profile "finestra", classroom "Aula 1.1"',
      'changed  A3: classroom "Aula 1.2" -> "Aula 2.2"',
    ]);
    expect(diffSummary(diff)).toBe("1 added, 1 removed, 1 changed, 1 unchanged");
  });

  it("compares values as Spark reads them, columns by name in any order and case, other columns too", () => {
    const before = parsed(`DevEui,Classroom,institute,profile,floor\n A1 ,"Aula 1",IES,iaq,1\nA2,Aula 2,IES,iaq,1\n`);
    const after = parsed(`institute,deveui,profile,classroom,floor\nIES,A1,iaq,Aula 1,1\nIES,A2,iaq,Aula 2,2\n`);
    const diff = diffRegistries(before, after, SHAPE);
    expect(formatDiff(diff, SHAPE)).toEqual(['changed  A2: floor "1" -> "2"']);
    expect(diff.columns).toEqual(["institute", "profile", "classroom", "floor"]);
  });

  it("reads a key on several rows of the old registry as the pipeline did: the smallest row wins", () => {
    const before = parsed(csv("IES,A1,porta,Aula 2", "IES,A1,iaq,Aula 9", "IES,A1,iaq,Aula 1"));
    expect(formatDiff(diffRegistries(before, parsed(csv("IES,A1,iaq,Aula 1")), SHAPE), SHAPE)).toEqual([]);
  });

  it("counts every device as added when there was no registry", () => {
    expect(diffSummary(diffRegistries(undefined, parsed(EDITED), SHAPE))).toBe("3 added, 0 removed, 0 changed, 0 unchanged");
  });
});

describe("registry validate", () => {
  it("accepts the project's registry for the schools spec", () => {
    const { out, io } = capture();
    expect(registryValidateCommand(undefined, undefined, {}, io)).toBe(EXIT.ok);
    expect(out).toEqual(["data/registry.csv is a valid registry for conf/pipeline.yaml: 42 devices, columns institute, DevEui, profile, classroom"]);
  });

  it("lists every problem with its file and line and exits invalidRegistry", async () => {
    const file = csvFile(csv("IES,A1,iaq,Aula 1", "IES,,iaq,Aula 2", "IES,A1,iaq", "IES,A1,iaq,Aula 1"));
    const error = await exitError(() => registryValidateCommand(file, undefined, { profile: "cluster" }, capture().io));
    expect(error.exitCode).toBe(EXIT.invalidRegistry);
    expect(error.message.split("\n")).toEqual([
      `${file}: line 3: no DevEui: every device needs one (the pipeline ignores rows without)`,
      `${file}: line 4: 3 values, but the header has 4`,
      `${file}: line 5: DevEui A1 is already on line 2: the pipeline would keep only one of them`,
      "",
      `${file}: 3 problems for conf/pipeline.yaml with conf/profiles/cluster.yaml; it is not valid`,
    ]);
    expect(error.hint).toContain("./data/upload-data.sh");
  });

  it("says when the CSV cannot be read", async () => {
    const error = await exitError(() => registryValidateCommand(path.join(scratch, "nope.csv"), undefined, {}, capture().io));
    expect(error.exitCode).toBe(EXIT.fileError);
    expect(error.message).toContain("cannot read the registry");
  });
});

describe("registry upload and show, to a local file", () => {
  let target: string;
  beforeEach(() => {
    target = path.join(scratch, `target ${++counter} ü`, "registry.csv");
    vi.stubEnv("REGISTRY_PATH", target);
  });

  it("creates the registry where the spec points, without a temporary file left, content exact (BOM dropped)", async () => {
    const { out, io } = capture();
    const file = csvFile(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(ORIGINAL)]));
    expect(await registryUploadCommand(file, undefined, {}, io)).toBe(EXIT.ok);
    expect(readFileSync(target, "utf8")).toBe(ORIGINAL);
    expect(readdirSync(path.dirname(target))).toEqual(["registry.csv"]);
    expect(out).toEqual([
      `${file} -> file://${target}`,
      "  no registry there yet: all 3 devices are new",
      `3 added, 0 removed, 0 changed, 0 unchanged; written to file://${target}`,
    ]);
  });

  it("replaces it, printing what changed; the same file again is left alone", async () => {
    await registryUploadCommand(csvFile(ORIGINAL), undefined, {}, capture().io);
    const edited = csvFile(EDITED);
    const { out, io } = capture();
    expect(await registryUploadCommand(edited, undefined, {}, io)).toBe(EXIT.ok);
    expect(out).toEqual([
      `${edited} -> file://${target}`,
      '  added    A4: institute "IES Sant Pau", profile "iaq", classroom "Aula 3"',
      '  removed  A2: institute "IES Sant Pau", profile "finestra", classroom "Aula 1.1"',
      '  changed  A3: classroom "Aula 1.2" -> "Aula 2.2"',
      `1 added, 1 removed, 1 changed, 1 unchanged; written to file://${target}`,
    ]);
    expect(readFileSync(target, "utf8")).toBe(EDITED);
    expect(readdirSync(path.dirname(target))).toEqual(["registry.csv"]);

    const written = statSync(target).mtimeMs;
    const again = capture();
    expect(await registryUploadCommand(edited, undefined, {}, again.io)).toBe(EXIT.ok);
    expect(again.out).toEqual([`file://${target} is unchanged: it already holds ${edited} (3 devices); nothing written`]);
    expect(statSync(target).mtimeMs).toBe(written);
  });

  it("rewrites a file whose devices are the same but whose layout changed, and says so", async () => {
    await registryUploadCommand(csvFile(ORIGINAL), undefined, {}, capture().io);
    const { out, io } = capture();
    const crlf = ORIGINAL.replace(/\n/g, "\r\n");
    await registryUploadCommand(csvFile(crlf), undefined, {}, io);
    expect(out[1]).toBe("  the same devices and values; only the file's layout changed (row order, quoting, spacing or line ends)");
    expect(readFileSync(target, "utf8")).toBe(crlf);
  });

  it("--dry-run prints the change and writes nothing", async () => {
    await registryUploadCommand(csvFile(ORIGINAL), undefined, {}, capture().io);
    const { out, io } = capture();
    expect(await registryUploadCommand(csvFile(EDITED), undefined, { dryRun: true }, io)).toBe(EXIT.ok);
    expect(out[0]).toMatch(/ \(dry run\)$/);
    expect(out.at(-1)).toBe("1 added, 1 removed, 1 changed, 1 unchanged; dry run: nothing written");
    expect(readFileSync(target, "utf8")).toBe(ORIGINAL);
  });

  it("--if-missing uploads only where no registry is yet, and leaves one that is there alone", async () => {
    const first = capture();
    expect(await registryUploadCommand(csvFile(ORIGINAL), undefined, { ifMissing: true }, first.io)).toBe(EXIT.ok);
    expect(readFileSync(target, "utf8")).toBe(ORIGINAL);
    const { out, io } = capture();
    expect(await registryUploadCommand(csvFile(EDITED), undefined, { ifMissing: true }, io)).toBe(EXIT.ok);
    expect(out).toEqual([`file://${target} already holds a registry; left as it is (--if-missing). Replace it with ./data/upload-data.sh`]);
    expect(readFileSync(target, "utf8")).toBe(ORIGINAL);
  });

  it("writes nothing when the CSV has a problem", async () => {
    await registryUploadCommand(csvFile(ORIGINAL), undefined, {}, capture().io);
    const file = csvFile(csv("IES,A1,iaq,Aula 1", "IES,A1,iaq,Aula 2"));
    const error = await exitError(() => registryUploadCommand(file, undefined, {}, capture().io));
    expect(error.exitCode).toBe(EXIT.invalidRegistry);
    expect(error.message).toContain(`${file}: line 3: DevEui A1 is already on line 2`);
    expect(error.message).toContain(`1 problem for conf/pipeline.yaml; nothing was uploaded (file://${target} is as it was)`);
    expect(readFileSync(target, "utf8")).toBe(ORIGINAL);
  });

  it("show prints the registry as a table with its location and count", async () => {
    await registryUploadCommand(csvFile(ORIGINAL), undefined, {}, capture().io);
    const { out, err, io } = capture();
    expect(await registryShowCommand(undefined, {}, io)).toBe(EXIT.ok);
    const [header, rule, ...rest] = out.join("\n").split("\n");
    expect(header).toMatch(/^institute +DevEui +profile +classroom$/);
    expect(rule).toMatch(/^-+ +-+ +-+ +-+$/);
    expect(rest).toEqual([
      "IES Sant Pau  A1      iaq       Aula 1.1",
      "IES Sant Pau  A2      finestra  Aula 1.1",
      "IES Sant Pau  A3      porta     Aula 1.2",
      `(3 devices in file://${target})`,
    ]);
    expect(err).toEqual([]);
  });

  it("show warns about the problems of a registry written by other means", async () => {
    writeFileSync(path.join(scratch, "direct.csv"), csv("IES,A1,iaq,Aula 1", "IES,A1,iaq,Aula 2"));
    vi.stubEnv("REGISTRY_PATH", path.join(scratch, "direct.csv"));
    const { out, err, io } = capture();
    expect(await registryShowCommand(undefined, {}, io)).toBe(EXIT.ok);
    expect(out.at(-1)).toBe(`(2 devices in file://${path.join(scratch, "direct.csv")})`);
    expect(err[1]).toBe(`file://${path.join(scratch, "direct.csv")}: line 3: DevEui A1 is already on line 2: the pipeline would keep only one of them`);
  });

  it("show says clearly when there is no registry, and how to upload one", async () => {
    const error = await exitError(() => registryShowCommand(undefined, {}, capture().io));
    expect(error.exitCode).toBe(EXIT.fileError);
    expect(error.message).toBe(`no registry at file://${target}`);
    expect(error.hint).toBe("upload one with ./data/upload-data.sh");
    const profiled = await exitError(() => registryShowCommand(undefined, { profile: "local" }, capture().io));
    expect(profiled.hint).toBe("upload one with: sensor-streaming registry upload data/registry.csv --profile local");
  });

  it("resolves a relative registry.path against the current folder, as start binds it", async () => {
    vi.stubEnv("REGISTRY_PATH", "data/registry.csv");
    const { out, io } = capture();
    await registryShowCommand(undefined, {}, io);
    expect(out.at(-1)).toBe(`(42 devices in file://${path.resolve("data/registry.csv")})`);
  });
});

describe("registry upload and show, to HDFS through a FAKE WebHDFS server (in memory; not Hadoop)", () => {
  let hdfs: FakeWebHdfs;
  const folder = "/data/school registry/Schüler";
  const location = `hdfs://fake-namenode:9000${folder}/registre ñ.csv`;
  beforeEach(async () => {
    hdfs = await fakeWebHdfs();
    vi.stubEnv("REGISTRY_PATH", location);
    vi.stubEnv("WEBHDFS_URL", hdfs.url);
    vi.stubEnv("HADOOP_USER_NAME", "sensors");
  });
  afterEach(async () => hdfs.close());

  it("uploads atomically (a temporary file renamed over the target), then reports changes and shows it", async () => {
    const first = capture();
    expect(await registryUploadCommand(csvFile(ORIGINAL), undefined, { profile: "cluster" }, first.io)).toBe(EXIT.ok);
    expect(first.out.at(-1)).toBe(`3 added, 0 removed, 0 changed, 0 unchanged; written to ${location}`);
    expect(hdfs.file(`${folder}/registre ñ.csv`)).toBe(ORIGINAL);

    const second = capture();
    await registryUploadCommand(csvFile(EDITED), undefined, { profile: "cluster" }, second.io);
    expect(second.out.slice(1)).toEqual([
      '  added    A4: institute "IES Sant Pau", profile "iaq", classroom "Aula 3"',
      '  removed  A2: institute "IES Sant Pau", profile "finestra", classroom "Aula 1.1"',
      '  changed  A3: classroom "Aula 1.2" -> "Aula 2.2"',
      `1 added, 1 removed, 1 changed, 1 unchanged; written to ${location}`,
    ]);
    expect(hdfs.file(`${folder}/registre ñ.csv`)).toBe(EDITED);
    expect([...hdfs.entries.keys()].filter((p) => p.startsWith(`${folder}/`))).toEqual([`${folder}/registre ñ.csv`]);
    const renames = hdfs.requests.filter((r) => r.op === "RENAME");
    expect(renames.map((r) => r.path)).toEqual([`${folder}/.registre ñ.csv.${process.pid}.tmp`, `${folder}/.registre ñ.csv.${process.pid}.tmp`]);
    expect(renames.every((r) => r.url.includes("renameoptions=OVERWRITE") && r.user === "sensors")).toBe(true);

    const shown = capture();
    expect(await registryShowCommand(undefined, { profile: "cluster" }, shown.io)).toBe(EXIT.ok);
    expect(shown.out.at(-1)).toBe(`(3 devices in ${location})`);
    expect(shown.out[0]).toContain("institute");
  });

  it("leaves the registry as it was when the rename fails, and says why", async () => {
    await registryUploadCommand(csvFile(ORIGINAL), undefined, {}, capture().io);
    hdfs.failNext("RENAME", 403, "AccessControlException", 'Permission denied: user=sensors, access=WRITE, inode="/data":hdfs:supergroup:drwxr-xr-x');
    const error = await exitError(() => registryUploadCommand(csvFile(EDITED), undefined, {}, capture().io));
    expect(error.exitCode).toBe(EXIT.fileError);
    expect(error.message).toBe(
      `cannot write ${location}: WebHDFS RENAME ${folder}/.registre ñ.csv.${process.pid}.tmp to ${folder}/registre ñ.csv: ` +
        'AccessControlException: Permission denied: user=sensors, access=WRITE, inode="/data":hdfs:supergroup:drwxr-xr-x',
    );
    expect(hdfs.file(`${folder}/registre ñ.csv`)).toBe(ORIGINAL);
    expect([...hdfs.entries.keys()].filter((p) => p.startsWith(`${folder}/`))).toEqual([`${folder}/registre ñ.csv`]);
  });

  it("says which NameNode it cannot reach", async () => {
    await hdfs.close();
    const error = await exitError(() => registryShowCommand(undefined, {}, capture().io));
    expect(error.exitCode).toBe(EXIT.fileError);
    expect(error.message).toBe(`cannot read ${location}: cannot reach WebHDFS at ${hdfs.url} (for hdfs://fake-namenode:9000): ECONNREFUSED`);
    expect(error.hint).toContain("WEBHDFS_URL");
    hdfs = await fakeWebHdfs();
  });
});
