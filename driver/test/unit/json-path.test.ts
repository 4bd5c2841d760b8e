import { describe, expect, it } from "vitest";
import { formatJsonPath, parseJsonPath, type JsonPathResult, type JsonPathStep } from "../../src/spec/json-path.js";

function steps(result: JsonPathResult): readonly JsonPathStep[] {
  if (!result.ok) throw new Error(`expected a path, got: ${result.problem}`);
  return result.steps;
}

function problem(result: JsonPathResult): string {
  if (result.ok) throw new Error(`expected a problem, got ${JSON.stringify(result.steps)}`);
  return result.problem;
}

const member = (name: string): JsonPathStep => ({ kind: "member", name });
const index = (i: number): JsonPathStep => ({ kind: "index", index: i });

describe("parseJsonPath: valid paths", () => {
  it("$.a.b", () => {
    expect(steps(parseJsonPath("$.a.b"))).toEqual([member("a"), member("b")]);
  });

  it("$.GWInfo[0].gwname", () => {
    expect(steps(parseJsonPath("$.GWInfo[0].gwname"))).toEqual([member("GWInfo"), index(0), member("gwname")]);
  });

  it("$['odd key'].x", () => {
    expect(steps(parseJsonPath("$['odd key'].x"))).toEqual([member("odd key"), member("x")]);
  });

  it("unescapes quotes and backslashes inside ['...']", () => {
    expect(steps(parseJsonPath("$['it\\'s']"))).toEqual([member("it's")]);
    expect(steps(parseJsonPath("$['a\\\\b']"))).toEqual([member("a\\b")]);
  });

  it("allows - in dotted member names and multi-digit indices", () => {
    expect(steps(parseJsonPath("$.co2-ppm"))).toEqual([member("co2-ppm")]);
    expect(steps(parseJsonPath("$.a[12][3]"))).toEqual([member("a"), index(12), index(3)]);
  });
});

describe("parseJsonPath: invalid paths", () => {
  it("a path without $", () => {
    expect(problem(parseJsonPath("a.b"))).toBe('"a.b" must start with "$" (the message root)');
    expect(problem(parseJsonPath(".a"))).toBe('".a" must start with "$" (the message root)');
  });

  it("recursive descent $..a", () => {
    expect(problem(parseJsonPath("$..a"))).toBe('recursive descent ".." is not supported at character 2');
    expect(problem(parseJsonPath("$.a..b"))).toBe('recursive descent ".." is not supported at character 4');
  });

  it("a wildcard $.a[*]", () => {
    expect(problem(parseJsonPath("$.a[*]"))).toBe('unexpected "[" at character 4 (wildcards and filters are not supported)');
  });

  it("a filter $.a[?(@.x)]", () => {
    expect(problem(parseJsonPath("$.a[?(@.x)]"))).toBe('unexpected "[" at character 4 (wildcards and filters are not supported)');
  });

  it("a trailing dot $.a.", () => {
    expect(problem(parseJsonPath("$.a."))).toBe('expected a member name after "." at character 5');
  });

  it("a member name starting with a digit $.1a", () => {
    expect(problem(parseJsonPath("$.1a"))).toBe('expected a member name after "." at character 3');
  });

  it("an index as the first step $[0]", () => {
    expect(problem(parseJsonPath("$[0]"))).toBe('"$[0]" must name a member of the message, e.g. "$.DevEui"');
  });

  it("the bare root $", () => {
    expect(problem(parseJsonPath("$"))).toBe('"$" must name a member of the message, e.g. "$.DevEui"');
  });

  it("an empty quoted member $['']", () => {
    expect(problem(parseJsonPath("$['']"))).toBe('unexpected "[" at character 2 (wildcards and filters are not supported)');
  });
});

describe("formatJsonPath", () => {
  it("writes identifiers with dots, indices in brackets, odd names quoted", () => {
    expect(formatJsonPath([member("GWInfo"), index(0), member("gwname")])).toBe("$.GWInfo[0].gwname");
    expect(formatJsonPath([member("odd key"), member("x")])).toBe("$['odd key'].x");
    expect(formatJsonPath([member("it's")])).toBe("$['it\\'s']");
    expect(formatJsonPath([member("1st")])).toBe("$['1st']");
  });

  it.each(["$.a.b", "$.GWInfo[0].gwname", "$['odd key'].x", "$['it\\'s'][2]", "$.co2-ppm", "$['a\\\\b'].c"])("round-trips %s", (text) => {
    const parsed = steps(parseJsonPath(text));
    expect(formatJsonPath(parsed)).toBe(text);
    expect(steps(parseJsonPath(formatJsonPath(parsed)))).toEqual(parsed);
  });
});

describe("parseJsonPath: control characters in member names", () => {
  it.each([
    ["a newline", "$['a\nb']", "U+000A", 4],
    ["a tab", "$.x['a\tb']", "U+0009", 6],
    ["a NUL", "$['\u0000']", "U+0000", 4],
    ["DEL", "$['a\u007f']", "U+007F", 4],
    ["a C1 control", "$['a\u0085']", "U+0085", 4],
    ["a line separator", "$['a\u2028']", "U+2028", 4],
  ])("refuses %s, naming the character and where the name starts", (_what, path, code, at) => {
    expect(problem(parseJsonPath(path))).toContain(`at character ${at} contains the control character ${code}`);
  });

  it("accepts other characters, non-ASCII included", () => {
    expect(steps(parseJsonPath("$['é €😀 \\\\`x`']"))).toEqual([member("é €😀 \\`x`")]);
  });
});
