/** The Java runner under spark-submit, as Livy would start it, with its log captured. */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, writeFileSync } from "node:fs";
import path from "node:path";
import { parseEvent, type RunnerEvent } from "../../../src/livy/runner-events.js";
import type { StackEnv } from "./stack.js";

export class RunnerProcess {
  readonly events: RunnerEvent[] = [];
  readonly exited: Promise<number>;
  private readonly child: ChildProcess;

  private constructor(
    child: ChildProcess,
    readonly stopFile: string,
    readonly logFile: string,
  ) {
    this.child = child;
    this.exited = new Promise((resolve) => child.on("exit", (code) => resolve(code ?? -1)));
  }

  static start(options: {
    env: StackEnv;
    jar: string;
    plan: string;
    stopFile: string;
    logFile: string;
    extraArgs?: string[];
    /** Spark settings given to spark-submit, as a cluster's spark-defaults.conf would. */
    sparkConf?: Record<string, string>;
  }): RunnerProcess {
    const { env } = options;
    const child = spawn(
      path.join(env.SPARK_HOME, "bin/spark-submit"),
      [
        "--master",
        "local[2]",
        "--driver-memory",
        "1g",
        "--conf",
        "spark.ui.enabled=false",
        ...Object.entries(options.sparkConf ?? {}).flatMap(([k, v]) => ["--conf", `${k}=${v}`]),
        "--jars",
        env.SPARK_KAFKA_JARS,
        "--class",
        "io.sensorstreaming.runner.Runner",
        options.jar,
        options.plan,
        "--stop-file",
        options.stopFile,
        ...(options.extraArgs ?? []),
      ],
      { env: { ...process.env, SPARK_HOME: env.SPARK_HOME }, stdio: ["ignore", "pipe", "pipe"] },
    );
    const log = createWriteStream(options.logFile);
    const runner = new RunnerProcess(child, options.stopFile, options.logFile);
    let pending = "";
    child.stdout.on("data", (chunk: Buffer) => {
      log.write(chunk);
      pending += chunk.toString("utf8");
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        const event = parseEvent(line);
        if (event !== undefined) runner.events.push(event);
      }
    });
    child.stderr.on("data", (chunk: Buffer) => log.write(chunk));
    return runner;
  }

  /** Asks for a graceful stop with the stop marker and waits for the process to end. */
  async stop(): Promise<number> {
    writeFileSync(this.stopFile, "stop\n");
    return this.exited;
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, runner?: RunnerProcess): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | undefined;
  void runner?.exited.then((code) => (exitCode = code));
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (exitCode !== undefined) throw new Error(`runner exited with ${exitCode} while waiting for ${what}; see ${runner!.logFile}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${runner === undefined ? "" : `; see ${runner.logFile}`}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}
