import { describe, expect, it } from "vitest";
import { hasInterpolation, parseTemplate, resolveTemplate, type Environment } from "../../src/spec/interpolation.js";

const resolve = (text: string, env: Environment) => {
  const template = parseTemplate(text);
  expect(template.error).toBeUndefined();
  return resolveTemplate(template, env);
};

describe("parseTemplate", () => {
  it("${A}", () => {
    expect(parseTemplate("${A}")).toEqual({ parts: [{ kind: "variable", text: "A" }] });
  });

  it("${A:-x} keeps the default", () => {
    expect(parseTemplate("${A:-x}")).toEqual({ parts: [{ kind: "variable", text: "A", fallback: "x" }] });
  });

  it("a default may be empty or contain ':', '-' and '/'", () => {
    expect(parseTemplate("${A:-}").parts).toEqual([{ kind: "variable", text: "A", fallback: "" }]);
    expect(parseTemplate("${URL:-http://h:8086/x-y}").parts).toEqual([{ kind: "variable", text: "URL", fallback: "http://h:8086/x-y" }]);
  });

  it("splits text and variables", () => {
    expect(parseTemplate("hdfs://${HOST}:9000/${DIR:-data}/raw").parts).toEqual([
      { kind: "text", text: "hdfs://" },
      { kind: "variable", text: "HOST" },
      { kind: "text", text: ":9000/" },
      { kind: "variable", text: "DIR", fallback: "data" },
      { kind: "text", text: "/raw" },
    ]);
  });

  it("$$ is a literal dollar, so $${A} is literal text", () => {
    expect(parseTemplate("$$").parts).toEqual([{ kind: "text", text: "$" }]);
    expect(parseTemplate("$${A}").parts).toEqual([{ kind: "text", text: "${A}" }]);
    expect(parseTemplate("a$$$${B}").parts).toEqual([{ kind: "text", text: "a$${B}" }]);
  });

  it("a lone $ not followed by { is literal", () => {
    expect(parseTemplate("costs $5").parts).toEqual([{ kind: "text", text: "costs $5" }]);
    expect(parseTemplate("$A").parts).toEqual([{ kind: "text", text: "$A" }]);
  });

  it("an unclosed ${ is an error naming the 1-based character", () => {
    expect(parseTemplate("${A").error).toBe('unclosed "${" at character 1');
    expect(parseTemplate("abc${A:-x").error).toBe('unclosed "${" at character 4');
  });

  it.each([
    ["${1A}", '"${1A}" does not name a variable (letters, digits and _ only)'],
    ["${}", '"${}" does not name a variable (letters, digits and _ only)'],
    ["${A-B}", '"${A-B}" does not name a variable (letters, digits and _ only)'],
    ["${A:x}", '"${A:x}" does not name a variable (letters, digits and _ only)'],
    ["${ A }", '"${ A }" does not name a variable (letters, digits and _ only)'],
    ["x/${:-d}", '"${:-d}" does not name a variable (letters, digits and _ only)'],
  ])("rejects the bad variable name in %j", (text, error) => {
    expect(parseTemplate(text).error).toBe(error);
  });

  it("accepts names with _ and digits after the first character", () => {
    expect(parseTemplate("${_A1_b}").parts).toEqual([{ kind: "variable", text: "_A1_b" }]);
  });
});

describe("hasInterpolation", () => {
  it("is true only when a variable is used", () => {
    expect(hasInterpolation("${A}")).toBe(true);
    expect(hasInterpolation("x${A:-1}y")).toBe(true);
    expect(hasInterpolation("plain")).toBe(false);
    expect(hasInterpolation("$${A}")).toBe(false);
    expect(hasInterpolation("$5")).toBe(false);
  });
});

describe("resolveTemplate", () => {
  it("substitutes set variables", () => {
    expect(resolve("${A}", { A: "1" })).toEqual({ value: "1", unset: [] });
    expect(resolve("x-${A}-${B}", { A: "1", B: "2" })).toEqual({ value: "x-1-2", unset: [] });
  });

  it("uses the default only when the variable is unset", () => {
    expect(resolve("${A:-x}", {})).toEqual({ value: "x", unset: [] });
    expect(resolve("${A:-x}", { A: "set" })).toEqual({ value: "set", unset: [] });
  });

  it("an empty variable counts as unset", () => {
    expect(resolve("${A:-x}", { A: "" })).toEqual({ value: "x", unset: [] });
    expect(resolve("${A}", { A: "" })).toEqual({ value: "", unset: ["A"] });
  });

  it("reports every unset variable without a default, in order", () => {
    expect(resolve("${B}/${A:-a}/${C}", { A: "" })).toEqual({ value: "/a/", unset: ["B", "C"] });
  });

  it("an empty default resolves to an empty string, not unset", () => {
    expect(resolve("pre${A:-}post", {})).toEqual({ value: "prepost", unset: [] });
  });

  it("$$ resolves to a single $", () => {
    expect(resolve("a$$b", {})).toEqual({ value: "a$b", unset: [] });
  });

  it("looks names up case-sensitively", () => {
    expect(resolve("${a}", { A: "1" })).toEqual({ value: "", unset: ["a"] });
  });
});
