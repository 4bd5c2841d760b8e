import { describe, expect, it } from "vitest";
import { influxDatabaseProblem, influxNameProblem, type InfluxNameKind } from "../../src/spec/influx-names.js";

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

  it('rejects a measurement beginning with "#": InfluxDB reads the line as a comment', () => {
    expect(influxNameProblem("#readings", "measurement")).toBe('a measurement cannot begin with "#" (InfluxDB reads the line as a comment and drops it)');
    expect(influxNameProblem("readings#", "measurement")).toBeUndefined();
    expect(influxNameProblem("#tag", "tag key")).toBeUndefined();
  });

  it.each(KINDS)("rejects a backslash anywhere in a %s", (kind) => {
    const expected = `a ${kind} cannot contain a backslash (line protocol's escape character, which InfluxDB does not read back reliably in names)`;
    for (const name of ["a\\b", "ab\\", "\\ab", "a\\,b"]) expect(influxNameProblem(name, kind), name).toBe(expected);
  });

  it.each(KINDS)("accepts commas, spaces, equals signs, quotes and non-ASCII in a %s (they are escaped)", (kind) => {
    expect(influxNameProblem('a, b="c"=d é😀', kind)).toBeUndefined();
  });
});

describe("influxDatabaseProblem (InfluxDB 1.x ValidName)", () => {
  it("accepts names CREATE DATABASE accepts, double quotes and spaces included", () => {
    for (const name of ["sensors", "odd db", 'a"b', "é€", "_internal_copy", "a.b"]) expect(influxDatabaseProblem(name), name).toBeUndefined();
  });

  it('rejects what InfluxDB answers with "invalid name"', () => {
    expect(influxDatabaseProblem("")).toBe("a database name cannot be empty");
    expect(influxDatabaseProblem(".")).toBe('a database cannot be named "."');
    expect(influxDatabaseProblem("..")).toBe('a database cannot be named ".."');
    expect(influxDatabaseProblem("a/b")).toBe('a database name cannot contain "/" or "\\"');
    expect(influxDatabaseProblem("a\\b")).toBe('a database name cannot contain "/" or "\\"');
    for (const name of ["a\nb", "a\tb", "a\u00a0b", "a\u2028b", "a\u0000"]) {
      expect(influxDatabaseProblem(name), JSON.stringify(name)).toBe(
        "a database name cannot contain control characters, newlines or spaces other than the plain space",
      );
    }
  });
});
