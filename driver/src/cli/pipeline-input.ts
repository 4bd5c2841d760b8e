/** Loads and validates the spec named on the command line, or ends the command with exit 2/3. */
import { renderDiagnostic } from "../spec/diagnostics.js";
import { loadSpec, SpecFileError, type LoadedSpec } from "../spec/load.js";
import type { PipelineSpec } from "../spec/pipeline-schema.js";
import { buildPlan } from "../plan/build-plan.js";
import type { PlanNode } from "../plan/nodes.js";
import { EXIT, ExitError } from "./exit-codes.js";
import { DEFAULT_SPEC } from "../job/session.js";

export interface SpecOptions {
  readonly profile?: string;
}

export interface ValidInput {
  readonly loaded: LoadedSpec;
  readonly spec: PipelineSpec;
}

export function load(specFile: string | undefined, options: SpecOptions): LoadedSpec {
  try {
    return loadSpec(specFile ?? DEFAULT_SPEC, { env: process.env, ...(options.profile === undefined ? {} : { profile: options.profile }) });
  } catch (error) {
    if (error instanceof SpecFileError) throw new ExitError(EXIT.fileError, error.message, error.hint);
    throw error;
  }
}

export function formatDiagnostics(loaded: LoadedSpec): string {
  const count = loaded.diagnostics.length;
  const body = loaded.diagnostics.map((d) => renderDiagnostic(d, loaded.sources)).join("\n\n");
  const files = [loaded.specFile, ...(loaded.profileFile === undefined ? [] : [loaded.profileFile])].join(" + ");
  return `${body}\n\n${files}: ${count} problem${count === 1 ? "" : "s"}; nothing was compiled`;
}

/** The valid spec and its plan, or an ExitError(2) carrying every diagnostic. */
export function loadPlan(specFile: string | undefined, options: SpecOptions): ValidInput & { plan: PlanNode } {
  const loaded = load(specFile, options);
  if (loaded.spec === undefined) throw new ExitError(EXIT.invalidSpec, formatDiagnostics(loaded));
  return { loaded, spec: loaded.spec, plan: buildPlan(loaded.spec, loaded.specFile) };
}
