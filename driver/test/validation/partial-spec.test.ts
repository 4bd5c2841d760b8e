/**
 * A spec whose decoding reported problems is checked as a `PartialSpec`: a section that did not
 * decode is absent, the checks that need it say nothing more, and every other section is still
 * checked in the same pass. Nothing is thrown on the way.
 */
import { describe, expect, it } from "vitest";
import { validateSpec } from "../../src/spec/validate-spec.js";
import { at, BASE_SPEC, check, edit, expectDiagnostics } from "./spec-fixture.js";

/** Replaces the top-level section `key` (from its line to the next top-level key) with `replacement`. */
function replaceSection(text: string, key: string, replacement: string): string {
  const start = text.indexOf(`\n${key}:`) + 1;
  const next = text.slice(start + 1).search(/\n[a-z]/);
  const end = next < 0 ? text.length : start + 1 + next + 1;
  return `${text.slice(0, start)}${replacement}\n${text.slice(end)}`;
}

describe("a spec with a broken section", () => {
  it("sinks of the wrong type: the windows and statistics are still checked", () => {
    let text = replaceSection(BASE_SPEC, "sinks", "sinks: 5");
    text = edit(text, "slide: 15 minutes", "slide: 25 minutes");
    text = edit(text, "metrics: [temperature,", "metrics: [temprature,");
    const { spec, diagnostics } = check(text);
    expect(spec).toBeUndefined();
    expectDiagnostics(diagnostics, [
      { code: "bad-window", at: at(text, "slide: 25 minutes", "25 minutes"), message: 'window "1h": size 1 hour is not a multiple of slide 25 minutes' },
      {
        code: "unknown-field",
        at: at(text, "metrics: [temprature,", "temprature"),
        message: 'statistics.metrics names "temprature", which is not a message field',
        hint: ['did you mean "temperature"?'],
      },
      { code: "wrong-type", at: at(text, "sinks: 5", "5"), message: "sinks must be a mapping, found number 5" },
    ]);
  });

  it("a registry of the wrong type: no unknown-column follow-ups, other names still checked", () => {
    let text = replaceSection(BASE_SPEC, "registry", "registry: none");
    text = edit(text, "  - name: 1h", "  - name: 5M");
    expectDiagnostics(check(text).diagnostics, [
      { code: "wrong-type", at: at(text, "registry: none", "none"), message: 'registry must be a mapping, found string "none"' },
      { code: "duplicate-name", at: at(text, "name: 5M", "5M"), message: ['duplicate window name "5M"'] },
    ]);
  });

  it("a window whose size did not decode still has its groupBy checked", () => {
    let text = edit(BASE_SPEC, "size: 5 minutes", "size: 5 minuts");
    text = edit(text, "    slide: 1 minute\n    groupBy: [institute, classroom]", "    slide: 1 minute\n    groupBy: [institute, klassroom]");
    expectDiagnostics(check(text).diagnostics, [
      { code: "bad-duration", at: at(text, "size: 5 minuts", "5 minuts") },
      { code: "unknown-field", at: at(text, "groupBy: [institute, klassroom]", "klassroom"), message: ['window "5m" groups by "klassroom"'] },
    ]);
  });

  it("an InfluxDB sink without its raw sink's path still has its other checks", () => {
    let text = edit(BASE_SPEC, "    path: ${RAW_PATH:-.local-stack/data/schools/raw}\n", "");
    text = edit(text, "url: ${INFLUXDB_URL:-http://localhost:8086}", "url: localhost:8086");
    expectDiagnostics(check(text).diagnostics, [
      { code: "missing-key", at: at(text, "  raw:\n    partitionBy", "partitionBy"), message: 'sinks.raw is missing the key "path"' },
      { code: "bad-value", at: at(text, "url: localhost:8086", "localhost:8086"), message: 'sinks.influxdb.url "localhost:8086" is not an http(s) URL' },
    ]);
  });
});

describe("checks on a hand-made partial spec", () => {
  const pos = { file: "spec.yaml", line: 1, col: 1 };

  it("a spec of which nothing decoded has no further diagnostic", () => {
    expect(validateSpec({ pos })).toEqual([]);
  });

  it("empty sections: only what is missing beyond the decoder's own diagnostics is reported", () => {
    const diagnostics = validateSpec({
      pos,
      source: { pos },
      registry: { pos },
      windows: { value: [{ pos }], pos },
      statistics: { pos },
      correlations: { pos },
      sinks: { pos, raw: { pos }, rejected: { pos }, influxdb: { pos } },
    });
    expect(diagnostics.map((d) => `${d.code}: ${d.message}`)).toEqual([
      "missing-watermark: windows need a watermark: without one Spark keeps every window's state forever and never closes a window",
      "missing-key: correlations needs pairs or allPairsOf",
    ]);
  });
});
