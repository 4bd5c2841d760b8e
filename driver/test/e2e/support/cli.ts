/**
 * The built CLI (dist/, as the scripts run it) as a child process, asynchronously: a Spark
 * start-up must not block the test worker. The e2e global setup builds it.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { root } from "./stack.js";

export const cliMain = path.join(root, "dist/cli/main.js");

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliMain, ...args], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The e2e spec (driver/test/e2e/e2e-spec.yaml) under another pipeline name, written into `work`, so its staging and state are its own. */
export function e2eSpecNamed(work: string, name: string, edit: (text: string) => string = (t) => t): string {
  const text = readFileSync(path.join(root, "driver/test/e2e/e2e-spec.yaml"), "utf8").replace("name: e2e\n", `name: ${name}\n`);
  const file = path.join(work, `${name}.yaml`);
  writeFileSync(file, edit(text));
  return file;
}

/** The environment the CLI gets in an e2e test: the stack's endpoints, its own state folder, the e2e spec's variables. */
export function e2eCliEnv(env: object, work: string, topic: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...(env as Record<string, string>),
    SENSOR_STREAMING_STATE: path.join(work, "state"),
    E2E_TOPIC: topic,
    E2E_DIR: path.join(work, "data"),
    E2E_REGISTRY: path.join(work, "registry.csv"),
  };
}
