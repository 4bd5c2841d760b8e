/** Which checkpoint each query of a start uses, from the compatibility verdicts (checkpoint-compat.ts) and --fresh-state. */
import type { PlanJson } from "../emit/plan-json.js";
import { freshCheckpoint, type SinkVerdict } from "./checkpoint-compat.js";

/** Queries whose checkpoints cannot be resumed, each with why. */
export class IncompatibleCheckpoints extends Error {
  readonly hint = "undo that change, or start with --fresh-state to run those queries on new checkpoints (their old state is kept, not used)";
  constructor(readonly refused: readonly string[]) {
    super(`these queries cannot resume from their checkpoints:\n  ${refused.join("\n  ")}`);
    this.name = "IncompatibleCheckpoints";
  }
}

/**
 * Says per query whether it resumes from its checkpoint, and which folder it uses. Refuses
 * (IncompatibleCheckpoints) when a query's checkpoint cannot be resumed, unless freshState moves that query to a
 * new checkpoint folder (the old one stays untouched).
 */
export function checkpointsToUse(verdicts: readonly SinkVerdict[], plan: PlanJson, freshState: boolean, log: (line: string) => void): Map<string, string> {
  const used = new Map<string, string>();
  const refused: string[] = [];
  for (const { sink, planned, verdict } of verdicts) {
    switch (verdict.kind) {
      case "new":
        log(`  ${sink}: starts on a new checkpoint`);
        used.set(sink, planned);
        break;
      case "resumes":
        log(`  ${sink}: resumes from its checkpoint${verdict.notes.length > 0 ? ` (${verdict.notes.join("; ")})` : ""}`);
        used.set(sink, verdict.checkpoint);
        break;
      case "unchecked":
        log(`  ${sink}: ${verdict.notes.join("; ")}`);
        used.set(sink, verdict.checkpoint);
        break;
      case "incompatible": {
        // A file sink's folder remembers the batch ids it committed (_spark_metadata): a query on
        // a fresh checkpoint numbers its batches from 0 again, and the sink would silently skip
        // them. Fresh state for a file sink needs a new folder too.
        const kind = plan.sinks.find((x) => x.name === sink)?.kind;
        const newFolder = verdict.reasons.some((r) => r.startsWith("the output folder changed"));
        if (freshState && kind === "parquet" && !newFolder) {
          refused.push(
            `${sink}: ${verdict.reasons.join("; ")}; and --fresh-state needs a new output folder for it ` +
              "(its folder records the old query's batches): change sinks.*.path too",
          );
        } else if (freshState) {
          const fresh = freshCheckpoint(planned, new Date());
          log(`  ${sink}: starts with fresh state on ${fresh}, because ${verdict.reasons.join("; ")}`);
          used.set(sink, fresh);
        } else {
          refused.push(`${sink}: ${verdict.reasons.join("; ")}`);
        }
      }
    }
  }
  if (refused.length > 0) throw new IncompatibleCheckpoints(refused);
  return used;
}

/** The bound plan with each query on the checkpoint it uses (a resumed or fresh folder may differ from the planned one). */
export function withCheckpoints(bound: PlanJson, used: ReadonlyMap<string, string>): PlanJson {
  return { ...bound, sinks: bound.sinks.map((sink) => ({ ...sink, checkpoint: used.get(sink.name) ?? sink.checkpoint })) };
}
