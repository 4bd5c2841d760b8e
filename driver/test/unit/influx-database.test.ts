/** What `start` creates in InfluxDB 1.x before a job starts (against a real InfluxDB: livy-jobs.e2e). */
import { describe, expect, it } from "vitest";
import { influxDatabases, influxqlIdentifier, prepareInfluxDatabases } from "../../src/deploy/influx-database.js";
import { PLAN_FORMAT, type InfluxLinesSinkJson, type PlanJson } from "../../src/emit/plan-json.js";

const sink = (name: string, writeUrl: string): InfluxLinesSinkJson => ({
  name,
  query: "q",
  checkpoint: "c",
  outputMode: "append",
  trigger: { kind: "available-now" },
  kind: "influx-lines",
  lineColumn: "line",
  influx: { version: 1, writeUrl, tokenEnv: null, batchLines: 5000, gzip: true, refusedPath: "r" },
});
const plan = (...sinks: InfluxLinesSinkJson[]): PlanJson => ({
  format: PLAN_FORMAT,
  pipeline: "p",
  generatedFrom: "p.yaml",
  sparkConf: {},
  sources: [],
  views: [],
  sinks,
});

describe("influxDatabases", () => {
  it("finds each 1.x database once, with the URL its /query lives at", () => {
    const p = plan(
      sink("raw", "http://influx:8086/write?db=sensors&precision=ms"),
      sink("w5", "http://influx:8086/write?db=sensors&precision=ms"),
      sink("proxied", "https://gw.example/influx/write?db=other%20db"),
      sink("v2", "http://influx:8086/api/v2/write?org=o&bucket=b&precision=ms"),
    );
    expect(influxDatabases(p)).toEqual([
      { baseUrl: "http://influx:8086", database: "sensors" },
      { baseUrl: "https://gw.example/influx", database: "other db" },
    ]);
  });

  it("quotes names as InfluxQL identifiers", () => {
    expect(influxqlIdentifier('a "b" \\ c')).toBe('"a \\"b\\" \\\\ c"');
  });

  it("does not fail a start when InfluxDB cannot be reached, and says so", async () => {
    const said = await prepareInfluxDatabases(plan(sink("raw", "http://127.0.0.1:9/write?db=sensors")), 2_000);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^could not reach InfluxDB at http:\/\/127\.0\.0\.1:9 to create database sensors \(.+\); the job waits for it$/);
  });
});
