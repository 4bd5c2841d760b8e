import { describe, expect, it } from "vitest";
import { duration, integer, list, name, object, oneOf, optional, required, setting, string, withDefault, type DecodeContext } from "../../src/spec/decoders.js";
import type { Environment } from "../../src/spec/interpolation.js";
import type { LocatedNode, ScalarValue } from "../../src/spec/located.js";
import { parseLocatedYaml } from "../../src/spec/located.js";
import { pipelineSchema } from "../../src/spec/pipeline-schema.js";

const pos = { file: "f.yaml", line: 3, col: 7 };
const scalar = (value: ScalarValue): LocatedNode => ({ kind: "scalar", value, pos });
const ctx = (env: Environment = {}): DecodeContext => ({ diagnostics: [], env });
const codes = (c: DecodeContext) => c.diagnostics.map((d) => d.code);

function yamlRoot(text: string): LocatedNode {
  const parsed = parseLocatedYaml(text, "f.yaml");
  if (parsed.root === undefined) throw new Error(JSON.stringify(parsed.diagnostics));
  return parsed.root;
}

describe("name()", () => {
  it("accepts SQL/InfluxDB-safe names", () => {
    const c = ctx();
    expect(name().decode(scalar("co2_ppm"), "x", c)).toEqual({ value: "co2_ppm", pos });
    expect(name().decode(scalar("_x1"), "x", c)).toEqual({ value: "_x1", pos });
    expect(c.diagnostics).toEqual([]);
  });

  it.each(["co2-ppm", "2020", "a b", ""])("rejects the string %j with bad-value", (text) => {
    const c = ctx();
    expect(name().decode(scalar(text), "registry.columns[0]", c)).toBeUndefined();
    expect(c.diagnostics).toEqual([
      {
        code: "bad-value",
        pos,
        message: `registry.columns[0] "${text}" is not valid`,
        hint: "use letters, digits and _, starting with a letter or _ (e.g. co2_ppm)",
      },
    ]);
  });

  // Regression test: this was once wrong (see the test's name).
  it("rejects an unquoted number, as it rejects the same text quoted", () => {
    const c = ctx();
    expect(name().decode(scalar(2020), "registry.columns[3]", c)).toBeUndefined();
    expect(codes(c)).toEqual(["bad-value"]);
  });
});

describe("string()", () => {
  it("turns numbers and booleans into their text", () => {
    const c = ctx();
    expect(string().decode(scalar(1), "x", c)).toEqual({ value: "1", pos });
    expect(string().decode(scalar(true), "x", c)).toEqual({ value: "true", pos });
    expect(c.diagnostics).toEqual([]);
  });

  it("rejects ${...} with bad-interpolation", () => {
    const c = ctx({ DB: "x" });
    expect(string().decode(scalar("${DB}"), "sinks.influxdb.database", c)).toBeUndefined();
    expect(c.diagnostics).toEqual([
      {
        code: "bad-interpolation",
        pos,
        message: "sinks.influxdb.database cannot use ${...}: variables are only resolved in endpoint and path settings",
        hint: "write the value itself here, or override it in a profile (--profile)",
      },
    ]);
  });

  it("accepts a literal $$ and a $ that does not start a variable", () => {
    const c = ctx();
    expect(string().decode(scalar("a$${B}"), "x", c)?.value).toBe("a$${B}");
    expect(string().decode(scalar("$5"), "x", c)?.value).toBe("$5");
    expect(c.diagnostics).toEqual([]);
  });

  it("rejects null and collections with wrong-type", () => {
    const c = ctx();
    expect(string().decode(scalar(null), "d", c)).toBeUndefined();
    expect(c.diagnostics[0]).toEqual({
      code: "wrong-type",
      pos,
      message: "d must be a string, found nothing (null)",
      hint: "write a string here",
    });
  });
});

describe("setting()", () => {
  it("keeps the template and resolves the value", () => {
    const c = ctx({ HOST: "kafka" });
    expect(setting().decode(scalar("${HOST}:${PORT:-9092}"), "k", c)).toEqual({
      template: "${HOST}:${PORT:-9092}",
      value: "kafka:9092",
      pos,
    });
    expect(c.diagnostics).toEqual([]);
  });

  it("reports each unset variable", () => {
    const c = ctx({ B: "" });
    expect(setting().decode(scalar("${A}/${B}"), "source.kafka.topic", c)).toBeUndefined();
    expect(c.diagnostics.map((d) => [d.code, d.message, d.hint])).toEqual([
      ["unset-variable", "source.kafka.topic uses ${A}, which is not set and has no default", "export A=... before running, or write ${A:-default}"],
      ["unset-variable", "source.kafka.topic uses ${B}, which is not set and has no default", "export B=... before running, or write ${B:-default}"],
    ]);
  });

  it("reports template syntax errors as bad-interpolation", () => {
    const c = ctx();
    expect(setting().decode(scalar("${A"), "k", c)).toBeUndefined();
    expect(c.diagnostics).toEqual([
      {
        code: "bad-interpolation",
        pos,
        message: 'k: unclosed "${" at character 1',
        hint: 'write ${NAME} or ${NAME:-default}; "$$" for a literal "$"',
      },
    ]);
  });

  it("accepts a number as text", () => {
    expect(setting().decode(scalar(9092), "k", ctx())).toEqual({ template: "9092", value: "9092", pos });
  });
});

describe("integer(), oneOf(), duration(), list()", () => {
  it("integer: range and type", () => {
    const c = ctx();
    expect(integer({ min: 1, max: 10 }).decode(scalar(10), "n", c)).toEqual({ value: 10, pos });
    expect(integer({ min: 1, max: 10 }).decode(scalar(11), "n", c)).toBeUndefined();
    expect(integer({ min: 1 }).decode(scalar(0), "m", c)).toBeUndefined();
    expect(integer().decode(scalar(1.5), "f", c)).toBeUndefined();
    expect(c.diagnostics.map((d) => [d.code, d.message, d.hint])).toEqual([
      ["bad-value", "n is 11, out of range", "write an integer from 1 to 10"],
      ["bad-value", "m is 0, out of range", "write an integer of at least 1"],
      ["wrong-type", "f must be a whole number, found number 1.5", "write a whole number here"],
    ]);
  });

  it("oneOf: compares the text of numbers, suggests the closest value", () => {
    const c = ctx();
    expect(oneOf(["1", "2"]).decode(scalar(2), "v", c)).toEqual({ value: "2", pos });
    expect(oneOf(["earliest", "latest"]).decode(scalar("latests"), "o", c)).toBeUndefined();
    expect(c.diagnostics).toEqual([
      { code: "bad-value", pos, message: 'o "latests" is not allowed', hint: 'did you mean "latest"? allowed: earliest, latest' },
    ]);
  });

  it("duration: a number is the wrong type, a bad unit is bad-duration", () => {
    const c = ctx();
    expect(duration().decode(scalar(5), "w", c)).toBeUndefined();
    expect(duration().decode(scalar("5 minuts"), "w", c)).toBeUndefined();
    expect(c.diagnostics.map((d) => [d.code, d.message])).toEqual([
      ["wrong-type", 'w must be a duration such as "5 minutes", found number 5'],
      ["bad-duration", 'w: "minuts" is not a time unit'],
    ]);
  });

  it("list: checks minItems and reports every bad element with its index", () => {
    const c = ctx();
    const decoder = list(name(), { minItems: 1 });
    decoder.decode({ kind: "seq", items: [], pos }, "l", c);
    decoder.decode({ kind: "seq", items: [scalar("ok"), scalar("b-1"), scalar("c-2")], pos }, "l", c);
    expect(c.diagnostics.map((d) => [d.code, d.message])).toEqual([
      ["bad-value", "l needs at least 1 item"],
      ["bad-value", 'l[1] "b-1" is not valid'],
      ["bad-value", 'l[2] "c-2" is not valid'],
    ]);
  });
});

describe("object()", () => {
  const schema = object({
    must: required(string(), "A required key."),
    maybe: optional(integer(), "An optional key."),
    dflt: withDefault(integer(), "4", "A key with a default."),
  });

  it("applies defaults, leaves optional keys unset, treats key: (null) as not set", () => {
    const c = ctx();
    const value = schema.decode(yamlRoot("must: x\nmaybe:\n"), "", c);
    expect(c.diagnostics).toEqual([]);
    expect(value?.must.value).toBe("x");
    expect(value?.maybe).toBeUndefined();
    expect(value?.dflt.value).toBe(4);
  });

  it("an unknown key is reported but does not fail the object", () => {
    const c = ctx();
    const value = schema.decode(yamlRoot("must: x\nmsut: y\n"), "top", c);
    expect(value?.must.value).toBe("x");
    expect(c.diagnostics).toEqual([
      {
        code: "unknown-key",
        pos: { file: "f.yaml", line: 2, col: 1 },
        message: 'unknown key "top.msut"',
        hint: 'did you mean "must"? allowed: must, maybe, dflt',
      },
    ]);
  });

  it('a missing required key is reported at the mapping, as "the spec" at the top', () => {
    const c = ctx();
    schema.decode(yamlRoot("\n\nmaybe: 1\n"), "", c);
    expect(c.diagnostics).toEqual([
      {
        code: "missing-key",
        pos: { file: "f.yaml", line: 3, col: 1 },
        message: 'the spec is missing the key "must"',
        hint: "add must: (A required key.)",
      },
    ]);
  });

  it("a required key written as key: (null) is the wrong type, not missing", () => {
    const c = ctx();
    schema.decode(yamlRoot("must:\n"), "", c);
    expect(codes(c)).toEqual(["wrong-type"]);
  });

  it("a top-level document that is not a mapping is the wrong type", () => {
    const c = ctx();
    pipelineSchema.decode(yamlRoot("- a\n- b\n"), "", c);
    expect(codes(c)).toEqual(["wrong-type"]);
    expect(c.diagnostics[0]!.pos).toEqual({ file: "f.yaml", line: 1, col: 1 });
    expect(c.diagnostics[0]!.message).toContain("must be a mapping, found a list");
  });

  // Regression test: this was once wrong (see the test's name).
  it("names the spec in that message instead of starting with a blank", () => {
    const c = ctx();
    pipelineSchema.decode(yamlRoot("- a\n"), "", c);
    expect(c.diagnostics[0]!.message).toMatch(/^\S/);
  });
});
