/** The e2e spec compiled and bound for one test's topic and folder, as `stage` would write it. */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { bindPlan } from "../../../src/deploy/bind-plan.js";
import { compilePipeline, pipelineFiles } from "../../../src/emit/compiled-files.js";
import { buildPlan } from "../../../src/plan/build-plan.js";
import { loadSpec } from "../../../src/spec/load.js";
import { root, type StackEnv } from "./stack.js";

/** Writes `<work>/plan/` (SQL files and the bound plan.json) and returns the plan file. */
export function writeE2ePlan(env: StackEnv, work: string, topic: string): string {
  const testEnv = { ...env, E2E_TOPIC: topic, E2E_DIR: work, E2E_REGISTRY: path.join(work, "registry.csv") };
  const loaded = loadSpec("driver/test/e2e/e2e-spec.yaml", { env: testEnv, cwd: root });
  expect(loaded.diagnostics).toEqual([]);
  const planDir = path.join(work, "plan");
  mkdirSync(planDir);
  const compiled = compilePipeline(buildPlan(loaded.spec!, loaded.specFile));
  for (const file of pipelineFiles({ ...compiled, plan: bindPlan(compiled.plan, testEnv, root) })) writeFileSync(path.join(planDir, file.name), file.content);
  return path.join(planDir, "plan.json");
}
