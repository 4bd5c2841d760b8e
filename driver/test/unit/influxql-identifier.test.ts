/**
 * Database and measurement names in InfluxQL statements of the tests' InfluxDB helper; the same
 * escaping as start's database preparation (deploy/influx-database.ts), which the line-protocol
 * e2e test runs against a real InfluxDB.
 */
import { describe, expect, it } from "vitest";
import { influxqlIdentifier } from "../e2e/support/influx.js";

describe("influxqlIdentifier", () => {
  it.each([
    ["sensors", '"sensors"'],
    ["odd db", '"odd db"'],
    ['a"b', '"a\\"b"'],
    ["a\\b", '"a\\\\b"'],
    ['\\"', '"\\\\\\""'],
    ["é😀", '"é😀"'],
  ])("%j is written %s", (name, written) => {
    expect(influxqlIdentifier(name)).toBe(written);
  });
});
