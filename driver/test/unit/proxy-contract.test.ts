/**
 * The message contract the compiler emits for the proxy, and the proxy's check of one reading
 * with it: every reason of a bad reading with its field and JSON path, and nothing refused that
 * the pipeline would accept (a string field takes any value, as Spark reads it).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { messageContract, type MessageContract } from "../../src/emit/message-contract.js";
import { buildPlan } from "../../src/plan/build-plan.js";
import { loadSpec } from "../../src/spec/load.js";
import { readingValidator, type Verdict } from "../../src/proxy/reading-validator.js";

const root = path.resolve(import.meta.dirname, "../../..");
const NOW = Date.UTC(2026, 10, 3, 9, 0, 0);
const DAY = 86_400_000;

function contractOf(specFile: string): MessageContract {
  const loaded = loadSpec(specFile, { env: {}, cwd: root });
  if (loaded.spec === undefined) throw new Error(JSON.stringify(loaded.diagnostics));
  return messageContract(buildPlan(loaded.spec, loaded.specFile));
}

/** A spec whose source differs from the default one: fields and event time as given. */
function contractWith(fields: string, eventTime: string): MessageContract {
  const dir = mkdtempSync(path.join(os.tmpdir(), "proxy-contract-"));
  const file = path.join(dir, "spec.yaml");
  writeFileSync(
    file,
    [
      "name: contract",
      "source:",
      "  kafka: { bootstrapServers: localhost:9092, topic: t }",
      "  fields:",
      ...fields
        .trim()
        .split("\n")
        .map((l) => `    ${l.trim()}`),
      `  eventTime: ${eventTime}`,
      "registry: { path: r.csv, key: DevEui, joinOn: device_id, columns: [classroom] }",
      "sinks: { raw: { path: raw }, rejected: { path: rejected } }",
      "",
    ].join("\n"),
  );
  return contractOf(file);
}

const schools = contractOf("conf/pipeline.yaml");
const check = readingValidator(schools, { maxReadingBytes: 4096 });

function reading(overrides: Record<string, unknown> = {}, payload: Record<string, unknown> = { temperature: 21.5, co2: 600 }): Record<string, unknown> {
  return { DevEui: "A1-IAQ", deviceName: "iaq-1", GWInfo: [{ gwname: "gw", sendtime: NOW - 1000 }], parsedPayload: payload, ...overrides };
}

function reasons(verdict: Verdict): Array<[string, string | undefined]> {
  if (verdict.ok) throw new Error("expected a rejection");
  return verdict.reasons.map((r) => [r.code, r.path]);
}

describe("the message contract of conf/pipeline.yaml", () => {
  it("is a draft 2020-12 JSON Schema that ajv compiles in strict mode", () => {
    const ajv = new Ajv2020({ strict: true, strictTuples: false });
    expect(() => ajv.compile(schools.schema)).not.toThrow();
    expect(schools.schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
  });

  it("requires the device id, the event time and what leads to them; the rest may be null or absent", () => {
    const schema = schools.schema as { required: string[]; properties: Record<string, Record<string, unknown>> };
    expect(schema.required).toEqual(["DevEui", "GWInfo"]);
    expect(schema.properties.DevEui).toMatchObject({ title: "device_id", not: { type: "null" } });
    expect(schema.properties.GWInfo).toMatchObject({
      type: "array",
      minItems: 1,
      prefixItems: [
        {
          type: "object",
          required: ["sendtime"],
          properties: { sendtime: { title: "sent_at", type: "integer", minimum: 946684800000, maximum: 253402300799999 } },
        },
      ],
      // Later elements share the shape, without the event time's range.
      items: { type: ["object", "null"], properties: { sendtime: { type: ["integer", "null"], minimum: -(2 ** 63), exclusiveMaximum: 2 ** 63 } } },
    });
    expect(schema.properties.parsedPayload).toMatchObject({
      type: ["object", "null"],
      properties: { co2: { type: ["number", "null"] }, light_level: { type: ["integer", "null"] } },
    });
    expect(schema.properties.parsedPayload!.required).toBeUndefined();
  });

  it("names the device key, the event time and the Kafka topic as templates", () => {
    expect(schools.deviceKey).toBe("device_id");
    expect(schools.eventTime).toMatchObject({ field: "sent_at", unit: "milliseconds", notBefore: "2000-01-01", notBeforeMs: Date.UTC(2000, 0, 1) });
    expect(schools.kafka).toEqual({ bootstrapServers: "${KAFKA_BOOTSTRAP:-localhost:9092}", topic: "${KAFKA_TOPIC:-live-data}" });
    expect(schools.fields.find((f) => f.name === "sent_at")).toEqual({
      name: "sent_at",
      path: "$.GWInfo[0].sendtime",
      pointer: ["GWInfo", 0, "sendtime"],
      type: "long",
      required: true,
    });
  });
});

describe("a reading checked against the contract", () => {
  it("accepts a reading, keyed by its device id, written again as compact JSON", () => {
    const verdict = check(JSON.parse(JSON.stringify(reading(), null, 2)), NOW);
    expect(verdict).toEqual({ ok: true, key: "A1-IAQ", value: JSON.stringify(reading()) });
  });

  it('takes any value for a string field, as Spark does (a number device id is the device "42")', () => {
    expect(check(reading({ DevEui: 42 }), NOW)).toMatchObject({ ok: true, key: "42" });
    expect(check(reading({ deviceName: { nested: true } }, { pir: 1 }), NOW)).toMatchObject({ ok: true });
  });

  it("takes null and absence alike for optional fields, and members the spec does not name", () => {
    expect(check(reading({ deviceName: null, extra: [1, 2] }, { temperature: null }), NOW).ok).toBe(true);
    expect(check(reading({ parsedPayload: null }), NOW).ok).toBe(true);
    expect(check({ DevEui: "A1", GWInfo: [{ sendtime: NOW }, { sendtime: 5 }, null] }, NOW).ok).toBe(true);
  });

  it("reports every reason of a bad reading, with field and path", () => {
    const verdict = check({ DevEui: null, GWInfo: [{ gwname: "g", sendtime: 5 }], parsedPayload: { co2: "600", light_level: 1.5, alarm: true } }, NOW);
    expect(reasons(verdict)).toEqual([
      ["missing-field", "$.DevEui"],
      ["event-time-out-of-range", "$.GWInfo[0].sendtime"],
      ["wrong-type", "$.parsedPayload.co2"],
      ["wrong-type", "$.parsedPayload.light_level"],
      ["wrong-type", "$.parsedPayload.alarm"],
    ]);
    expect(verdict.ok ? [] : verdict.reasons.map((r) => r.message)).toEqual([
      "missing required field device_id ($.DevEui)",
      "event time sent_at ($.GWInfo[0].sendtime) is out of range: not epoch milliseconds from 2000-01-01 to 9999-12-31",
      'a value does not match its declared type: co2 ($.parsedPayload.co2) is the string "600", not a number',
      "a value does not match its declared type: light_level ($.parsedPayload.light_level) is the number 1.5, not an integer (long)",
      "a value does not match its declared type: alarm ($.parsedPayload.alarm) is the boolean true, not an integer (long)",
    ]);
  });

  it.each<[string, unknown, Array<[string, string | undefined]>]>([
    ["no event time", reading({ GWInfo: [{ gwname: "g" }] }), [["missing-event-time", "$.GWInfo[0].sendtime"]]],
    ["an empty gateway list", reading({ GWInfo: [] }), [["missing-event-time", "$.GWInfo[0].sendtime"]]],
    ["no gateway list", { DevEui: "A1" }, [["missing-event-time", "$.GWInfo[0].sendtime"]]],
    ["a gateway object, not a list", reading({ GWInfo: { sendtime: NOW } }), [["wrong-type", "$.GWInfo"]]],
    ["an event time as text", reading({ GWInfo: [{ sendtime: String(NOW) }] }), [["wrong-type", "$.GWInfo[0].sendtime"]]],
    ["an event time in nanoseconds", reading({ GWInfo: [{ sendtime: NOW * 1e6 }] }), [["event-time-out-of-range", "$.GWInfo[0].sendtime"]]],
    ["an event time two days ahead", reading({ GWInfo: [{ sendtime: NOW + 2 * DAY }] }), [["event-time-ahead", "$.GWInfo[0].sendtime"]]],
    ["a payload that is a number", reading({ parsedPayload: 5 }), [["wrong-type", "$.parsedPayload"]]],
    ["a long beyond 2^63", reading({}, { light_level: 2 ** 64 }), [["wrong-type", "$.parsedPayload.light_level"]]],
    ["an array", [reading()], [["not-an-object", undefined]]],
    ["null", null, [["not-an-object", undefined]]],
    ["a string", "reading", [["not-an-object", undefined]]],
  ])("refuses %s", (_what, value, expected) => {
    expect(reasons(check(value, NOW))).toEqual(expected);
  });

  it("accepts an event time up to a day ahead of its clock (the pipeline checks its own maxAhead)", () => {
    expect(check(reading({ GWInfo: [{ sendtime: NOW + DAY }] }), NOW).ok).toBe(true);
    expect(check(reading({ GWInfo: [{ sendtime: NOW + DAY + 1 }] }), NOW).ok).toBe(false);
  });

  it("never accepts what the schema calls invalid, even where no reason of its own fits (an element after the indexed one)", () => {
    const verdict = check(JSON.parse(`{"DevEui":"gw1","GWInfo":[{"sendtime":${NOW}},{"sendtime":1e30}]}`), NOW);
    expect(reasons(verdict)).toEqual([["wrong-type", "$.GWInfo[1].sendtime"]]);
    expect(verdict.ok ? "" : verdict.reasons[0]!.message).toBe(
      "a value does not match the message schema at $.GWInfo[1].sendtime: the number 1e+30 must be < 9223372036854776000",
    );
  });

  it("refuses integers beyond 2^53, which would be written changed, except in double fields (the same double either way)", () => {
    const parsed = (text: string): unknown => JSON.parse(text);
    const sendtime = `"GWInfo":[{"sendtime":${NOW}}]`;
    const key = check(parsed(`{"DevEui":12345678901234567890,${sendtime}}`), NOW);
    expect(reasons(key)).toEqual([["unsafe-integer", "$.DevEui"]]);
    expect(key.ok ? undefined : key.reasons[0]).toEqual({
      code: "unsafe-integer",
      field: "device_id",
      path: "$.DevEui",
      message:
        "device_id ($.DevEui) is an integer beyond 2^53, which cannot be carried exactly (it would be written as 12345678901234567000); send it as a string",
    });
    expect(reasons(check(parsed(`{"DevEui":"A1",${sendtime},"parsedPayload":{"light_level":9007199254740993}}`), NOW))).toEqual([
      ["unsafe-integer", "$.parsedPayload.light_level"],
    ]);
    expect(reasons(check(parsed(`{"DevEui":"A1",${sendtime},"extra":[{"id":-9007199254740993}]}`), NOW))).toEqual([["unsafe-integer", "$.extra[0].id"]]);
    expect(check(parsed(`{"DevEui":"A1",${sendtime},"parsedPayload":{"light_level":9007199254740991,"co2":12345678901234567890}}`), NOW)).toMatchObject({
      ok: true,
    });
  });

  it("refuses a reading larger than one Kafka message may be, and one nested too deeply to write", () => {
    expect(reasons(check(reading({ note: "x".repeat(5000) }), NOW))).toEqual([["too-large", undefined]]);
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(reasons(readingValidator(schools, { maxReadingBytes: 1e9 })(reading({ deep }), NOW))).toEqual([["malformed", undefined]]);
  });
});

describe("other specs' contracts", () => {
  it("an int field has int's range; an event time in seconds has its range in seconds", () => {
    const contract = contractWith(
      `device_id: { path: $.id, type: string, required: true }
       t: { path: $.t, type: long }
       count: { path: $.n, type: int }
       ok: { path: $.ok, type: boolean, required: true }`,
      "{ field: t, unit: seconds, notBefore: 2020-01-01 }",
    );
    const properties = (contract.schema as { properties: Record<string, unknown> }).properties;
    expect(properties.t).toMatchObject({ type: "integer", minimum: Date.UTC(2020, 0, 1) / 1000, maximum: 253402300799 });
    expect((contract.schema as { required: string[] }).required).toEqual(["id", "t", "ok"]);
    const checkIt = readingValidator(contract, { maxReadingBytes: 4096 });
    const t = NOW / 1000;
    expect(checkIt({ id: "a", t, n: 2 ** 31 - 1, ok: false }, NOW).ok).toBe(true);
    expect(reasons(checkIt({ id: "a", t, n: 2 ** 31, ok: "yes" }, NOW))).toEqual([
      ["wrong-type", "$.n"],
      ["wrong-type", "$.ok"],
    ]);
    expect(reasons(checkIt({ id: "a", t: t + 2 * 86_400, ok: true }, NOW))).toEqual([["event-time-ahead", "$.t"]]);
  });

  it("an int in an array element after the indexed one is checked against int's range too", () => {
    const contract = contractWith(
      `device_id: { path: $.id, type: string, required: true }
       t: { path: $.t, type: long, required: true }
       count: { path: "$.items[0].n", type: int }`,
      "{ field: t, unit: milliseconds }",
    );
    const checkIt = readingValidator(contract, { maxReadingBytes: 4096 });
    expect(checkIt({ id: "a", t: NOW, items: [{ n: 1 }, { n: 2 ** 31 - 1 }] }, NOW).ok).toBe(true);
    expect(reasons(checkIt({ id: "a", t: NOW, items: [{ n: 1 }, { n: 2 ** 31 }] }, NOW))).toEqual([["wrong-type", "$.items[1].n"]]);
  });

  it("an event time may be as far ahead of the clock as the spec's maxAhead when that is more than a day", () => {
    const contract = contractWith(
      `device_id: { path: $.id, type: string, required: true }`.concat("\n", "t: { path: $.t, type: long, required: true }"),
      '{ field: t, unit: milliseconds, maxAhead: "3 days" }',
    );
    expect(contract.eventTime.maxAheadOfClock).toEqual({ ms: 3 * DAY, text: "3 days" });
    expect(schools.eventTime.maxAheadOfClock, "the watermark's 2 minutes: still a day").toEqual({ ms: DAY, text: "1 day" });
    const checkIt = readingValidator(contract, { maxReadingBytes: 4096 });
    expect(checkIt({ id: "a", t: NOW + 2 * DAY }, NOW).ok).toBe(true);
    const ahead = checkIt({ id: "a", t: NOW + 4 * DAY }, NOW);
    expect(ahead.ok ? "" : ahead.reasons[0]!.message).toMatch(/^event time t \(\$\.t\) is more than 3 days ahead of the proxy's clock/);
  });

  it("an ISO-8601 event time is compared with the clock; text Spark may still read is left to it", () => {
    const contract = contractWith(
      `device_id: { path: $.id, type: string, required: true }
       at: { path: $.at, type: string, required: true }`,
      "{ field: at, unit: iso8601 }",
    );
    const checkIt = readingValidator(contract, { maxReadingBytes: 4096 });
    expect(checkIt({ id: "a", at: "2026-11-03T09:00:00Z" }, NOW).ok).toBe(true);
    expect(checkIt({ id: "a", at: "2026-11-03 10:00:00.123+01:00" }, NOW).ok).toBe(true);
    expect(checkIt({ id: "a", at: "2026" }, NOW).ok).toBe(true);
    expect(reasons(checkIt({ id: "a", at: "2026-11-05T09:00:00Z" }, NOW))).toEqual([["event-time-ahead", "$.at"]]);
    expect(reasons(checkIt({ id: "a", at: "1999-12-31T23:59:59Z" }, NOW))).toEqual([["event-time-out-of-range", "$.at"]]);
    expect(reasons(checkIt({ id: "a" }, NOW))).toEqual([["missing-event-time", "$.at"]]);
  });
});
