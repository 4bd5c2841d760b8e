/**
 * A value that is present but invalid already has its diagnostic; the cross-reference checks
 * must neither report it again as "missing"/"unknown" nor stop checking the rest of the spec
 * (decoders.ts: "mappings and lists keep whatever did decode, as a value of the schema's partial
 * type, so the cross-reference checks can still run on the rest"; validate-spec.ts: "A check
 * that needs an absent part says nothing about it (that part already has its diagnostic) and the
 * other checks still report").
 *
 * Each case has a test for the primary diagnostic (exact code and position) and one for the
 * exact list of diagnostics: no extra "missing" or "unknown" follow-ups.
 */
import { describe, expect, it } from "vitest";
import { at, BASE_SPEC, check, edit, expectDiagnostics, type Expected } from "./spec-fixture.js";

interface Case {
  readonly title: string;
  readonly text: string;
  /** Exactly what should be reported. */
  readonly expected: readonly Expected[];
}

const cases: Case[] = [];

{
  const text = edit(BASE_SPEC, "watermark: 2 minutes", "watermark: 5 minuts");
  cases.push({
    // today also: missing-watermark at the windows list ("add source.watermark").
    title: "a watermark with a bad unit is not also reported as missing",
    text,
    expected: [{ code: "bad-duration", at: at(text, "watermark: 5 minuts", "5 minuts"), message: ['"minuts"'] }],
  });
}
{
  const text = edit(BASE_SPEC, "watermark: 2 minutes", "watermark: 120");
  cases.push({
    // today also: missing-watermark.
    title: "a watermark of the wrong type is not also reported as missing",
    text,
    expected: [{ code: "wrong-type", at: at(text, "watermark: 120", "120") }],
  });
}
{
  const text = edit(BASE_SPEC, "watermark: 2 minutes", "watermark: ${WATERMARK:-2 minutes}");
  cases.push({
    // today also: missing-watermark.
    title: "a watermark using ${...} is not also reported as missing",
    text,
    expected: [{ code: "bad-interpolation", at: at(text, "watermark: ${", "${") }],
  });
}
{
  const text = edit(BASE_SPEC, "database: sensors", "database: ${INFLUX_DB:-sensors}");
  cases.push({
    // today also: missing-key 'sinks.influxdb is missing "database", which InfluxDB 1 needs'.
    title: "an InfluxDB database using ${...} is not also reported as missing",
    text,
    expected: [{ code: "bad-interpolation", at: at(text, "database: ${", "${") }],
  });
}
{
  const text = edit(BASE_SPEC, "    version: 1", "    version: 2\n    org: schools\n    bucket: sensors\n    tokenEnv: influx-token");
  cases.push({
    // today also: missing-key 'sinks.influxdb is missing "tokenEnv", which InfluxDB 2 needs'.
    title: "an invalid tokenEnv name is not also reported as missing",
    text,
    expected: [{ code: "bad-value", at: at(text, "tokenEnv: influx-token", "influx-token"), message: ['"influx-token"'] }],
  });
}
{
  const text = edit(BASE_SPEC, "{ path: $.parsedPayload.co2, type: double }", "{ path: $.parsedPayload.co2, type: float }");
  cases.push({
    // today also: unknown-field 'statistics.metrics names "co2", which is not a message field'
    // and the same for correlations.allPairsOf: the field is declared, only its type is bad.
    title: "a field with a bad type is not also reported as unknown where it is used",
    text,
    expected: [
      {
        code: "bad-value",
        at: at(text, "co2, type: float", "float"),
        message: 'source.fields.co2.type "float" is not allowed',
        hint: "allowed: string, int, long, double, boolean",
      },
    ],
  });
}
{
  const text = edit(BASE_SPEC, "  columns: [institute, profile, classroom]", "  columns: institute");
  cases.push({
    // today also: seven unknown-field diagnostics, "institute"/"classroom"/"profile" "is not a
    // field or registry column", for both windows' groupBy and the InfluxDB raw tags.
    title: "registry columns of the wrong type do not make every use of them unknown",
    text,
    expected: [{ code: "wrong-type", at: at(text, "  columns: institute", "institute") }],
  });
}
describe("primary diagnostic of each case (code and exact position)", () => {
  it.each(cases)("$title", ({ text, expected }) => {
    const first = expected[0]!;
    const diagnostics = check(text).diagnostics;
    expect(diagnostics.map((d) => `${d.code} ${d.pos.line}:${d.pos.col}`)).toContain(`${first.code} ${first.at.line}:${first.at.col}`);
  });
});

describe("no follow-up diagnostics", () => {
  for (const { title, text, expected } of cases) {
    it(title, () => {
      expectDiagnostics(check(text).diagnostics, expected);
    });
  }
});

describe("checks after a skipped one still run", () => {
  const text = edit(
    edit(BASE_SPEC, "      raw: sensor_readings", "      raw: ${MEASUREMENT}"),
    "tags: [institute, classroom, profile, device_id]",
    "tags: [institute, room]",
  );

  it("each problem alone is reported", () => {
    const measurementOnly = edit(BASE_SPEC, "      raw: sensor_readings", "      raw: ${MEASUREMENT}");
    expect(check(measurementOnly).diagnostics.map((d) => d.code)).toEqual(["bad-interpolation"]);
    const tagOnly = edit(BASE_SPEC, "tags: [institute, classroom, profile, device_id]", "tags: [institute, room]");
    expect(check(tagOnly).diagnostics.map((d) => d.code)).toEqual(["unknown-field"]);
  });

  // Regression test: this was once wrong (see the test's name).
  it("an undecodable measurement name does not hide an unknown raw tag", () => {
    expectDiagnostics(check(text).diagnostics, [
      { code: "bad-interpolation", at: at(text, "raw: ${MEASUREMENT}", "${") },
      { code: "unknown-field", at: at(text, "tags: [institute, room]", "room"), message: ['"room"'] },
    ]);
  });
});
