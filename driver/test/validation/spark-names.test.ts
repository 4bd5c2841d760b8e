/**
 * Field paths that validate as JSON paths but that Spark cannot run: the corrupt-record column's
 * name, members that differ only in case, control characters in member names. Each is refused at
 * the offending path.
 */
import { describe, it } from "vitest";
import { at, BASE_SPEC, edit, expectOnly, expectValid } from "./spec-fixture.js";

const PIR_LINE = "    pir:               { path: $.parsedPayload.pir, type: string }\n";

function withField(line: string): string {
  return edit(BASE_SPEC, PIR_LINE, `${PIR_LINE}${line}\n`);
}

describe("message paths Spark cannot run", () => {
  it("$._corrupt_record, the column Spark keeps unparseable messages in", () => {
    const text = withField("    corrupt: { path: $._corrupt_record, type: string }");
    expectOnly(text, {
      code: "bad-json-path",
      at: at(text, "path: $._corrupt_record", "$._corrupt_record"),
      message: 'field "corrupt": its path reads $._corrupt_record, but "_corrupt_record" is the column Spark\'s JSON parser keeps unparseable messages in',
      hint: "make the paths agree on the message's shape",
    });
  });

  it("the corrupt-record name in another case", () => {
    const text = withField("    corrupt: { path: \"$['_Corrupt_Record'].x\", type: long }");
    expectOnly(text, { code: "bad-json-path", at: at(text, "path: \"$['_Corrupt", '"$'), message: ['"_corrupt_record" is the column'] });
  });

  it("a nested member named _corrupt_record is fine", () => {
    expectValid(withField("    corrupt: { path: $.parsedPayload._corrupt_record, type: string }"));
  });

  it("two paths that differ only in case ($.parsedPayload.co2 and $.parsedPayload.CO2)", () => {
    const text = withField("    co2_upper: { path: $.parsedPayload.CO2, type: double }");
    expectOnly(text, {
      code: "bad-json-path",
      at: at(text, "path: $.parsedPayload.CO2", "$.parsedPayload.CO2"),
      message:
        'field "co2_upper": its path reads $.parsedPayload.CO2, which differs only in case from $.parsedPayload.co2 ' +
        'read by field "co2" (Spark compares member names without case)',
    });
  });

  it("top-level members that differ only in case", () => {
    const text = withField("    eui: { path: $.deveui, type: string }");
    expectOnly(text, { code: "bad-json-path", at: at(text, "path: $.deveui", "$.deveui"), message: ["$.deveui, which differs only in case from $.DevEui"] });
  });

  it("the same path read by two fields is fine", () => {
    expectValid(withField("    co2_again: { path: $.parsedPayload.co2, type: double }"));
  });

  it("a member name with a newline", () => {
    const text = withField("    odd: { path: \"$['a\\nb']\", type: string }");
    expectOnly(text, {
      code: "bad-json-path",
      at: at(text, "path: \"$['a", '"$'),
      message:
        'source.fields.odd.path: member name "a\\nb" at character 4 contains the control character U+000A: ' +
        "the generated SQL and its schema cannot carry control characters in names",
    });
  });

  it("a member name with a tab or another control character", () => {
    const text = withField("    odd: { path: \"$.x['tab\\there']\", type: string }");
    expectOnly(text, { code: "bad-json-path", at: at(text, 'path: "$.x', '"$'), message: ["contains the control character U+0009"] });
  });
});
