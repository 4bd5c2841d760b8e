/**
 * The CLI as a user runs it: a child process, its exit code, stdout and stderr.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../../..");
const main = path.join(root, "driver/src/cli/main.ts");
const scratch = mkdtempSync(path.join(os.tmpdir(), "sensor-cli-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ["--import", "tsx", main, ...args], {
    cwd: root,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", ...env },
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** A copy of the project's spec with one edit, in the scratch folder. */
function specWith(name: string, edit: (text: string) => string): string {
  const file = path.join(scratch, name);
  const original = readFileSync(path.join(root, "conf/pipeline.yaml"), "utf8");
  const edited = edit(original);
  expect(edited).not.toBe(original);
  writeFileSync(file, edited);
  return file;
}

describe("sensor-streaming validate", () => {
  it("accepts the schools pipeline with and without profiles", () => {
    for (const args of [[], ["--profile", "local"], ["-p", "cluster"]]) {
      const run = cli(["validate", ...args]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(run.stdout).toContain("conf/pipeline.yaml");
      expect(run.stdout).toContain('is valid: pipeline "schools"');
    }
  });

  it("prints every problem with file:line:column and a caret, and exits 2", () => {
    const file = specWith("two-problems.yaml", (t) =>
      t.replace("size: 5 minutes", "size: 5 minuts").replace("  allPairsOf: [temperature, humidity, co2, tvoc]", "  pairs: [[co2, co2]]"),
    );
    const run = cli(["validate", file]);
    expect(run.code).toBe(2);
    const line =
      readFileSync(file, "utf8")
        .split("\n")
        .findIndex((l) => l.includes("5 minuts")) + 1;
    expect(run.stderr).toContain(`:${line}:11: error[bad-duration]: windows[0].size: "minuts" is not a time unit`);
    expect(run.stderr).toContain('did you mean "minutes"?');
    expect(run.stderr).toMatch(/\n\s+\|\s{11}\^\n/);
    expect(run.stderr).toContain("error[self-correlation]");
    expect(run.stderr).toContain("2 problems; the spec is not valid");
  });

  it("reports diagnostics as JSON on request", () => {
    const file = specWith("unknown-key.yaml", (t) => t.replace("  watermark: 2 minutes", "  watermrak: 2 minutes"));
    const run = cli(["validate", file, "--json"]);
    expect(run.code).toBe(2);
    const report = JSON.parse(run.stdout) as { valid: boolean; diagnostics: Array<{ code: string; hint: string }> };
    expect(report.valid).toBe(false);
    expect(report.diagnostics.map((d) => d.code).sort()).toEqual(["missing-watermark", "unknown-key"]);
    expect(report.diagnostics.find((d) => d.code === "unknown-key")!.hint).toContain('did you mean "watermark"?');
  });

  it("exits 3 for a missing spec or profile", () => {
    const spec = cli(["validate", "conf/nope.yaml"]);
    expect(spec.code).toBe(3);
    expect(spec.stderr).toContain("spec file conf/nope.yaml does not exist");
    const profile = cli(["validate", "--profile", "staging"]);
    expect(profile.code).toBe(3);
    expect(profile.stderr).toContain('profile "staging" not found');
    expect(profile.stderr).toContain("conf/profiles/");
  });

  it("exits 64 for an unknown command or option", () => {
    expect(cli(["valdate"]).code).toBe(64);
    expect(cli(["compile", "--nope"]).code).toBe(64);
  });

  it("teaches in --help", () => {
    const run = cli(["compile", "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("--check");
    expect(run.stdout).toContain("--profile <name>");
    expect(run.stdout).toContain("Examples:");
  });
});

describe("sensor-streaming compile", () => {
  it("writes sql/<pipeline>/ deterministically and removes files of views that no longer exist", () => {
    const out = path.join(scratch, "out");
    expect(cli(["compile", "--out", out]).code).toBe(0);
    const read = () => readdirSync(path.join(out, "schools")).map((f) => [f, readFileSync(path.join(out, "schools", f), "utf8")]);
    const first = read();
    expect(first.map(([f]) => f)).toEqual(readdirSync(path.join(root, "sql/schools")));
    writeFileSync(path.join(out, "schools", "42-old-view.sql"), "-- left over\n");
    expect(cli(["compile", "--out", out]).code).toBe(0);
    expect(read()).toEqual(first);
  });

  it("--check passes on the committed sql/ and fails with exit 4 when stale", () => {
    const ok = cli(["compile", "--check"]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    const out = path.join(scratch, "stale");
    cpSync(path.join(root, "sql"), out, { recursive: true });
    writeFileSync(path.join(out, "schools", "07-window-5m.sql"), "SELECT 1\n");
    const stale = cli(["compile", "--check", "--out", out]);
    expect(stale.code).toBe(4);
    expect(stale.stderr).toContain("07-window-5m.sql");
    expect(stale.stderr).toContain("hint: run: sensor-streaming compile");
  });

  it("does not write anything for an invalid spec", () => {
    const file = specWith("bad.yaml", (t) => t.replace("slide: 1 minute", "slide: 7 minutes"));
    const out = path.join(scratch, "never");
    const run = cli(["compile", file, "--out", out]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("error[bad-window]");
    expect(() => readdirSync(out)).toThrow();
  });
});

describe("sensor-streaming explain", () => {
  it("summarises sources, windows, state and sinks", () => {
    const run = cli(["explain"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("kafka_readings: Kafka topic ${KAFKA_TOPIC:-live-data} = live-data");
    expect(run.stdout).toContain("5m: 5 minutes windows sliding every 1 minute, by institute, classroom");
    expect(run.stdout).toContain("each reading falls in 5 windows");
    expect(run.stdout).toContain("state per group: about 7 open windows");
    expect(run.stdout).toContain("influx_window_1h: InfluxDB 1 from influx_window_1h_lines, every 2 seconds, append");
  });

  it("shows the cluster profile's bindings and the token's variable, never a token", () => {
    const run = cli(["explain", "-p", "cluster"], { INFLUXDB_TOKEN: "secret-token-value" });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("/api/v2/write?org=schools&bucket=sensors&precision=ms, token from $INFLUXDB_TOKEN");
    expect(run.stdout).toContain("hdfs://namenode:9000/data/schools/raw");
    expect(run.stdout).not.toContain("secret-token-value");
  });
});

describe("the built CLI", () => {
  it("runs from dist/ as the package's bin", () => {
    const dist = path.join(root, "dist");
    execFileSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: root });
    const run = spawnSync(process.execPath, [path.join(dist, "cli/main.js"), "validate"], { cwd: root, encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("is valid");
  });
});
