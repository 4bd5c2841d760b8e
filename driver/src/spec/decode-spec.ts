/** Structural decoding (keys and types) followed by the cross-reference checks. */
import { validateSpec } from "../validate/validate-spec.js";
import type { DecodeContext } from "./decoders.js";
import { sortDiagnostics, type Diagnostic } from "./diagnostics.js";
import type { Environment } from "./interpolation.js";
import type { LocatedNode } from "./located.js";
import { pipelineSchema, type PipelineSpec } from "./pipeline-schema.js";

export function decodeSpec(root: LocatedNode, env: Environment): { spec: PipelineSpec | undefined; diagnostics: readonly Diagnostic[] } {
  const ctx: DecodeContext = { diagnostics: [], env };
  const spec = pipelineSchema.decode(root, "", ctx);
  const complete = ctx.diagnostics.length === 0;
  if (spec !== undefined) ctx.diagnostics.push(...validateSpec(spec, { complete }));
  const diagnostics = sortDiagnostics(ctx.diagnostics);
  return { spec: diagnostics.length === 0 ? spec : undefined, diagnostics };
}
