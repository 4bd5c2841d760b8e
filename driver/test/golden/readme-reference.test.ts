/** The README's spec reference is generated from the schema; it must not drift from it. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { replaceGeneratedSection } from "../../src/spec/readme-sections.js";
import { specReferenceMarkdown } from "../../src/spec/spec-reference.js";

it("README.md's spec reference is up to date (npm run docs)", () => {
  const readme = readFileSync(path.resolve(import.meta.dirname, "../../../README.md"), "utf8");
  const reference = specReferenceMarkdown();
  expect(reference).toContain("| `sinks.influxdb.tokenEnv` |");
  expect(replaceGeneratedSection(readme, "spec-reference", reference), "README.md is stale: run npm run docs").toBe(readme);
});
