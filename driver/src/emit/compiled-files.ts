/** The files `compile` writes for a plan: one SQL file per view, then plan.json. */
import type { PlanNode } from "../plan/nodes.js";
import { planJson } from "./plan-json.js";
import { sqlFileName, viewSqlFile } from "./sql/view-sql.js";

export interface CompiledFile {
  readonly name: string;
  readonly content: string;
}

export function compiledFiles(plan: PlanNode): CompiledFile[] {
  const files = plan.views.map((view, i) => ({ name: sqlFileName(i, view), content: viewSqlFile(plan, view) }));
  files.push({ name: "plan.json", content: planJson(plan) });
  return files;
}
