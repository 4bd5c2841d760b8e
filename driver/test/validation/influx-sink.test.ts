/**
 * InfluxDB names that validate today but that InfluxDB drops, refuses or reads back differently,
 * and the dead-letter folder of refused points (`sinks.influxdb.refusedPath`).
 */
import { describe, expect, it } from "vitest";
import { buildPlan } from "../../src/plan/build-plan.js";
import type { InfluxSinkNode } from "../../src/plan/nodes.js";
import { at, BASE_SPEC, check, edit, expectDiagnostics, expectOnly, expectValid } from "./spec-fixture.js";

describe("InfluxDB names", () => {
  it('a measurement beginning with "#" (InfluxDB would skip every line as a comment)', () => {
    const text = edit(BASE_SPEC, "      raw: sensor_readings", '      raw: "#readings"');
    expectOnly(text, {
      code: "bad-influx-name",
      at: at(text, '      raw: "#readings"', '"#readings"'),
      message: 'measurement "#readings": a measurement cannot begin with "#" (InfluxDB reads the line as a comment and drops it)',
      hint: "choose another measurement name",
    });
  });

  it('"#" later in a measurement is fine', () => {
    expectValid(edit(BASE_SPEC, "      raw: sensor_readings", '      raw: "readings#1"'));
  });

  it("a measurement with a backslash", () => {
    const text = edit(BASE_SPEC, "      statistics: classroom_statistics", "      statistics: 'stats\\'");
    expectOnly(text, {
      code: "bad-influx-name",
      at: at(text, "statistics: 'stats", "'stats"),
      message: ['measurement "stats\\": a measurement cannot contain a backslash'],
    });
  });

  it("an empty measurement", () => {
    const text = edit(BASE_SPEC, "      correlations: classroom_correlations", '      correlations: ""');
    expectOnly(text, { code: "bad-influx-name", at: at(text, 'correlations: ""', '""'), message: 'measurement "": a measurement cannot be empty' });
  });

  it("commas, spaces, equals signs and quotes in a measurement are escaped, not refused", () => {
    expectValid(edit(BASE_SPEC, "      raw: sensor_readings", "      raw: 'sensor readings, \"raw\"=1'"));
  });
});

describe("InfluxDB database names", () => {
  it.each([
    ['"a/b"', "a/b", 'a database name cannot contain "/" or "\\"'],
    ["'a\\b'", "a\\b", 'a database name cannot contain "/" or "\\"'],
    ['".."', "..", 'a database cannot be named ".."'],
    ['"a\\tb"', "a\tb", "a database name cannot contain control characters, newlines or spaces other than the plain space"],
  ])("refuses %s", (yaml, name, problem) => {
    const text = edit(BASE_SPEC, "    database: sensors", `    database: ${yaml}`);
    expectOnly(text, {
      code: "bad-influx-name",
      at: at(text, `    database: ${yaml}`, yaml),
      message: `sinks.influxdb.database "${name}": ${problem}`,
      hint: "choose another database name, e.g. sensors",
    });
  });

  it('accepts spaces, quotes and other printable characters (scripts quote them as "a \\"b\\"")', () => {
    expectValid(edit(BASE_SPEC, "    database: sensors", "    database: 'schools \"north\" é'"));
  });
});

describe("sinks.influxdb.refusedPath", () => {
  const influxSinks = (text: string): InfluxSinkNode[] =>
    buildPlan(expectValid(text), "spec.yaml").sinks.filter((s): s is InfluxSinkNode => s.kind === "influx-sink");
  const refused = "    refusedPath: ${INFLUX_REFUSED_PATH:-.local-stack/data/schools/influx-refused}\n";

  it("is the same template for every InfluxDB sink", () => {
    const sinks = influxSinks(BASE_SPEC);
    expect(sinks).toHaveLength(3);
    for (const sink of sinks) expect(sink.refusedPath).toBe("${INFLUX_REFUSED_PATH:-.local-stack/data/schools/influx-refused}");
  });

  it.each([
    ["${REJECTED_PATH:-.local-stack/data/schools/rejected}", "${REJECTED_PATH:-.local-stack/data/schools/rejected}/../influx-refused"],
    ["${DATA_DIR:-data}/schools/rejected/", "${DATA_DIR:-data}/schools/influx-refused"],
    ["hdfs://namenode:9000/data/rejected", "hdfs://namenode:9000/data/influx-refused"],
    ["/rejected", "/influx-refused"],
    ["rejected", "rejected/../influx-refused"],
    ["/data/${REJECTED_DIR:-rejected}", "/data/${REJECTED_DIR:-rejected}/../influx-refused"],
  ])("defaults to influx-refused beside the rejected folder %s", (rejected, expected) => {
    let text = edit(BASE_SPEC, refused, "");
    text = edit(text, "path: ${REJECTED_PATH:-.local-stack/data/schools/rejected}", `path: "${rejected}"`);
    expect(influxSinks(text).map((s) => s.refusedPath)).toEqual([expected, expected, expected]);
  });

  it("may not be inside the rejected readings' folder (nor be that folder)", () => {
    const text = edit(BASE_SPEC, refused, "    refusedPath: .local-stack/data/schools/rejected/refused\n");
    expectOnly(text, {
      code: "bad-value",
      at: at(text, "refusedPath: .local-stack", ".local-stack"),
      message: 'sinks.influxdb.refusedPath ".local-stack/data/schools/rejected/refused" overlaps sinks.rejected.path ".local-stack/data/schools/rejected"',
      hint: "give the refused points a folder of their own, e.g. beside the rejected readings",
    });
  });

  it("may not hold the other sinks' folders", () => {
    const text = edit(BASE_SPEC, refused, "    refusedPath: .local-stack/data/schools/\n");
    const where = at(text, "refusedPath: .local-stack", ".local-stack");
    expectDiagnostics(check(text).diagnostics, [
      { code: "bad-value", at: where, message: ['overlaps sinks.raw.path ".local-stack/data/schools/raw"'] },
      { code: "bad-value", at: where, message: ['overlaps sinks.rejected.path ".local-stack/data/schools/rejected"'] },
    ]);
  });

  it("may use ${VAR}, and needs its variables", () => {
    const text = edit(BASE_SPEC, refused, "    refusedPath: ${REFUSED}\n");
    expectOnly(text, {
      code: "unset-variable",
      at: at(text, "refusedPath: ${REFUSED}", "${REFUSED}"),
      message: "sinks.influxdb.refusedPath uses ${REFUSED}, which is not set and has no default",
    });
  });
});
