/**
 * Local paths in a bound plan are `file://` plus the absolute path as it is: Spark hands them to
 * Hadoop's `new Path(String)`, which does not percent-decode (`file:///a%20b` is a folder named
 * `a%20b`; checked with Hadoop 3.3.4's RawLocalFileSystem).
 */
import { describe, expect, it } from "vitest";
import { pathToFileURL } from "node:url";
import { BindError, bindPlan, localPathOf, toLocation } from "../../src/deploy/bind-plan.js";
import { loadPlan } from "../../src/cli/pipeline-input.js";
import { planJson, planJsonText } from "../../src/emit/plan-json.js";

const plan = <Sink extends object>(sink: Sink) => ({
  pipeline: "p",
  sources: [{ name: "registry", kind: "file", path: "${REGISTRY:-data/registry.csv}" }],
  views: [{ name: "registry_devices", sqlFile: "01-registry-devices.sql", inputs: ["registry"] }],
  sinks: [sink],
});

describe("bindPlan", () => {
  it("keeps spaces and non-ASCII characters of a spec path as they are, not percent-encoded", () => {
    const bound = bindPlan(
      plan({ name: "raw", kind: "parquet", path: "data dir/raw ü", checkpoint: "${CHECKPOINT_DIR:-checkpoints}/raw #1" }),
      { CHECKPOINT_DIR: "/var/lib/sensor streaming" },
      "/home/ana/schulen",
    );
    expect(bound.sinks[0]!.path).toBe("file:///home/ana/schulen/data dir/raw ü");
    expect(bound.sinks[0]!.checkpoint).toBe("file:///var/lib/sensor streaming/raw #1");
    expect(bound.sources[0]!.path).toBe("file:///home/ana/schulen/data/registry.csv");
  });

  it("binds an InfluxDB sink's dead-letter folder like any other path", () => {
    const bound = bindPlan(
      plan({
        name: "influx_raw",
        kind: "influx-lines",
        checkpoint: "/cp",
        influx: { writeUrl: "http://influx:8086/write?db=x", refusedPath: "data/influx refused" },
      }),
      {},
      "/srv",
    );
    expect(bound.sinks[0]!.influx).toEqual({ writeUrl: "http://influx:8086/write?db=x", refusedPath: "file:///srv/data/influx refused" });
  });

  it("binds the compiled plan object into a new one of the same shape, and leaves the compiled one as it was", () => {
    const compiled = planJson(loadPlan("conf/pipeline.yaml", {}).plan);
    const text = planJsonText(compiled);
    const bound = bindPlan(compiled, { KAFKA_TOPIC: "other" }, "/srv");
    expect(planJsonText(compiled)).toBe(text);
    // Same keys in the same order, and numbers, booleans and null as they were: only strings change.
    const shape = (value: unknown): unknown =>
      typeof value === "string"
        ? "string"
        : Array.isArray(value)
          ? value.map(shape)
          : value !== null && typeof value === "object"
            ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]))
            : value;
    expect(JSON.stringify(shape(bound))).toBe(JSON.stringify(shape(compiled)));
    expect(bound.sources.find((s) => s.kind === "kafka")?.options).toMatchObject({ subscribe: "other" });
  });

  it("names every variable the plan needs that is unset and has no default", () => {
    const run = () => bindPlan(plan({ name: "raw", checkpoint: "${CP}/raw", path: "${RAW}/x ${CP}" }), {}, "/srv");
    expect(run).toThrow(BindError);
    expect(run).toThrow("the plan needs CP, RAW, which are not set and have no default");
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
