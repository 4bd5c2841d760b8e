import { describe, expect, it } from "vitest";
import { influxNameProblem, type InfluxNameKind } from "../../src/spec/influx-names.js";

const KINDS: readonly InfluxNameKind[] = ["measurement", "tag key", "field key"];

describe("influxNameProblem", () => {
  it.each(KINDS)("accepts ordinary names as a %s", (kind) => {
    expect(influxNameProblem("sensor_readings", kind)).toBeUndefined();
    expect(influxNameProblem("co2", kind)).toBeUndefined();
  });

  it.each(KINDS)("rejects an empty %s", (kind) => {
    expect(influxNameProblem("", kind)).toBe(`a ${kind} cannot be empty`);
  });

  it.each(KINDS)("rejects a leading _ in a %s", (kind) => {
    expect(influxNameProblem("_internal", kind)).toBe(`a ${kind} cannot begin with "_" (InfluxDB reserves that namespace)`);
  });

  it("accepts _ after the first character", () => {
    expect(influxNameProblem("a_", "tag key")).toBeUndefined();
  });

  it('rejects "time" as a tag key and as a field key', () => {
    expect(influxNameProblem("time", "tag key")).toBe('"time" cannot be a tag key (InfluxDB uses it for the timestamp)');
    expect(influxNameProblem("time", "field key")).toBe('"time" cannot be a field key (InfluxDB uses it for the timestamp)');
  });

  it('allows "time" as a measurement, and names that only contain "time"', () => {
    expect(influxNameProblem("time", "measurement")).toBeUndefined();
    expect(influxNameProblem("time_of_day", "field key")).toBeUndefined();
    expect(influxNameProblem("Time", "tag key")).toBeUndefined();
  });

  it.each(KINDS)("rejects a newline, tab or other control character in a %s", (kind) => {
    const expected = `a ${kind} cannot contain control characters or newlines`;
    expect(influxNameProblem("a\nb", kind)).toBe(expected);
    expect(influxNameProblem("a\tb", kind)).toBe(expected);
    expect(influxNameProblem("a\u0000", kind)).toBe(expected);
    expect(influxNameProblem("a\u007f", kind)).toBe(expected);
  });

  it("limits names to 255 UTF-8 bytes, not characters", () => {
    expect(influxNameProblem("a".repeat(255), "field key")).toBeUndefined();
    expect(influxNameProblem("a".repeat(256), "field key")).toBe("a field key is limited to 255 bytes here");
    // 128 two-byte characters: 128 characters, 256 bytes.
    expect(influxNameProblem("é".repeat(128), "measurement")).toBe("a measurement is limited to 255 bytes here");
  });

  it("reports the first problem: the _ rule before the control-character rule", () => {
    expect(influxNameProblem("_a\n", "tag key")).toBe('a tag key cannot begin with "_" (InfluxDB reserves that namespace)');
  });
});
