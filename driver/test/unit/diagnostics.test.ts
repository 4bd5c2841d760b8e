import { describe, expect, it } from "vitest";
import { diagnostic, renderDiagnostic, sortDiagnostics, type Diagnostic } from "../../src/spec/diagnostics.js";

const SOURCE = ["name: schools", "source:", "  watermark: 5 minuts", ""].join("\n");

describe("renderDiagnostic", () => {
  it("shows file:line:col, the source line and a caret under the column, then the hint", () => {
    const d = diagnostic("bad-duration", { file: "spec.yaml", line: 3, col: 14 }, 'source.watermark: "minuts" is not a time unit', 'did you mean "minutes"?');
    expect(renderDiagnostic(d, new Map([["spec.yaml", SOURCE]]))).toBe(
      [
        'spec.yaml:3:14: error[bad-duration]: source.watermark: "minuts" is not a time unit',
        "  |",
        "3 |   watermark: 5 minuts",
        "  |              ^",
        '  = help: did you mean "minutes"?',
      ].join("\n"),
    );
  });

  it("puts the caret in the first column for col 1, and widens the gutter for long line numbers", () => {
    const text = Array.from({ length: 12 }, (_, i) => `line${i + 1}: x`).join("\n");
    const d = diagnostic("unknown-key", { file: "f.yaml", line: 12, col: 1 }, 'unknown key "line12"');
    expect(renderDiagnostic(d, new Map([["f.yaml", text]]))).toBe(
      ['f.yaml:12:1: error[unknown-key]: unknown key "line12"', "   |", "12 | line12: x", "   | ^"].join("\n"),
    );
  });

  it("the caret sits under the column's character", () => {
    const d = diagnostic("wrong-type", { file: "f.yaml", line: 1, col: 8 }, "m");
    const lines = renderDiagnostic(d, new Map([["f.yaml", "count: lots\n"]])).split("\n");
    const sourceLine = lines[2]!;
    const caretLine = lines[3]!;
    expect(sourceLine[caretLine.indexOf("^")]).toBe("l");
  });

  it("handles CRLF sources", () => {
    const d = diagnostic("bad-value", { file: "f.yaml", line: 2, col: 4 }, "m");
    expect(renderDiagnostic(d, new Map([["f.yaml", "a: 1\r\nb: 2\r\n"]]))).toBe(["f.yaml:2:4: error[bad-value]: m", "  |", "2 | b: 2", "  |    ^"].join("\n"));
  });

  it("prints only the header (and hint) when the source is unknown or the line does not exist", () => {
    const d = diagnostic("missing-key", { file: "gone.yaml", line: 1, col: 1 }, "the spec is empty", "start over");
    expect(renderDiagnostic(d, new Map())).toBe("gone.yaml:1:1: error[missing-key]: the spec is empty\n  = help: start over");
    const far = diagnostic("missing-key", { file: "f.yaml", line: 9, col: 1 }, "m");
    expect(renderDiagnostic(far, new Map([["f.yaml", "a: 1"]]))).toBe("f.yaml:9:1: error[missing-key]: m");
  });
});

describe("diagnostic", () => {
  it("omits an undefined hint and freezes the result", () => {
    const d = diagnostic("bad-value", { file: "f", line: 1, col: 2 }, "m");
    expect(d).toEqual({ code: "bad-value", pos: { file: "f", line: 1, col: 2 }, message: "m" });
    expect("hint" in d).toBe(false);
    expect(Object.isFrozen(d)).toBe(true);
  });
});

describe("sortDiagnostics", () => {
  it("orders by file, line, column, then code, without changing the input", () => {
    const d = (file: string, line: number, col: number, code: Diagnostic["code"]) => diagnostic(code, { file, line, col }, `${file}:${line}:${col}`);
    const input = [
      d("b.yaml", 1, 1, "bad-value"),
      d("a.yaml", 10, 1, "bad-value"),
      d("a.yaml", 2, 9, "wrong-type"),
      d("a.yaml", 2, 9, "bad-value"),
      d("a.yaml", 2, 3, "unknown-key"),
    ];
    const copy = [...input];
    expect(sortDiagnostics(input).map((x) => `${x.message} ${x.code}`)).toEqual([
      "a.yaml:2:3 unknown-key",
      "a.yaml:2:9 bad-value",
      "a.yaml:2:9 wrong-type",
      "a.yaml:10:1 bad-value",
      "b.yaml:1:1 bad-value",
    ]);
    expect(input).toEqual(copy);
  });
});
