/** The README's picture of the default pipeline: conf/pipeline.yaml (no profile) as a Mermaid flowchart. */
import path from "node:path";
import { explainMermaid } from "../src/emit/explain-mermaid.js";
import { buildPlan } from "../src/plan/build-plan.js";
import { loadSpec } from "../src/spec/load.js";

export function pipelineDiagramMarkdown(root: string = path.resolve(import.meta.dirname, "../..")): string {
  const loaded = loadSpec("conf/pipeline.yaml", { env: {}, cwd: root });
  if (loaded.spec === undefined) throw new Error("conf/pipeline.yaml does not validate: run sensor-streaming validate");
  return `\`\`\`mermaid\n${explainMermaid(buildPlan(loaded.spec, loaded.specFile))}\`\`\`\n`;
}
