/**
 * Line-protocol escaping, with the cases tried against InfluxDB 1.6 by hand (what each line
 * reads back as is in the comment). driver/test/e2e/line-protocol-property.e2e.test.ts checks
 * arbitrary strings against a real InfluxDB, and the SQL twins against Spark.
 */
import { describe, expect, it } from "vitest";
import { escapeKey, escapeMeasurement, escapeStringField, escapeTagValue, stringValueSql, tagValueSql } from "../../src/emit/sql/line-protocol-escaping.js";

describe("escapeTagValue", () => {
  it.each([
    // `m,t=a\,b\=c\ d` reads back as `a,b=c d`.
    ["a,b=c d", "a\\,b\\=c\\ d"],
    // A backslash before an ordinary character stays: `t=a\b` reads back as `a\b`.
    ["a\\b", "a\\b"],
    // Quotes mean nothing in a tag value: `t=a"b` reads back as `a"b`.
    ['a"b', 'a"b'],
    ["#1", "#1"],
    ["é€😀\t\u0000", "é€😀\t\u0000"],
  ])("%j is written %j", (value, written) => {
    expect(escapeTagValue(value)).toBe(written);
  });

  it.each([
    // `t=B12\ f=1` is refused ("invalid tag format"): the space after the backslash counts as escaped.
    ["B12\\", "B12\uFFFD"],
    ["B12\\\\", "B12\\\uFFFD"],
    // `t=a\\,b` parses alone but breaks the next line of a request: the backslash is replaced.
    ["a\\,b", "a\uFFFD\\,b"],
    ["x\\ y\\=z", "x\uFFFD\\ y\uFFFD\\=z"],
  ])("a backslash at the end or before a comma, equals sign or space is replaced: %j is written %j", (value, written) => {
    expect(escapeTagValue(value)).toBe(written);
  });

  it("turns carriage returns and newlines into spaces, which are then escaped", () => {
    expect(escapeTagValue("a\r\nb\\\n")).toBe("a\\ \\ b\uFFFD\\ ");
  });
});

describe("escapeStringField", () => {
  it.each([
    // `s="B12\\"` reads back as `B12\`, `s="a\"b"` as `a"b`.
    ["B12\\", "B12\\\\"],
    ['a"b', 'a\\"b'],
    ['a\\"b', 'a\\\\\\"b'],
    ["a,b=c d", "a,b=c d"],
    ["", ""],
  ])("%j is written %j", (value, written) => {
    expect(escapeStringField(value)).toBe(written);
  });

  it("turns carriage returns and newlines into spaces", () => {
    expect(escapeStringField("a\r\nb")).toBe("a  b");
  });
});

describe("names", () => {
  it('a measurement escapes commas and spaces only: `a=b` and `a"b` read back as written', () => {
    expect(escapeMeasurement('sensor readings,x=1"')).toBe('sensor\\ readings\\,x=1"');
  });

  it("a tag or field key escapes commas, equals signs and spaces", () => {
    expect(escapeKey("a,b=c d")).toBe("a\\,b\\=c\\ d");
  });
});

describe("the SQL twins", () => {
  it("tag values: newlines to spaces, the unrepresentable backslash to U+FFFD (a pattern, only when there is a backslash), then the escapes", () => {
    const oneLine = "translate(classroom, '\\r\\n', '  ')";
    expect(tagValueSql("classroom")).toBe(
      "replace(replace(replace(" +
        `IF(instr(${oneLine}, '\\\\') = 0, ${oneLine}, regexp_replace(${oneLine}, '\\\\\\\\(?=[,= ]|\\\\z)', '\\uFFFD'))` +
        ", ',', '\\\\,'), '=', '\\\\='), ' ', '\\\\ ')",
    );
  });

  it("string fields: newlines to spaces, then backslashes and double quotes escaped, without a pattern", () => {
    expect(stringValueSql("pir")).toBe("replace(replace(translate(pir, '\\r\\n', '  '), '\\\\', '\\\\\\\\'), '\"', '\\\\\"')");
  });
});
