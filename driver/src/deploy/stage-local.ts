/**
 * Stages a bound pipeline's files in a local folder the Spark driver can read (the local stack's
 * staging folder, which Livy whitelists). The folder is named by a hash of its content, so a
 * running job's files are never changed under its feet: a new spec gets a new folder.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";

export interface StagedFile {
  readonly name: string;
  readonly content: string;
}

export interface Staged {
  readonly dir: string;
  readonly planFile: string;
  readonly reused: boolean;
}

/** Stages files as they are: plan.json must be bound already (deploy/bind-plan.ts). */
export function stageLocal(pipeline: string, files: readonly StagedFile[], stagingRoot: string): Staged {
  const hash = createHash("sha256");
  for (const file of [...files].sort((a, b) => a.name.localeCompare(b.name))) hash.update(`${file.name}\0${file.content}\0`);
  const dir = path.resolve(stagingRoot, pipeline, hash.digest("hex").slice(0, 16));
  const planFile = path.join(dir, "plan.json");
  if (existsSync(planFile)) return { dir, planFile, reused: true };
  // Written beside and renamed into place, so a reader never sees half a folder.
  const partial = `${dir}.partial-${process.pid}`;
  mkdirSync(partial, { recursive: true });
  for (const file of files) writeFileSync(path.join(partial, file.name), file.content);
  renameSync(partial, dir);
  return { dir, planFile, reused: false };
}
