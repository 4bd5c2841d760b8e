/**
 * infrastructure/start-all.sh and stop-all.sh with a FAKE `docker` (no Docker engine here): a
 * stand-in that answers `compose version`, `info`, `volume inspect`, and for the livy container
 * `exec ... sha256sum` and `cp`, and records every call with the variables it was given. The
 * scripts run from a copy of infrastructure/, so the repository's own .env is never touched.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generatedSecrets, INFRASTRUCTURE, readEnvFile } from "./compose-project.js";

const scratch = mkdtempSync(path.join(os.tmpdir(), "sensor-start-all-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const bin = path.join(scratch, "bin");
const calls = path.join(scratch, "docker-calls.log");
mkdirSync(bin);
writeFileSync(
  path.join(bin, "docker"),
  `#!/usr/bin/env bash
# Stand-in for the docker CLI (no Docker engine here).
set -euo pipefail
printf '%s | INFLUXDB_TOKEN=%s\\n' "$*" "\${INFLUXDB_TOKEN:-}" >> '${calls}'
case "$1" in
  info) exit 0 ;;
  volume) case " \${FAKE_VOLUMES:-} " in *" $3 "*) exit 0 ;; *) exit 1 ;; esac ;;
  compose)
    case " $* " in
      *" version --short "*) echo "\${FAKE_COMPOSE_VERSION:-2.23.0}" ;;
      *" exec -T livy sha256sum "*) printf '%s  %s\\n' "$(printf '%s' "\${FAKE_JAR:-runner v1}" | sha256sum | cut -d' ' -f1)" "\${*: -1}" ;;
      *" cp livy:"*) printf '%s' "\${FAKE_JAR:-runner v1}" > "\${*: -1}" ;;
    esac ;;
  *) echo "fake docker: unsupported $1" >&2; exit 2 ;;
esac
`,
);
chmodSync(path.join(bin, "docker"), 0o755);

/** A copy of the scripts in a folder of their own: <tree>/infrastructure/. */
function tree(name: string): string {
  const infrastructure = path.join(scratch, name, "infrastructure");
  mkdirSync(infrastructure, { recursive: true });
  for (const file of ["start-all.sh", "stop-all.sh", "compose-version.sh", "docker-compose.yml"])
    copyFileSync(path.join(INFRASTRUCTURE, file), path.join(infrastructure, file));
  return infrastructure;
}

function run(infrastructure: string, script: string, args: string[] = [], env: Record<string, string> = {}, umask = "022") {
  rmSync(calls, { force: true });
  const result = spawnSync("bash", ["-c", `umask ${umask}; exec bash "$0" "$@"`, path.join(infrastructure, script), ...args], {
    encoding: "utf8",
    env: { PATH: `${bin}:${process.env.PATH ?? ""}`, HOME: scratch, ...env },
  });
  return { code: result.status, out: result.stdout + result.stderr, calls: existsSync(calls) ? readFileSync(calls, "utf8") : "" };
}

const mode = (file: string): number => statSync(file).mode & 0o777;

describe("start-all.sh (fake docker: no Docker engine here)", () => {
  it("writes the secrets and settings to infrastructure/.env (0600, never printed) and gives Compose exactly those", () => {
    const infrastructure = tree("first");
    const result = run(infrastructure, "start-all.sh", ["--no-build"], { GRAFANA_PORT: "3001", INFLUXDB_TOKEN: "stale-in-the-shell" });
    expect(result.code, result.out).toBe(0);
    const envFile = path.join(infrastructure, ".env");
    expect(mode(envFile)).toBe(0o600);
    const values = readEnvFile(envFile);
    for (const name of generatedSecrets()) {
      expect(values.get(name), name).toMatch(/^[0-9a-f]{48}$/);
      expect(result.out).not.toContain(values.get(name));
    }
    expect(values.get("GRAFANA_PORT")).toBe("3001");
    expect(values.get("SPARK_MASTER_CONTAINER")).toBe("spark-master");
    expect(result.out).toContain("http://");
    // Every compose command names the project, and gets the file's token, not the shell's.
    const compose = result.calls.split("\n").filter((line) => line.startsWith("compose -p ") || line.startsWith("compose --"));
    expect(compose.length).toBeGreaterThan(0);
    for (const line of compose) {
      expect(line).toMatch(/^compose -p sensor-streaming --project-directory /);
      expect(line).toContain(`INFLUXDB_TOKEN=${values.get("INFLUXDB_TOKEN")}`);
    }
    // The umask that protects .env stays in its subshell: the runner jar copied afterwards is
    // readable by others, as the caller's umask (022) makes it.
    const jar = path.join(infrastructure, "spark/runner/build/sensor-streaming-runner.jar");
    expect(readFileSync(jar, "utf8")).toBe("runner v1");
    expect(mode(jar)).toBe(0o644);
    expect(result.calls).toMatch(/^volume inspect sensor-streaming_influxdb-data /m);
  });

  it("keeps the secrets, the settings and the operator's own lines on the next run", () => {
    const infrastructure = tree("again");
    expect(run(infrastructure, "start-all.sh", ["--no-build"], { KAFKA_TOPIC: "school-air" }).code).toBe(0);
    const envFile = path.join(infrastructure, ".env");
    writeFileSync(envFile, `${readFileSync(envFile, "utf8")}SMTP_PASSWORD=kept\n`);
    const before = readEnvFile(envFile);
    const result = run(infrastructure, "start-all.sh", ["--no-build"]);
    expect(result.code, result.out).toBe(0);
    const after = readEnvFile(envFile);
    for (const name of generatedSecrets()) expect(after.get(name)).toBe(before.get(name));
    expect(after.get("KAFKA_TOPIC")).toBe("school-air");
    expect(after.get("SMTP_PASSWORD")).toBe("kept");
    expect(readFileSync(envFile, "utf8").match(/^# start-all\.sh: written/gm)).toHaveLength(1);
    // The jar is the image's already: not copied again.
    expect(result.calls).not.toContain(" cp livy:");
  });

  it("replaces a runner jar that differs from the Livy image's", () => {
    const infrastructure = tree("upgrade");
    expect(run(infrastructure, "start-all.sh", ["--no-build"]).code).toBe(0);
    const result = run(infrastructure, "start-all.sh", ["--no-build"], { FAKE_JAR: "runner v2" });
    expect(result.code, result.out).toBe(0);
    const jar = path.join(infrastructure, "spark/runner/build/sensor-streaming-runner.jar");
    expect(readFileSync(jar, "utf8")).toBe("runner v2");
    expect(mode(jar) & 0o044).toBe(0o044);
    expect(result.out).toContain("replaced by the Livy image's");
  });

  it("moves an earlier version's .secrets.env into .env with its values", () => {
    const infrastructure = tree("migrate");
    const legacy = path.join(infrastructure, ".secrets.env");
    writeFileSync(
      legacy,
      `# Generated by infrastructure/start-all.sh on 2026-01-01T00:00:00Z. Secret: do not commit or share.\n${generatedSecrets()
        .map((name) => `${name}=old${name.length}`)
        .join("\n")}\n`,
      { mode: 0o600 },
    );
    const result = run(infrastructure, "start-all.sh", ["--no-build"], { FAKE_VOLUMES: "sensor-streaming_influxdb-data sensor-streaming_grafana-data" });
    expect(result.code, result.out).toBe(0);
    expect(existsSync(legacy)).toBe(false);
    const values = readEnvFile(path.join(infrastructure, ".env"));
    for (const name of generatedSecrets()) expect(values.get(name)).toBe(`old${name.length}`);
    expect(result.out).toContain("moved the secrets of infrastructure/.secrets.env");
  });

  it("refuses to generate InfluxDB's secrets over its initialised volume, and a Compose older than 2.23", () => {
    const infrastructure = tree("refusals");
    const lost = run(infrastructure, "start-all.sh", ["--no-build"], { FAKE_VOLUMES: "sensor-streaming_influxdb-data" });
    expect(lost.code).toBe(1);
    expect(lost.out).toContain("holds no INFLUXDB_ADMIN_PASSWORD but its volume sensor-streaming_influxdb-data exists");
    expect(existsSync(path.join(infrastructure, ".env"))).toBe(false);
    for (const version of ["2.20.3", "2.22.0"]) {
      const old = run(infrastructure, "start-all.sh", ["--no-build"], { FAKE_COMPOSE_VERSION: version });
      expect(old.code).toBe(1);
      expect(old.out).toContain(`Docker Compose ${version} is too old: the compose files need 2.23 or later`);
    }
    expect(run(infrastructure, "stop-all.sh", [], { FAKE_COMPOSE_VERSION: "2.22.0" }).out).toContain("need 2.23 or later");
  });
});

describe("stop-all.sh (fake docker)", () => {
  it("stops the project by name, with stand-ins for the secrets only when infrastructure/.env has none", () => {
    const infrastructure = tree("stop");
    const bare = run(infrastructure, "stop-all.sh", ["--volumes"]);
    expect(bare.code, bare.out).toBe(0);
    expect(bare.calls).toMatch(/^compose -p sensor-streaming --project-directory \S+ -f \S+ down --remove-orphans --volumes \| INFLUXDB_TOKEN=unset$/m);
    expect(run(infrastructure, "start-all.sh", ["--no-build"]).code).toBe(0);
    const token = readEnvFile(path.join(infrastructure, ".env")).get("INFLUXDB_TOKEN");
    const stopped = run(infrastructure, "stop-all.sh");
    expect(stopped.calls).toMatch(/ down --remove-orphans \| INFLUXDB_TOKEN=$/m);
    expect(stopped.out).not.toContain(token);
  });
});
