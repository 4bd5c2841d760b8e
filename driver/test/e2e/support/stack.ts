/**
 * The real local stack for end-to-end tests: `infrastructure/local/stack.sh up` (idempotent;
 * it installs on first use), or `up --cluster` for the cluster suite (HDFS, Spark standalone, Livy
 * submitting to it), and the runner jar built against that Spark.
 */
import { execFileSync, spawn } from "node:child_process";
import path from "node:path";

export const root = path.resolve(import.meta.dirname, "../../../..");
const stackScript = path.join(root, "infrastructure/local/stack.sh");

export interface StackEnv {
  readonly SPARK_HOME: string;
  readonly SPARK_KAFKA_JARS: string;
  readonly LIVY_URL: string;
  readonly KAFKA_BOOTSTRAP: string;
  readonly INFLUXDB_URL: string;
  readonly SENSOR_STREAMING_STAGING: string;
}

/** The cluster mode's endpoints besides. */
export interface ClusterEnv extends StackEnv {
  readonly HDFS_URL: string;
  readonly WEBHDFS_URL: string;
  readonly SPARK_MASTER_URL: string;
}

export type StackMode = "local" | "cluster";

function parseExports(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) out[match[1]!] = match[2]!.replace(/\\(.)/g, "$1").replace(/^'(.*)'$/, "$1");
  }
  return out;
}

/** Runs a command with inherited output, without blocking the test worker while it runs. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env, stdio: ["ignore", "inherit", "inherit"] });
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited with ${code}`))));
  });
}

let cached: Promise<{ env: StackEnv; runnerJar: string }> | undefined;

/** Starts the stack if needed and builds the runner; returns the stack's endpoints. */
export function ensureStack(): Promise<{ env: StackEnv; runnerJar: string }> {
  return ensureMode("local");
}

/** The same in the cluster mode. */
export async function ensureClusterStack(): Promise<{ env: ClusterEnv; runnerJar: string }> {
  const stack = await ensureMode("cluster");
  return stack as { env: ClusterEnv; runnerJar: string };
}

function ensureMode(mode: StackMode): Promise<{ env: StackEnv; runnerJar: string }> {
  cached ??= (async () => {
    await run(stackScript, mode === "cluster" ? ["up", "--cluster"] : ["up"]);
    const env = parseExports(execFileSync(stackScript, ["env"], { cwd: root, encoding: "utf8" })) as unknown as StackEnv;
    const runnerJar = path.join(root, "infrastructure/spark/runner/build/sensor-streaming-runner.jar");
    await run(path.join(root, "infrastructure/spark/runner/build.sh"), [runnerJar], { ...process.env, SPARK_HOME: env.SPARK_HOME });
    return { env, runnerJar };
  })();
  return cached;
}
