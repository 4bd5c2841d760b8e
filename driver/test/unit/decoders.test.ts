import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  duration,
  FAILED_KEYS,
  integer,
  keyFailed,
  list,
  name,
  namedMap,
  object,
  oneOf,
  optional,
  required,
  setting,
  string,
  withDefault,
  type DecodeContext,
  type Decoded,
} from "../../src/spec/decoders.js";
import type { Environment } from "../../src/spec/interpolation.js";
import type { LocatedNode, ScalarValue } from "../../src/spec/located.js";
import { parseLocatedYaml } from "../../src/spec/located.js";
import { pipelineSchema } from "../../src/spec/pipeline-schema.js";

const pos = { file: "f.yaml", line: 3, col: 7 };
const scalar = (value: ScalarValue): LocatedNode => ({ kind: "scalar", value, pos });
const ctx = (env: Environment = {}): DecodeContext => ({ diagnostics: [], env });
const codes = (c: DecodeContext) => c.diagnostics.map((d) => d.code);
const complete = <T>(value: T) => ({ complete: true, value });
/** What a decoder returns when nothing decoded. */
const NOTHING = { complete: false, partial: undefined };

/** The value of a complete result; fails the test for a partial one. */
function valueOf<T, P>(decoded: Decoded<T, P>): T {
  if (!decoded.complete) throw new Error(`expected a complete value, got ${JSON.stringify(decoded.partial)}`);
  return decoded.value;
}

function yamlRoot(text: string): LocatedNode {
  const parsed = parseLocatedYaml(text, "f.yaml");
  if (parsed.root === undefined) throw new Error(JSON.stringify(parsed.diagnostics));
  return parsed.root;
}

describe("name()", () => {
  it("accepts SQL/InfluxDB-safe names", () => {
    const c = ctx();
    expect(name().decode(scalar("co2_ppm"), "x", c)).toEqual(complete({ value: "co2_ppm", pos }));
    expect(name().decode(scalar("_x1"), "x", c)).toEqual(complete({ value: "_x1", pos }));
    expect(c.diagnostics).toEqual([]);
  });

  it.each(["co2-ppm", "2020", "a b", ""])("rejects the string %j with bad-value", (text) => {
    const c = ctx();
    expect(name().decode(scalar(text), "registry.columns[0]", c)).toEqual(NOTHING);
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
    expect(name().decode(scalar(2020), "registry.columns[3]", c)).toEqual(NOTHING);
    expect(codes(c)).toEqual(["bad-value"]);
  });
});

describe("string()", () => {
  it("turns numbers and booleans into their text", () => {
    const c = ctx();
    expect(string().decode(scalar(1), "x", c)).toEqual(complete({ value: "1", pos }));
    expect(string().decode(scalar(true), "x", c)).toEqual(complete({ value: "true", pos }));
    expect(c.diagnostics).toEqual([]);
  });

  it("rejects ${...} with bad-interpolation", () => {
    const c = ctx({ DB: "x" });
    expect(string().decode(scalar("${DB}"), "sinks.influxdb.database", c)).toEqual(NOTHING);
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
    expect(string().decode(scalar("a$${B}"), "x", c)).toEqual(complete({ value: "a$${B}", pos }));
    expect(string().decode(scalar("$5"), "x", c)).toEqual(complete({ value: "$5", pos }));
    expect(c.diagnostics).toEqual([]);
  });

  it("rejects null and collections with wrong-type", () => {
    const c = ctx();
    expect(string().decode(scalar(null), "d", c)).toEqual(NOTHING);
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
    expect(setting().decode(scalar("${HOST}:${PORT:-9092}"), "k", c)).toEqual(complete({ template: "${HOST}:${PORT:-9092}", value: "kafka:9092", pos }));
    expect(c.diagnostics).toEqual([]);
  });

  it("reports each unset variable", () => {
    const c = ctx({ B: "" });
    expect(setting().decode(scalar("${A}/${B}"), "source.kafka.topic", c)).toEqual(NOTHING);
    expect(c.diagnostics.map((d) => [d.code, d.message, d.hint])).toEqual([
      ["unset-variable", "source.kafka.topic uses ${A}, which is not set and has no default", "export A=... before running, or write ${A:-default}"],
      ["unset-variable", "source.kafka.topic uses ${B}, which is not set and has no default", "export B=... before running, or write ${B:-default}"],
    ]);
  });

  it("reports template syntax errors as bad-interpolation", () => {
    const c = ctx();
    expect(setting().decode(scalar("${A"), "k", c)).toEqual(NOTHING);
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
    expect(setting().decode(scalar(9092), "k", ctx())).toEqual(complete({ template: "9092", value: "9092", pos }));
  });
});

describe("integer(), oneOf(), duration(), list()", () => {
  it("integer: range and type", () => {
    const c = ctx();
    expect(integer({ min: 1, max: 10 }).decode(scalar(10), "n", c)).toEqual(complete({ value: 10, pos }));
    expect(integer({ min: 1, max: 10 }).decode(scalar(11), "n", c)).toEqual(NOTHING);
    expect(integer({ min: 1 }).decode(scalar(0), "m", c)).toEqual(NOTHING);
    expect(integer().decode(scalar(1.5), "f", c)).toEqual(NOTHING);
    expect(c.diagnostics.map((d) => [d.code, d.message, d.hint])).toEqual([
      ["bad-value", "n is 11, out of range", "write an integer from 1 to 10"],
      ["bad-value", "m is 0, out of range", "write an integer of at least 1"],
      ["wrong-type", "f must be a whole number, found number 1.5", "write a whole number here"],
    ]);
  });

  it("oneOf: compares the text of numbers, suggests the closest value", () => {
    const c = ctx();
    expect(oneOf(["1", "2"]).decode(scalar(2), "v", c)).toEqual(complete({ value: "2", pos }));
    expect(oneOf(["earliest", "latest"]).decode(scalar("latests"), "o", c)).toEqual(NOTHING);
    expect(c.diagnostics).toEqual([
      { code: "bad-value", pos, message: 'o "latests" is not allowed', hint: 'did you mean "latest"? allowed: earliest, latest' },
    ]);
  });

  it("duration: a number is the wrong type, a bad unit is bad-duration", () => {
    const c = ctx();
    expect(duration().decode(scalar(5), "w", c)).toEqual(NOTHING);
    expect(duration().decode(scalar("5 minuts"), "w", c)).toEqual(NOTHING);
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
    const value = valueOf(schema.decode(yamlRoot("must: x\nmaybe:\n"), "", c));
    expect(c.diagnostics).toEqual([]);
    expect(value.must.value).toBe("x");
    expect(value.maybe).toBeUndefined();
    expect(value.dflt.value).toBe(4);
  });

  it("an unknown key is reported but does not fail the object", () => {
    const c = ctx();
    const value = valueOf(schema.decode(yamlRoot("must: x\nmsut: y\n"), "top", c));
    expect(value.must.value).toBe("x");
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

describe("partly decoded values", () => {
  const at = (line: number, col: number) => ({ file: "f.yaml", line, col });

  it("a list keeps the elements that decoded and is partial", () => {
    const c = ctx();
    const decoded = list(name()).decode(yamlRoot("[ok, b-1, fine]"), "l", c);
    expect(decoded).toEqual({
      complete: false,
      partial: {
        value: [
          { value: "ok", pos: at(1, 2) },
          { value: "fine", pos: at(1, 11) },
        ],
        pos: at(1, 1),
      },
    });
    expect(codes(c)).toEqual(["bad-value"]);
  });

  it("a list of the wrong type, or too short, has no partial value", () => {
    const c = ctx();
    expect(list(name()).decode(yamlRoot("a: b"), "l", c)).toEqual(NOTHING);
    expect(list(name(), { minItems: 1 }).decode(yamlRoot("[]"), "l", c)).toEqual(NOTHING);
    expect(codes(c)).toEqual(["wrong-type", "bad-value"]);
  });

  const schema = object({
    must: required(string(), "A required key."),
    count: required(integer(), "Another required key."),
    maybe: optional(integer(), "An optional key."),
    dflt: withDefault(integer(), "4", "A key with a default."),
  });

  it("a mapping leaves out a missing key and a key that did not decode, and names the failed one", () => {
    const c = ctx();
    const decoded = schema.decode(yamlRoot("count: many\nmaybe: 2\n"), "top", c);
    expect(decoded.complete).toBe(false);
    const partial = decoded.complete ? undefined : decoded.partial;
    expect(partial).toBeDefined();
    expect(partial?.must).toBeUndefined();
    expect(partial?.count).toBeUndefined();
    expect(partial?.maybe).toEqual({ value: 2, pos: at(2, 8) });
    expect(partial?.dflt?.value).toBe(4);
    expect(partial?.[FAILED_KEYS]).toEqual(new Set(["count"]));
    expect(keyFailed(partial, "count")).toBe(true);
    expect(keyFailed(partial, "must")).toBe(false);
    expect(codes(c)).toEqual(["missing-key", "wrong-type"]);
  });

  it("an unknown key is reported, but the mapping is still complete", () => {
    const c = ctx();
    const value = valueOf(schema.decode(yamlRoot("must: x\ncount: 1\nextra: 2\n"), "top", c));
    expect(value.count.value).toBe(1);
    expect(codes(c)).toEqual(["unknown-key"]);
  });

  it("a partial mapping inside a list keeps its place in the partial list", () => {
    const c = ctx();
    const decoded = list(schema).decode(yamlRoot("- { must: a, count: 1 }\n- { must: b }\n"), "items", c);
    expect(decoded.complete).toBe(false);
    const items = decoded.complete ? [] : (decoded.partial?.value ?? []);
    expect(items.map((item) => [item.must?.value, item.count?.value])).toEqual([
      ["a", 1],
      ["b", undefined],
    ]);
    expect(c.diagnostics.map((d) => d.message)).toEqual(['items[1] is missing the key "count"']);
  });

  it("a named map drops an entry whose name is invalid and keeps one whose value is partial", () => {
    const c = ctx();
    const decoded = namedMap(schema).decode(yamlRoot("good: { must: a, count: 1 }\nbad-name: { must: b, count: 2 }\nhalf: { count: 3 }\n"), "m", c);
    expect(decoded.complete).toBe(false);
    const entries = decoded.complete ? [] : (decoded.partial?.value ?? []);
    expect(entries.map((e) => [e.name.value, e.value.must?.value, e.value.count?.value])).toEqual([
      ["good", "a", 1],
      ["half", undefined, 3],
    ]);
    expect(codes(c)).toEqual(["bad-value", "missing-key"]);
  });

  it("a spec with no problem decodes completely", () => {
    const c = ctx();
    const decoded = pipelineSchema.decode(yamlRoot(readFileSync(new URL("../../../conf/pipeline.yaml", import.meta.url), "utf8")), "", c);
    expect(c.diagnostics).toEqual([]);
    expect(valueOf(decoded).name.value).toBe("schools");
  });
});
