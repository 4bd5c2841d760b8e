/** Rewrites the generated sections of README.md (run by `npm run docs`). */
import { readFileSync, writeFileSync } from "node:fs";
import { replaceGeneratedSection } from "../src/spec/readme-sections.js";
import { pipelineDiagramMarkdown } from "./readme-diagram.js";
import { specReferenceMarkdown } from "../src/spec/spec-reference.js";

const file = "README.md";
const before = readFileSync(file, "utf8");
const after = replaceGeneratedSection(
  replaceGeneratedSection(before, "spec-reference", specReferenceMarkdown()),
  "pipeline-diagram",
  pipelineDiagramMarkdown(),
);
writeFileSync(file, after);
process.stdout.write(after === before ? "README.md is up to date\n" : "README.md: generated sections updated\n");
