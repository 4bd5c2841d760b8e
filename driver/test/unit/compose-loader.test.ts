/**
 * The compose files load in Compose's own loader: infrastructure/compose-check/check.sh runs
 * compose-go (what `docker compose` uses; no Docker engine runs here) with the consistency check
 * on. The real files must load, and broken copies must fail, naming the file and the reason.
 *
 * The first run builds the checker into SENSOR_STREAMING_CACHE, downloading its Go modules
 * (about a minute on a fresh clone); later runs reuse it (well under a second).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { generatedSecrets, INFRASTRUCTURE, loadComposeProject, readEnvFile, ROOT } from "./compose-project.js";

const CHECK = path.join(INFRASTRUCTURE, "compose-check/check.sh");
/** The first check.sh of a fresh clone downloads modules and builds. */
const BUILD_TIMEOUT = 600_000;

const scratch = mkdtempSync(path.join(os.tmpdir(), "sensor-compose-check-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function check(...paths: string[]): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }> {
  const result = await execa(CHECK, paths, { cwd: ROOT, reject: false });
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}

/** Not read by the loader, or not to be copied (the real secrets, also an earlier version's file; the runner jar). */
const NOT_COPIED = ["compose-check", "local", "spark/runner", ".env", ".secrets.env"];

/** A copy of infrastructure/ (what the loader reads: compose files, env files, mounted folders) with one text of one file replaced. */
function brokenCopy(name: string, file: string, from: string, to: string): string {
  const dir = path.join(scratch, name);
  cpSync(INFRASTRUCTURE, dir, {
    recursive: true,
    filter: (source) => {
      const relative = path.relative(INFRASTRUCTURE, source);
      return !NOT_COPIED.some((skip) => relative === skip || relative.startsWith(`${skip}/`) || relative.startsWith(`${skip}.`));
    },
  });
  const target = path.join(dir, file);
  const text = readFileSync(target, "utf8");
  expect(text, `${file} no longer has the text this test breaks: update the test`).toContain(from);
  writeFileSync(target, text.replace(from, to));
  return dir;
}

/** The line check.sh printed for one file. */
function lineOf(stdout: string, file: string): string | undefined {
  return stdout.split("\n").find((line) => line.startsWith(`ok ${file}: `) || line.startsWith(`error ${file}: `));
}

describe("compose-check (compose-go, the loader of docker compose)", () => {
  it(
    "loads every compose file of the repository: the whole project and each file it includes",
    async () => {
      const result = await check();
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
      expect(lineOf(result.stdout, "infrastructure/docker-compose.yml")).toBe("ok infrastructure/docker-compose.yml: 9 services");
      for (const { file } of loadComposeProject().files) {
        expect(lineOf(result.stdout, file), `check.sh found no ${file}`).toMatch(/^ok .*: \d+ services?\b/);
      }
      for (const file of ["infrastructure/spark/compose.yaml", "infrastructure/grafana/compose.yaml"]) {
        expect(lineOf(result.stdout, file)).toMatch(/\(included by infrastructure\/docker-compose\.yml\)$/);
      }
    },
    BUILD_TIMEOUT,
  );

  it(
    "fails on a depends_on naming a service no file defines, on the including project's line and the file's own",
    async () => {
      const dir = brokenCopy(
        "missing-dependency",
        "spark/compose.yaml",
        "      datanode:\n        condition: service_healthy",
        "      hdfs-datanode:\n        condition: service_healthy",
      );
      const result = await check(dir);
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(1);
      expect(lineOf(result.stdout, `${dir}/docker-compose.yml`)).toBe(
        `error ${dir}/docker-compose.yml: service "livy" depends on undefined service "hdfs-datanode": invalid compose project`,
      );
      expect(lineOf(result.stdout, `${dir}/spark/compose.yaml`)).toMatch(/^error .*: service "livy" depends on undefined service "hdfs-datanode"/);
      // The other files are still fine.
      expect(lineOf(result.stdout, `${dir}/hadoop/compose.yaml`)).toMatch(/^ok /);
    },
    BUILD_TIMEOUT,
  );

  it(
    "fails on a key the Compose specification does not know, naming the file and the key",
    async () => {
      const dir = brokenCopy("unknown-key", "grafana/compose.yaml", "    restart: unless-stopped", "    restart_policy: unless-stopped");
      const result = await check(dir);
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(1);
      for (const file of ["docker-compose.yml", "grafana/compose.yaml"]) {
        const line = lineOf(result.stdout, `${dir}/${file}`);
        expect(line).toMatch(/^error /);
        expect(line).toContain(`${dir}/grafana/compose.yaml: services.grafana.restart_policy`);
        expect(line).toContain("does not define");
      }
    },
    BUILD_TIMEOUT,
  );

  it(
    "fails on a value of the wrong type",
    async () => {
      const dir = brokenCopy("wrong-type", "ingestion/kafka/compose.yaml", "      retries: 20", "      retries: [20]");
      const result = await check(dir);
      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(1);
      expect(lineOf(result.stdout, `${dir}/ingestion/kafka/compose.yaml`)).toMatch(/^error .*services\.kafka\.healthcheck\.retries must be a number/);
    },
    BUILD_TIMEOUT,
  );

  it("gives stand-ins for exactly the secrets start-all.sh generates", () => {
    const generated = generatedSecrets();
    expect(generated.length).toBeGreaterThan(0);
    const dummies = readEnvFile(path.join(INFRASTRUCTURE, "compose-check/dummy-secrets.env"));
    expect([...dummies.keys()].sort()).toEqual(generated.sort());
    for (const value of dummies.values()) expect(value).toBe("compose-check-dummy");
  });

  it("explains itself with --help", async () => {
    const result = await execa(CHECK, ["--help"], { cwd: ROOT, reject: false });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("Usage: infrastructure/compose-check/check.sh");
    expect(result.stdout).toContain("SENSOR_STREAMING_CACHE");
  });
});
