/**
 * Where a job's files go so that the Spark driver (started by Livy) can read them: a local
 * folder for the local stack, or the Spark master container of the Docker Compose cluster.
 * Folders are content-addressed, so a running job's files never change under its feet.
 */
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { pipelineFiles, type CompiledPipeline } from "../emit/compiled-files.js";
import type { PlanJson } from "../emit/plan-json.js";
import { stageLocal } from "./stage-local.js";
import { childOf, isHdfs, storeFor } from "./file-store.js";

export interface StagedJob {
  /** Paths as the Spark driver sees them. */
  readonly planFile: string;
  readonly jarFile: string;
  readonly stopFile: string;
  readonly reused: boolean;
}

export interface StagingTarget {
  readonly kind: "local" | "docker";
  readonly description: string;
  /** Stages a bound pipeline (deploy/bind-plan.ts) and the runner jar; plan.json's text is made here. */
  stage(bound: CompiledPipeline, runnerJar: string): Promise<StagedJob>;
  /** The stop marker of a pipeline's jobs, as the Spark driver sees it. */
  stopFileFor(pipeline: string): string;
  /** Asks the runner to stop gracefully: creates its stop marker. */
  requestStop(stopFile: string): Promise<void>;
  /** Removes a marker left by an earlier run, before a new run is submitted. */
  clearStop(stopFile: string): Promise<void>;
  /**
   * How long ago the runner last wrote its heartbeat (`<stop marker>.alive`, every 5 s while it
   * runs), or undefined when there is none or it cannot be read.
   */
  heartbeatAgeMs(stopFile: string): Promise<number | undefined>;
}

/**
 * When the plan keeps its checkpoints on HDFS, the stop marker lives there too, beside them
 * (`<checkpoints>/<pipeline>/_control/<pipeline>.STOP`, named by the pipeline so that pipelines
 * whose checkpoints share a folder never share a marker): the runner polls it through Hadoop
 * wherever its driver runs, and this CLI writes it through WebHDFS whichever target staged the job.
 */
export function hdfsStopMarker(bound: Pick<PlanJson, "pipeline" | "sinks">): string | undefined {
  const checkpoint = bound.sinks[0]?.checkpoint;
  if (checkpoint === undefined || !isHdfs(checkpoint)) return undefined;
  const parent = checkpoint.replace(/\/+$/, "").replace(/\/[^/]*$/, "");
  return childOf(childOf(parent, "_control"), `${bound.pipeline}.STOP`);
}

/**
 * The stop marker and heartbeat on HDFS, the same for every target. The marker is a folder: a
 * folder is made by the NameNode alone, so a stop needs no DataNode this machine can reach (in the
 * Compose cluster only the NameNode's HTTP port is published); the runner only asks whether it
 * exists. The heartbeat's age is read against the NameNode's clock.
 */
const hdfsMarker = {
  async request(stopFile: string): Promise<void> {
    await storeFor(stopFile)!.mkdirs(stopFile);
  },
  async clear(stopFile: string): Promise<void> {
    await storeFor(stopFile)!.remove(stopFile);
  },
  async heartbeatAgeMs(stopFile: string): Promise<number | undefined> {
    return storeFor(stopFile)!.ageMs(`${stopFile}.alive`);
  },
};

function jarName(jar: string): string {
  return `sensor-streaming-runner-${createHash("sha256").update(readFileSync(jar)).digest("hex").slice(0, 16)}.jar`;
}

export class LocalStagingTarget implements StagingTarget {
  readonly kind = "local";
  constructor(readonly root: string) {}

  get description(): string {
    return `local folder ${this.root}`;
  }

  async stage(bound: CompiledPipeline, runnerJar: string): Promise<StagedJob> {
    const pipeline = bound.plan.pipeline;
    const staged = stageLocal(pipeline, pipelineFiles(bound), this.root);
    const stopFile = hdfsStopMarker(bound.plan) ?? this.stopFileFor(pipeline);
    const jarFile = path.resolve(this.root, "runner", jarName(runnerJar));
    if (!existsSync(jarFile)) {
      mkdirSync(path.dirname(jarFile), { recursive: true });
      copyFileSync(runnerJar, `${jarFile}.partial`);
      renameSync(`${jarFile}.partial`, jarFile);
    }
    return { planFile: staged.planFile, jarFile, stopFile, reused: staged.reused };
  }

  stopFileFor(pipeline: string): string {
    return path.resolve(this.root, pipeline, "STOP");
  }

  async requestStop(stopFile: string): Promise<void> {
    if (isHdfs(stopFile)) return hdfsMarker.request(stopFile);
    mkdirSync(path.dirname(stopFile), { recursive: true });
    writeFileSync(stopFile, `stop requested at ${new Date().toISOString()}\n`);
  }

  async clearStop(stopFile: string): Promise<void> {
    if (isHdfs(stopFile)) return hdfsMarker.clear(stopFile);
    rmSync(stopFile, { force: true });
  }

  async heartbeatAgeMs(stopFile: string): Promise<number | undefined> {
    if (isHdfs(stopFile)) return hdfsMarker.heartbeatAgeMs(stopFile);
    const beat = statSync(`${stopFile}.alive`, { throwIfNoEntry: false });
    return beat === undefined ? undefined : Date.now() - beat.mtimeMs;
  }
}

/** Copies files into a container with `docker cp` and runs commands in it with `docker exec`. */
export class DockerStagingTarget implements StagingTarget {
  readonly kind = "docker";
  constructor(
    readonly container: string,
    /** The staging folder inside the container (whitelisted in the container's Livy). */
    readonly root: string,
    private readonly docker: string = process.env.DOCKER ?? "docker",
  ) {}

  get description(): string {
    return `container ${this.container}:${this.root}`;
  }

  private async exec(args: readonly string[]): Promise<string> {
    try {
      return (await execa(this.docker, ["exec", this.container, ...args])).stdout;
    } catch (error) {
      const e = error as { stderr?: string; shortMessage?: string };
      throw new Error(`docker exec in ${this.container} failed: ${(e.stderr || e.shortMessage || String(error)).trim()}`, { cause: error });
    }
  }

  private async exists(file: string): Promise<boolean> {
    try {
      await execa(this.docker, ["exec", this.container, "test", "-e", file]);
      return true;
    } catch {
      return false;
    }
  }

  private async copyIn(local: string, remote: string): Promise<void> {
    try {
      await execa(this.docker, ["cp", local, `${this.container}:${remote}`]);
    } catch (error) {
      const e = error as { stderr?: string; shortMessage?: string };
      throw new Error(`docker cp into ${this.container} failed: ${(e.stderr || e.shortMessage || String(error)).trim()}`, { cause: error });
    }
  }

  async stage(bound: CompiledPipeline, runnerJar: string): Promise<StagedJob> {
    const pipeline = bound.plan.pipeline;
    const scratch = mkdtempSync(path.join(os.tmpdir(), "sensor-stage-"));
    try {
      const local = stageLocal(pipeline, pipelineFiles(bound), scratch);
      const hashDir = path.basename(local.dir);
      const remoteDir = path.posix.join(this.root, pipeline, hashDir);
      const reused = await this.exists(path.posix.join(remoteDir, "plan.json"));
      if (!reused) {
        // Copied beside and moved into place, so the folder appears whole; a partial copy left
        // by an interrupted start would otherwise receive this one as a subfolder.
        await this.exec(["rm", "-rf", `${remoteDir}.partial`]);
        await this.exec(["mkdir", "-p", path.posix.join(this.root, pipeline)]);
        await this.copyIn(local.dir, `${remoteDir}.partial`);
        await this.exec(["mv", `${remoteDir}.partial`, remoteDir]);
      }
      const jarFile = path.posix.join(this.root, "runner", jarName(runnerJar));
      if (!(await this.exists(jarFile))) {
        await this.exec(["mkdir", "-p", path.posix.join(this.root, "runner")]);
        await this.copyIn(runnerJar, jarFile);
      }
      // docker cp keeps the host's modes (0600 files under a umask of 077) and makes root the
      // owner, while Livy and its driver read them as another user (spark). Also when reused: a
      // folder staged before this line existed may be unreadable.
      await this.exec(["chmod", "-R", "a+rX", remoteDir, jarFile]);
      const stopFile = hdfsStopMarker(bound.plan) ?? this.stopFileFor(pipeline);
      return { planFile: path.posix.join(remoteDir, "plan.json"), jarFile, stopFile, reused };
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  stopFileFor(pipeline: string): string {
    return path.posix.join(this.root, pipeline, "STOP");
  }

  async requestStop(stopFile: string): Promise<void> {
    if (isHdfs(stopFile)) return hdfsMarker.request(stopFile);
    await this.exec(["touch", stopFile]);
  }

  async clearStop(stopFile: string): Promise<void> {
    if (isHdfs(stopFile)) return hdfsMarker.clear(stopFile);
    await this.exec(["rm", "-f", stopFile]);
  }

  async heartbeatAgeMs(stopFile: string): Promise<number | undefined> {
    if (isHdfs(stopFile)) return hdfsMarker.heartbeatAgeMs(stopFile);
    // Seconds since the epoch, of the heartbeat and of the container's clock, in one call.
    const out = await this.exec(["sh", "-c", 'stat -c %Y "$1" && date +%s', "heartbeat", `${stopFile}.alive`]).catch(() => "");
    const [written, now] = out.trim().split(/\s+/).map(Number);
    return written === undefined || now === undefined || Number.isNaN(written) || Number.isNaN(now) ? undefined : (now - written) * 1000;
  }
}
