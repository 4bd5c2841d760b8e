/**
 * `sensor-streaming registry ...` and `./data/upload-data.sh` as a user runs them: a child process,
 * its exit code, stdout and stderr (as driver/test/cli/cli.test.ts runs the CLI).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../../..");
const main = path.join(root, "driver/src/cli/main.ts");
const scratch = mkdtempSync(path.join(os.tmpdir(), "sensor-registry-cli-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const ENV = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? os.tmpdir() };

function cli(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ["--import", "tsx", main, ...args], { cwd: root, encoding: "utf8", env: { ...ENV, ...env } });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

function script(args: string[], env: Record<string, string> = {}, cwd = root) {
  const result = spawnSync(path.join(root, "data/upload-data.sh"), args, { cwd, encoding: "utf8", env: { ...ENV, ...env } });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const REGISTRY = "institute,DevEui,profile,classroom\nIES Sant Pau,A1,iaq,Aula 1\nIES Sant Pau,A2,porta,Aula 2\n";

function file(name: string, text: string): string {
  const target = path.join(scratch, name);
  writeFileSync(target, text);
  return target;
}

describe("sensor-streaming registry", () => {
  it("validate accepts the project's registry and exits 12 with every problem of a bad one", () => {
    const ok = cli(["registry", "validate"]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe("data/registry.csv is a valid registry for conf/pipeline.yaml: 42 devices, columns institute, DevEui, profile, classroom\n");

    const bad = file("bad.csv", "institute,DevEui,profile\nIES,A1,iaq\nIES,A1,iaq\nIES,,iaq\n");
    const run = cli(["registry", "validate", bad, "conf/pipeline.yaml", "-p", "local"]);
    expect(run.code).toBe(12);
    expect(run.stdout).toBe("");
    expect(run.stderr.split("\n")).toEqual([
      `${bad}: line 1: the header lacks classroom (the spec's registry.key and registry.columns); it has: institute, DevEui, profile`,
      `${bad}: line 3: DevEui A1 is already on line 2: the pipeline would keep only one of them`,
      `${bad}: line 4: no DevEui: every device needs one (the pipeline ignores rows without)`,
      "",
      `${bad}: 3 problems for conf/pipeline.yaml with conf/profiles/local.yaml; it is not valid`,
      "hint: fix the lines above, then upload it with ./data/upload-data.sh",
      "",
    ]);
  });

  it("upload writes where registry.path points, then show prints it", () => {
    const target = path.join(scratch, "uploaded", "registry.csv");
    const env = { REGISTRY_PATH: target };
    const dry = cli(["registry", "upload", file("new.csv", REGISTRY), "--dry-run"], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("dry run: nothing written");
    expect(readdirSync(scratch)).not.toContain("uploaded");

    const upload = cli(["registry", "upload", path.join(scratch, "new.csv")], env);
    expect(upload.stderr).toBe("");
    expect(upload.code).toBe(0);
    expect(upload.stdout).toContain(`written to file://${target}`);
    expect(readFileSync(target, "utf8")).toBe(REGISTRY);

    const show = cli(["registry", "show"], env);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^institute +DevEui +profile +classroom\n/);
    expect(show.stdout).toContain(`(2 devices in file://${target})`);
  });

  it("show exits 3 with a hint when there is no registry", () => {
    const run = cli(["registry", "show"], { REGISTRY_PATH: path.join(scratch, "none.csv") });
    expect(run.code).toBe(3);
    expect(run.stderr).toBe(`no registry at file://${path.join(scratch, "none.csv")}\nhint: upload one with ./data/upload-data.sh\n`);
  });

  it("teaches in --help and refuses an unknown subcommand with 64", () => {
    const help = cli(["registry", "upload", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--dry-run");
    expect(help.stdout).toContain("--profile <name>");
    expect(help.stdout).toContain("Examples:");
    expect(cli(["registry", "--help"]).stdout).toContain("./data/upload-data.sh");
    expect(cli(["registry", "publish"]).code).toBe(64);
  });
});

describe("./data/upload-data.sh", () => {
  it("explains itself with --help", () => {
    const run = script(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Usage: ./data/upload-data.sh [CSV]");
    expect(run.stdout).toContain("SENSOR_STREAMING_PROFILE");
    expect(run.stdout).not.toContain("set -euo");
  });

  it("uploads a CSV named relative to where it is called from, passing other options through", () => {
    const target = path.join(scratch, "by-script", "registry.csv");
    file("script.csv", REGISTRY);
    const run = script(["script.csv", "--profile", "local"], { REGISTRY_PATH: target }, scratch);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${path.join(scratch, "script.csv")} -> file://${target}`);
    expect(readFileSync(target, "utf8")).toBe(REGISTRY);
  });

  it("for the docker target, warns about and ignores the local stack's settings of the shell", () => {
    const target = path.join(scratch, "docker-target", "registry.csv");
    file("docker.csv", REGISTRY);
    // As after eval "$(infrastructure/local/stack.sh env)": localhost, and files of this machine.
    const stack = {
      KAFKA_BOOTSTRAP: "localhost:9092",
      INFLUXDB_URL: "http://127.0.0.1:8086",
      SPARK_KAFKA_JARS: "/cache/a.jar",
      SENSOR_STREAMING_STAGING: "/repo/.local-stack/staging",
    };
    // A registry elsewhere than on localhost is the operator's choice: kept (a folder here, so no HDFS is needed).
    const run = script(["docker.csv"], { ...stack, SENSOR_STREAMING_TARGET: "docker", REGISTRY_PATH: target }, scratch);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain("upload-data: warning: SENSOR_STREAMING_TARGET=docker ignores KAFKA_BOOTSTRAP INFLUXDB_URL: set in this shell");
    expect(run.stderr).toContain(
      "upload-data: warning: SENSOR_STREAMING_TARGET=docker ignores SPARK_KAFKA_JARS SENSOR_STREAMING_STAGING: files of this machine",
    );
    expect(run.stderr).not.toContain("REGISTRY_PATH");
    expect(readFileSync(target, "utf8")).toBe(REGISTRY);
  });

  it("refuses a bad registry with exit 12 and an unknown target with 64", () => {
    expect(script([file("bad-script.csv", "institute,DevEui\nIES,A1\n")]).code).toBe(12);
    const target = script([], { SENSOR_STREAMING_TARGET: "cloud" });
    expect(target.code).toBe(64);
    expect(target.stderr).toContain("SENSOR_STREAMING_TARGET must be local or docker");
  });
});
