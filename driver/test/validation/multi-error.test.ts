/** Every problem of a spec is reported in one pass, sorted by position. */
import { describe, expect, it } from "vitest";
import { at, BASE_SPEC, check, edit, expectDiagnostics } from "./spec-fixture.js";

describe("several problems in one spec", () => {
  it("an unknown key, a bad duration and a self-correlation: 3 diagnostics, by line", () => {
    let text = edit(BASE_SPEC, "  unregistered: reject", "  unregisterd: keep");
    text = edit(text, "slide: 15 minutes", "slide: 15 minuts");
    text = edit(text, "allPairsOf: [temperature, humidity, co2, tvoc]", "pairs: [[co2, co2]]");
    const { spec, diagnostics } = check(text);
    expect(spec).toBeUndefined();
    expectDiagnostics(diagnostics, [
      {
        code: "unknown-key",
        at: at(text, "  unregisterd: keep", "unregisterd"),
        message: 'unknown key "registry.unregisterd"',
        hint: ['did you mean "unregistered"?'],
      },
      {
        code: "bad-duration",
        at: at(text, "slide: 15 minuts", "15 minuts"),
        message: 'windows[1].slide: "minuts" is not a time unit',
        hint: ['did you mean "minutes"?'],
      },
      {
        code: "self-correlation",
        at: at(text, "pairs: [[co2, co2]]", "co2]]"),
        message: '"co2" is correlated with itself (always 1)',
      },
    ]);
  });

  it("structural and cross-reference problems across the whole file: 5 diagnostics, by line", () => {
    let text = edit(BASE_SPEC, "maxOffsetsPerTrigger: 50000", "maxOffsetsPerTrigger: lots");
    text = edit(text, "  format: csv", "  format: csv\n  formt: csv");
    text = edit(text, "    slide: 1 minute", "    slide: 2 minutes");
    text = edit(text, "metrics: [temperature,", "metrics: [pir,");
    text = edit(text, "      raw: sensor_readings", "      raw: _internal");
    expectDiagnostics(check(text).diagnostics, [
      { code: "wrong-type", at: at(text, "maxOffsetsPerTrigger: lots", "lots"), message: ['"lots"'] },
      { code: "unknown-key", at: at(text, "  formt: csv", "formt"), hint: ['did you mean "format"?'] },
      { code: "bad-window", at: at(text, "slide: 2 minutes", "2 minutes"), message: ["slide 2 minutes"] },
      { code: "non-numeric-field", at: at(text, "metrics: [pir,", "pir"), message: ['"pir"'] },
      { code: "bad-influx-name", at: at(text, "raw: _internal", "_internal"), message: ['"_internal"'] },
    ]);
  });

  it("two problems on one line are ordered by column", () => {
    const text = edit(BASE_SPEC, "metrics: [temperature, humidity, co2, tvoc, pressure, light_level]", "metrics: [pir, temprature]");
    expectDiagnostics(check(text).diagnostics, [
      { code: "non-numeric-field", at: at(text, "metrics: [pir, temprature]", "pir") },
      { code: "unknown-field", at: at(text, "metrics: [pir, temprature]", "temprature") },
    ]);
  });

  it("every unset variable is reported, each at its own setting", () => {
    let text = edit(BASE_SPEC, "bootstrapServers: ${KAFKA_BOOTSTRAP:-localhost:9092}", "bootstrapServers: ${KAFKA_BOOTSTRAP}");
    text = edit(text, "path: ${REGISTRY_PATH:-data/registry.csv}", "path: ${REGISTRY_DIR}/${REGISTRY_FILE}");
    expectDiagnostics(check(text).diagnostics, [
      { code: "unset-variable", at: at(text, "bootstrapServers: ${KAFKA_BOOTSTRAP}", "${"), message: ["${KAFKA_BOOTSTRAP}"] },
      { code: "unset-variable", at: at(text, "path: ${REGISTRY_DIR}", "${"), message: ["${REGISTRY_DIR}"] },
      { code: "unset-variable", at: at(text, "path: ${REGISTRY_DIR}", "${"), message: ["${REGISTRY_FILE}"] },
    ]);
    expect(check(text, { KAFKA_BOOTSTRAP: "k:9092", REGISTRY_DIR: "/data", REGISTRY_FILE: "r.csv" }).diagnostics).toEqual([]);
  });
});
