/**
 * Local paths in a bound plan are `file://` plus the absolute path as it is: Spark hands them to
 * Hadoop's `new Path(String)`, which does not percent-decode (`file:///a%20b` is a folder named
 * `a%20b`; checked with Hadoop 3.3.4's RawLocalFileSystem).
 */
import { describe, expect, it } from "vitest";
import { pathToFileURL } from "node:url";
import { bindPlan, localPathOf, toLocation } from "../../src/deploy/bind-plan.js";

const plan = (sink: Record<string, unknown>) =>
  JSON.stringify({ pipeline: "p", sources: [{ name: "registry", kind: "file", path: "${REGISTRY:-data/registry.csv}" }], sinks: [sink] });

describe("bindPlan", () => {
  it("keeps spaces and non-ASCII characters of a spec path as they are, not percent-encoded", () => {
    const bound = JSON.parse(
      bindPlan(
        plan({ name: "raw", kind: "parquet", path: "data dir/raw ü", checkpoint: "${CHECKPOINT_DIR:-checkpoints}/raw #1" }),
        { CHECKPOINT_DIR: "/var/lib/sensor streaming" },
        "/home/ana/schulen",
      ),
    ) as { sources: Array<{ path: string }>; sinks: Array<{ path: string; checkpoint: string }> };
    expect(bound.sinks[0]!.path).toBe("file:///home/ana/schulen/data dir/raw ü");
    expect(bound.sinks[0]!.checkpoint).toBe("file:///var/lib/sensor streaming/raw #1");
    expect(bound.sources[0]!.path).toBe("file:///home/ana/schulen/data/registry.csv");
  });

  it("binds an InfluxDB sink's dead-letter folder like any other path", () => {
    const bound = JSON.parse(
      bindPlan(
        plan({
          name: "influx_raw",
          kind: "influx-lines",
          checkpoint: "/cp",
          influx: { writeUrl: "http://influx:8086/write?db=x", refusedPath: "data/influx refused" },
        }),
        {},
        "/srv",
      ),
    ) as {
      sinks: Array<{ influx: { writeUrl: string; refusedPath: string } }>;
    };
    expect(bound.sinks[0]!.influx).toEqual({ writeUrl: "http://influx:8086/write?db=x", refusedPath: "file:///srv/data/influx refused" });
  });

  it("leaves locations with a scheme alone", () => {
    expect(toLocation("hdfs://namenode:9000/data/raw", "/srv")).toBe("hdfs://namenode:9000/data/raw");
    expect(toLocation("file:///already/bound", "/srv")).toBe("file:///already/bound");
  });

  it("binds plain paths exactly as before, so checkpoints written by earlier versions still match", () => {
    for (const p of ["/srv/data/raw", "/srv/.local-stack/checkpoints/schools/raw_parquet", "/srv/a-b_c.d/e=1"])
      expect(toLocation(p, "/")).toBe(pathToFileURL(p).href);
  });
});

describe("localPathOf", () => {
  it("reads a bound location back as the folder Hadoop writes", () => {
    expect(localPathOf("file:///home/ana/data dir/raw ü")).toBe("/home/ana/data dir/raw ü");
    expect(localPathOf("file:/tmp/100%")).toBe("/tmp/100%");
    expect(localPathOf("file://localhost/tmp/x")).toBe("/tmp/x");
    expect(localPathOf("relative/dir")).toBe(`${process.cwd()}/relative/dir`);
  });

  it("is undefined for locations on other file systems or hosts", () => {
    expect(localPathOf("hdfs://namenode:9000/data")).toBeUndefined();
    expect(localPathOf("file://otherhost/data")).toBeUndefined();
  });
});
