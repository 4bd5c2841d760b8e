/** The README's spec reference and pipeline diagram are generated; they must not drift. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { replaceGeneratedSection } from "../../src/spec/readme-sections.js";
import { specReferenceMarkdown } from "../../src/spec/spec-reference.js";
import { pipelineDiagramMarkdown } from "../../scripts/readme-diagram.js";

it("README.md's spec reference is up to date (npm run docs)", () => {
  const readme = readFileSync(path.resolve(import.meta.dirname, "../../../README.md"), "utf8");
  const reference = specReferenceMarkdown();
  expect(reference).toContain("| `sinks.influxdb.tokenEnv` |");
  expect(replaceGeneratedSection(readme, "spec-reference", reference), "README.md is stale: run npm run docs").toBe(readme);
});

it("README.md's pipeline diagram is the default spec's (npm run docs)", () => {
  const readme = readFileSync(path.resolve(import.meta.dirname, "../../../README.md"), "utf8");
  const diagram = pipelineDiagramMarkdown();
  expect(diagram).toContain("view_window_5m{{");
  expect(replaceGeneratedSection(readme, "pipeline-diagram", diagram), "README.md is stale: run npm run docs").toBe(readme);
});
