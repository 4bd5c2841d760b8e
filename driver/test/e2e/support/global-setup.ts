/**
 * Brings the local stack up before the end-to-end tests and, when this run started it, takes it
 * down afterwards, so a test run leaves the machine as it found it.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { ensureClusterStack, ensureStack, root, type StackMode } from "./stack.js";

const stack = path.join(root, "infrastructure/local/stack.sh");

/** The e2e suite's setup: the local mode (the cluster suite's is global-setup-cluster.ts). */
export default function setup(): Promise<() => void> {
  return setupStack("local");
}

export async function setupStack(mode: StackMode): Promise<() => void> {
  // A stack that ran before (in either mode) is left running: it may be someone's.
  const wasRunning = spawnSync(stack, ["status"], { cwd: root, stdio: "ignore" }).status === 0;
  await (mode === "cluster" ? ensureClusterStack() : ensureStack());
  // The end-to-end tests run the CLI as users do, built (tsx's loader would take Ctrl-C itself).
  spawnSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: "inherit" });
  return () => {
    if (!wasRunning && process.env.SENSOR_STREAMING_KEEP_STACK !== "1") {
      spawnSync(stack, ["down"], { cwd: root, stdio: "inherit" });
    }
  };
}
