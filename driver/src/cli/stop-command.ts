/** `stop`: reads the spec for the pipeline's name and stops it gracefully (job/stop.ts). */
import { EXIT } from "./exit-codes.js";
import { numberOption, type Output } from "./commands.js";
import { loadPlan, type SpecOptions } from "./pipeline-input.js";
import type { JobOptions } from "../job/session.js";
import { stopPipeline } from "../job/stop.js";

export async function stopCommand(specFile: string | undefined, options: SpecOptions & JobOptions & { timeout?: string }, io: Output): Promise<number> {
  const { plan } = loadPlan(specFile, options);
  await stopPipeline(plan.pipeline, { ...options, timeoutMs: numberOption(options.timeout ?? "120", "timeout", 1) * 1000 }, io);
  return EXIT.ok;
}
