/** `logs`: the driver log of the pipeline's batch, paged through Livy; `-f` follows it. */
import { readJobState } from "../deploy/job-state.js";
import { FINAL_STATES } from "../livy/livy-client.js";
import { LogCursor } from "../livy/log-cursor.js";
import { type Output } from "./commands.js";
import { EXIT } from "./exit-codes.js";
import { loadPlan, type SpecOptions } from "./pipeline-input.js";
import { JobError } from "../job/errors.js";
import { type JobOptions, fullLog, lastBatch, liveBatch, livyClient, stateDir, withLivy } from "../job/session.js";

export async function logsCommand(specFile: string | undefined, options: SpecOptions & JobOptions & { follow?: boolean }, io: Output): Promise<number> {
  const { plan } = loadPlan(specFile, options);
  const livy = livyClient(options);
  const recorded = readJobState(stateDir(options), plan.pipeline);
  const { batch } = await withLivy(() => liveBatch(livy, plan.pipeline, options), "livy-unreachable");
  // When nothing runs, the log of the pipeline's newest batch Livy still remembers.
  const id = batch?.id ?? recorded?.batchId ?? (await withLivy(async () => (await lastBatch(livy, plan.pipeline))?.id, "livy-unreachable"));
  if (id === undefined) {
    io.out(`pipeline ${plan.pipeline} has no batch to show the log of`);
    return EXIT.ok;
  }
  const cursor = new LogCursor();
  let shown = 0;
  let stop = false;
  process.once("SIGINT", () => (stop = true));
  do {
    const lines = await withLivy(() => fullLog(livy, id), "livy-unreachable").catch((error: unknown) => {
      if (error instanceof JobError && shown > 0) return undefined;
      throw error;
    });
    if (lines === undefined) break;
    for (const line of cursor.next(lines)) io.out(line);
    shown += lines.length;
    const current = await withLivy(() => livy.find(id), "livy-unreachable");
    if (current === undefined || FINAL_STATES.includes(current.state)) break;
    if (options.follow === true) await new Promise((resolve) => setTimeout(resolve, 2000));
  } while (options.follow === true && !stop);
  return EXIT.ok;
}
