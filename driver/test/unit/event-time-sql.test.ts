/**
 * The event time in SQL: the raw value is range-checked in its own unit before it is converted,
 * so nothing can overflow, and each way of failing has its own reject reason. The SQL is stated
 * inline; driver/test/e2e/spark-accepts-sql.e2e.test.ts runs it on Spark through the fixtures.
 */
import { describe, expect, it } from "vitest";
import { joinRegistrySql } from "../../src/emit/sql/join-registry.js";
import { parseMessagesSql } from "../../src/emit/sql/parse-messages.js";
import type { EventTimeNode, JoinRegistryNode, ParseMessagesNode } from "../../src/plan/nodes.js";
import { parseJsonPath } from "../../src/spec/json-path.js";
import type { FieldType, TimeUnit } from "../../src/spec/pipeline-schema.js";
import { fromMilliseconds } from "../../src/spec/duration.js";

const PATH = (() => {
  const parsed = parseJsonPath("$.GWInfo[0].sendtime");
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.steps;
})();
const Y2000 = { text: "2000-01-01", ms: Date.UTC(2000, 0, 1) };

function eventTime(unit: TimeUnit, notBefore = Y2000): EventTimeNode {
  return { field: "sent_at", unit, notBefore };
}

function eventTimeSql(unit: TimeUnit, type: FieldType, notBefore = Y2000): string {
  const node: ParseMessagesNode = {
    kind: "parse-messages",
    from: "kafka_readings",
    schema: {
      kind: "struct",
      members: new Map([["GWInfo", { kind: "array", element: { kind: "struct", members: new Map([["sendtime", { kind: "leaf", type }]]) } }]]),
    },
    fields: [{ name: "sent_at", path: PATH, type, required: true }],
    eventTime: eventTime(unit, notBefore),
  };
  const sql = parseMessagesSql(node);
  return sql.slice(sql.indexOf("  CASE"), sql.indexOf(" AS event_time"));
}

const V = "get(json.GWInfo, 0).sendtime";

describe("the event time is range-checked before it is converted", () => {
  it.each<[TimeUnit, FieldType, string, string]>([
    ["milliseconds", "long", "946684800000 AND 253402300799999", `timestamp_millis(${V})`],
    ["milliseconds", "double", "946684800000 AND 253402300799999", `timestamp_millis(CAST(${V} AS BIGINT))`],
    ["seconds", "long", "946684800 AND 253402300799", `timestamp_seconds(${V})`],
    ["seconds", "int", "946684800 AND 253402300799", `timestamp_seconds(${V})`],
    ["seconds", "double", "946684800 AND 253402300799", `timestamp_seconds(${V})`],
    ["microseconds", "long", "946684800000000 AND 253402300799999999", `timestamp_micros(${V})`],
    ["microseconds", "double", "946684800000000 AND 253402300799999999", `timestamp_micros(CAST(${V} AS BIGINT))`],
  ])("%s in a %s field: BETWEEN %s, then %s", (unit, type, range, conversion) => {
    expect(eventTimeSql(unit, type)).toBe(`  CASE\n    WHEN ${V} BETWEEN ${range}\n    THEN ${conversion}\n  END`);
  });

  it("an ISO-8601 string is parsed with try_to_timestamp and the result range-checked", () => {
    const time = `try_to_timestamp(${V})`;
    expect(eventTimeSql("iso8601", "string")).toBe(
      `  CASE\n    WHEN ${time} BETWEEN TIMESTAMP '2000-01-01 00:00:00' AND TIMESTAMP '9999-12-31 23:59:59.999999'\n    THEN ${time}\n  END`,
    );
  });

  it("notBefore sets the lower bound in the field's unit, exactly, also before 1970", () => {
    const y1678 = { text: "1678-01-01", ms: Date.UTC(1678, 0, 1) };
    expect(eventTimeSql("microseconds", "long", y1678)).toContain(`BETWEEN ${BigInt(y1678.ms) * 1000n} AND 253402300799999999`);
    expect(eventTimeSql("seconds", "long", y1678)).toContain(`BETWEEN ${y1678.ms / 1000} AND 253402300799`);
    expect(eventTimeSql("iso8601", "string", { text: "2024-02-29", ms: Date.UTC(2024, 1, 29) })).toContain("TIMESTAMP '2024-02-29 00:00:00'");
  });
});

describe("event-time reject reasons", () => {
  function reasons(unit: TimeUnit, aheadMs: number): string {
    const node: JoinRegistryNode = {
      kind: "join-registry",
      readings: "parsed_readings",
      devices: "registry_devices",
      joinOn: "device_id",
      key: "DevEui",
      fields: ["device_id", "sent_at"],
      registryColumns: ["classroom"],
      rejectRules: [
        { kind: "missing-event-time", field: "sent_at", path: PATH },
        { kind: "event-time-out-of-range", path: PATH, eventTime: eventTime(unit) },
        { kind: "event-time-ahead", field: "sent_at", path: PATH, maxAhead: fromMilliseconds(aheadMs) },
      ],
    };
    const sql = joinRegistrySql(node);
    return sql.slice(sql.indexOf("  CASE"), sql.indexOf(" AS reject_reason"));
  }

  it("tells a missing value (the raw field is null) from one out of range (no time was made of it) and one too far ahead", () => {
    expect(reasons("milliseconds", 86_400_000)).toBe(
      [
        "  CASE",
        "    WHEN reading.sent_at IS NULL THEN 'missing or invalid event time sent_at ($.GWInfo[0].sendtime)'",
        "    WHEN reading.event_time IS NULL THEN " +
          "'event time sent_at ($.GWInfo[0].sendtime) is out of range: not epoch milliseconds from 2000-01-01 to 9999-12-31'",
        "    WHEN unix_millis(reading.event_time) - 86400000 > unix_millis(reading.kafka_timestamp) THEN " +
          "'event time sent_at ($.GWInfo[0].sendtime) is more than 1 day ahead of its Kafka timestamp'",
        "  END",
      ].join("\n"),
    );
  });

  it.each<[TimeUnit, string]>([
    ["seconds", "not epoch seconds from"],
    ["microseconds", "not epoch microseconds from"],
    ["iso8601", "not an ISO-8601 time from"],
  ])("names the unit (%s) in the out-of-range reason", (unit, text) => {
    expect(reasons(unit, 600_000)).toContain(`is out of range: ${text} 2000-01-01 to 9999-12-31'`);
    expect(reasons(unit, 600_000)).toContain(
      "- 600000 > unix_millis(reading.kafka_timestamp) THEN 'event time sent_at ($.GWInfo[0].sendtime) is more than 10 minutes ahead of its Kafka timestamp'",
    );
  });
});
