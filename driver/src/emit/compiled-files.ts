/**
 * What emit makes of a plan: the plan.json object and one SQL file per view. The object travels
 * as it is (a deployment binds it, `start` writes the checkpoints it uses into it); its text is
 * made once, by `pipelineFiles`, when the files are written or staged.
 */
import type { PlanNode } from "../plan/nodes.js";
import { planJson, planJsonText, type PlanJson } from "./plan-json.js";
import { sqlFileName, viewSqlFile } from "./sql/view-sql.js";

export interface CompiledFile {
  readonly name: string;
  readonly content: string;
}

export interface CompiledPipeline {
  readonly plan: PlanJson;
  /** Each view's SQL file by its name (the views' `sqlFile`), in the views' order. */
  readonly sql: Readonly<Record<string, string>>;
}

export function compilePipeline(plan: PlanNode): CompiledPipeline {
  return { plan: planJson(plan), sql: Object.fromEntries(plan.views.map((view, i) => [sqlFileName(i, view), viewSqlFile(plan, view)])) };
}

/** The files of a compiled pipeline: the SQL files, then plan.json. */
export function pipelineFiles(compiled: CompiledPipeline): CompiledFile[] {
  return [...Object.entries(compiled.sql).map(([name, content]) => ({ name, content })), { name: "plan.json", content: planJsonText(compiled.plan) }];
}

/** The files `compile` writes for a plan. */
export function compiledFiles(plan: PlanNode): CompiledFile[] {
  return pipelineFiles(compilePipeline(plan));
}
