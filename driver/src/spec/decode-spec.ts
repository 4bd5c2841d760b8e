/** Structural decoding (keys and types) followed by the cross-reference checks. */
import type { DecodeContext } from "./decoders.js";
import { sortDiagnostics, type Diagnostic } from "./diagnostics.js";
import type { Environment } from "./interpolation.js";
import type { LocatedNode } from "./located.js";
import { pipelineSchema, type PipelineSpec } from "./pipeline-schema.js";
import { validateSpec } from "./validate-spec.js";

export function decodeSpec(root: LocatedNode, env: Environment): { spec: PipelineSpec | undefined; diagnostics: readonly Diagnostic[] } {
  const ctx: DecodeContext = { diagnostics: [], env };
  const decoded = pipelineSchema.decode(root, "", ctx);
  // The checks also run on a partly decoded spec, so one pass reports every problem.
  const checked = decoded.complete ? decoded.value : decoded.partial;
  if (checked !== undefined) ctx.diagnostics.push(...validateSpec(checked));
  const diagnostics = sortDiagnostics(ctx.diagnostics);
  // A complete spec can still have diagnostics (an unknown key, a failed check): then it is not returned.
  return { spec: decoded.complete && diagnostics.length === 0 ? decoded.value : undefined, diagnostics };
}
