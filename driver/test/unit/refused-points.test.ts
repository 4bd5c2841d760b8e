/**
 * `inspect refused`: the dead letters of the InfluxDB sinks. The fixture folder was written by
 * Spark 3.5 (local mode) the way the runner's RefusedPoints writes it: the schema sink, batch_id,
 * line, status, reason, refused_at (INT96), one `write().mode(Overwrite).parquet(...)` per
 * micro-batch into `sink=<sink>/checkpoint=<id>/batch_id=<n>/`, with Spark's `_SUCCESS` and `.crc` files.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { showRefused } from "../../src/cli/inspect-refused.js";
import { readRefusedRows, refusedFiles } from "../../src/inspect/refused-points.js";
import { storeFor } from "../../src/deploy/file-store.js";

const fixture = path.join(import.meta.dirname, "fixtures/refused-points");
const scratch = mkdtempSync(path.join(os.tmpdir(), "sensor-refused-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of the fixture in a folder with a space and an umlaut, its files written in batch order. */
async function refusedFolder(): Promise<string> {
  const dir = path.join(scratch, "data dir", "influx refused ü");
  cpSync(fixture, dir, { recursive: true });
  const order = [
    "sink=influx_raw/checkpoint=1a2b3c4d/batch_id=3",
    "sink=influx_window_5m/checkpoint=1a2b3c4d/batch_id=7",
    "sink=influx_raw/checkpoint=1a2b3c4d/batch_id=4",
  ];
  const files = await refusedFiles(storeFor(dir)!, dir);
  order.forEach((batch, i) => {
    for (const file of files.filter((f) => f.location.includes(batch))) utimesSync(file.location, 1_700_000_000 + i, 1_700_000_000 + i);
  });
  // A write in progress: Spark's _temporary folder is not data.
  mkdirSync(path.join(dir, "sink=influx_raw/checkpoint=1a2b3c4d/batch_id=5/_temporary/0"), { recursive: true });
  writeFileSync(path.join(dir, "sink=influx_raw/checkpoint=1a2b3c4d/batch_id=5/_temporary/0/part-00000.parquet"), "not yet");
  return dir;
}

function capture() {
  const out: string[] = [];
  return { out, io: { out: (t: string) => out.push(t), err: (t: string) => out.push(t) } };
}

describe("readRefusedRows", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await refusedFolder();
  });

  it("reads the part files only, newest refusal first, with the columns typed as Spark wrote them", async () => {
    expect((await refusedFiles(storeFor(dir)!, dir)).map((f) => path.relative(dir, path.dirname(f.location))).sort()).toEqual([
      "sink=influx_raw/checkpoint=1a2b3c4d/batch_id=3",
      "sink=influx_raw/checkpoint=1a2b3c4d/batch_id=4",
      "sink=influx_window_5m/checkpoint=1a2b3c4d/batch_id=7",
    ]);
    const rows = await readRefusedRows(dir, 10);
    expect(rows.map((r) => [r.sink, r.batch_id, r.status])).toEqual([
      ["influx_raw", 4n, 400],
      ["influx_window_5m", 7n, 422],
      ["influx_raw", 3n, 400],
      ["influx_raw", 3n, 400],
    ]);
    expect(rows[0]!.refused_at).toEqual(new Date("2026-03-01T10:05:00Z"));
    expect(rows[0]!.reason).toContain('field type conflict: input field "co2"');
    expect(rows.find((r) => String(r.line).startsWith("sensor_readings,classroom=B12\\ "))?.reason).toBe(
      "partial write: points beyond retention policy dropped=1",
    );
  });

  it("reads only the newest files a limit needs, and only the sinks asked for", async () => {
    expect((await readRefusedRows(dir, 1)).map((r) => r.batch_id)).toEqual([4n]);
    expect((await readRefusedRows(dir, 10, ["influx_window_5m"])).map((r) => r.sink)).toEqual(["influx_window_5m"]);
    expect(await readRefusedRows(path.join(scratch, "nothing here"), 10)).toEqual([]);
  });
});

describe("showRefused (inspect refused)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await refusedFolder();
  });
  const bound = (refusedPath?: string) => ({
    sinks: [{ name: "raw_parquet" }, { name: "influx_raw", influx: { refusedPath } }, { name: "influx_window_5m", influx: { refusedPath } }],
  });

  it("shows the newest refused lines as a table, from the bound plan's folder", async () => {
    const { out, io } = capture();
    expect(await showRefused("schools", bound(`file://${dir}`), { limit: "2" }, io)).toBe(0);
    const [header, rule, first, second, summary] = out.join("\n").split("\n");
    expect(header).toMatch(/^refused_at +sink +batch_id +status +reason +line$/);
    expect(rule).toMatch(/^-+ +-+/);
    expect(first).toMatch(/^2026-03-01T10:05:00\.000Z +influx_raw +4 +400 +partial write: field type conflict/);
    expect(second).toMatch(/^2026-03-01T10:02:00\.000Z +influx_window_5m +7 +422 +unprocessable entity +classroom_statistics,classroom=B12/);
    expect(summary).toBe(`(the 2 newest refused lines in ${dir})`);
  });

  it("says clearly when the plan keeps no refused points", async () => {
    const { out, io } = capture();
    expect(await showRefused("schools", bound(undefined), { limit: "5" }, io)).toBe(0);
    expect(out.join("\n")).toContain("the plan of pipeline schools names no folder for the points InfluxDB refuses (sinks[].influx.refusedPath in plan.json)");
  });

  it("says when nothing was refused yet, and refuses folders it cannot read", async () => {
    const { out, io } = capture();
    expect(await showRefused("schools", bound(`file://${scratch}/empty`), { limit: "5" }, io)).toBe(0);
    expect(out.join("\n")).toBe(`no refused points yet in ${scratch}/empty`);
    await expect(showRefused("schools", bound("s3a://bucket/refused"), { limit: "5" }, io)).rejects.toThrow("inspect reads local folders and hdfs:// only");
    // HDFS it reads through WebHDFS, and says when that is out of reach.
    vi.stubEnv("WEBHDFS_URL", "http://127.0.0.1:1");
    try {
      await expect(showRefused("schools", bound("hdfs://namenode:9000/refused"), { limit: "5" }, io)).rejects.toThrow(
        "cannot read the refused points at hdfs://namenode:9000/refused: cannot reach WebHDFS at http://127.0.0.1:1",
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
