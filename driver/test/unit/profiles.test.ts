/**
 * The profiles of the same deployment shape agree: `hdfs` (the local stack's cluster mode) and
 * `cluster` (the Docker Compose cluster) name the same files on the same HDFS layout and differ
 * only in host names and credentials, so that what the cluster suite proves on `hdfs` holds for
 * `cluster`. The one other difference is InfluxDB's version (1.x on the local stack, 2 with a
 * token in Compose), and with it the keys that carry its credentials.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadPlan } from "../../src/cli/pipeline-input.js";
import { planJson } from "../../src/emit/plan-json.js";
import { bindPlan } from "../../src/deploy/bind-plan.js";

const root = path.resolve(import.meta.dirname, "../../..");
const profile = (name: string): Record<string, unknown> =>
  parse(readFileSync(path.join(root, "conf/profiles", `${name}.yaml`), "utf8")) as Record<string, unknown>;

/** Host names and ports of either environment read as one; InfluxDB's version and credentials left out. */
function normalised(value: unknown): unknown {
  if (typeof value === "string")
    return value
      .replace(/\/\/(namenode|localhost):9000/g, "//HDFS")
      .replace(/\b(kafka|localhost):9092\b/g, "KAFKA")
      .replace(/\/\/(influxdb|localhost):8086/g, "//INFLUXDB");
  if (Array.isArray(value)) return value.map(normalised);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => !["version", "org", "bucket", "tokenEnv", "database"].includes(key))
        .map(([key, v]) => [key, normalised(v)]),
    );
  }
  return value;
}

describe("the hdfs and cluster profiles", () => {
  it("name the same files on the same HDFS layout; only hosts and InfluxDB's credentials differ", () => {
    expect(normalised(profile("hdfs"))).toEqual(normalised(profile("cluster")));
  });

  it("put every location of the schools pipeline on HDFS", () => {
    const { plan } = loadPlan(path.join(root, "conf/pipeline.yaml"), { profile: "hdfs" });
    const bound: {
      sources: ReadonlyArray<{ kind: string; path?: string }>;
      sinks: ReadonlyArray<{ checkpoint: string; path?: string; influx?: { refusedPath?: string } }>;
    } = bindPlan(planJson(plan), {}, root);
    const locations = [
      ...bound.sources.filter((s) => s.kind === "file").map((s) => s.path!),
      ...bound.sinks.flatMap((s) => [s.checkpoint, s.path, s.influx?.refusedPath].filter((l): l is string => l !== undefined)),
    ];
    expect(locations.length).toBeGreaterThan(5);
    for (const location of locations) expect(location).toMatch(/^hdfs:\/\/localhost:9000\//);
  });
});
