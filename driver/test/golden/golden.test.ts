/**
 * Golden tests: each fixture spec under driver/test/fixtures/<name>/spec.yaml compiles to
 * exactly the files in <name>/expected/ (SQL, plan.json) plus explain.txt.
 * Regenerate after an intended change with `npm run test:update-golden` and review the diff.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compiledFiles } from "../../src/emit/compiled-files.js";
import { explainPlan } from "../../src/emit/explain.js";
import { buildPlan } from "../../src/plan/build-plan.js";
import { loadSpec } from "../../src/spec/load.js";

const root = path.resolve(import.meta.dirname, "../../..");
const fixtures = path.join(root, "driver/test/fixtures");
const update = process.env.UPDATE_GOLDEN === "1";
/** Compilation must not depend on the environment: golden files are made with none. */
const env = {};

function compileFixture(name: string): Map<string, string> {
  const loaded = loadSpec(path.join("driver/test/fixtures", name, "spec.yaml"), { env, cwd: root });
  expect(loaded.diagnostics).toEqual([]);
  const plan = buildPlan(loaded.spec!, loaded.specFile);
  const files = new Map(compiledFiles(plan).map((f) => [f.name, f.content]));
  files.set("explain.txt", explainPlan(plan, env, undefined));
  return files;
}

const names = readdirSync(fixtures).filter((n) => existsSync(path.join(fixtures, n, "spec.yaml")));

describe("golden compilation", () => {
  it("has fixtures", () => {
    expect(names.length).toBeGreaterThanOrEqual(4);
  });

  for (const name of names) {
    it(`${name} compiles to expected/`, () => {
      const files = compileFixture(name);
      const dir = path.join(fixtures, name, "expected");
      if (update) {
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        for (const [file, content] of files) writeFileSync(path.join(dir, file), content);
      }
      const expected = readdirSync(dir).sort();
      expect([...files.keys()].sort()).toEqual(expected);
      for (const file of expected) {
        expect(files.get(file), `${name}/expected/${file}`).toBe(readFileSync(path.join(dir, file), "utf8"));
      }
    });

    it(`${name} compiles to identical bytes twice`, () => {
      expect(compileFixture(name)).toEqual(compileFixture(name));
    });
  }
});

describe("the committed sql/ folder", () => {
  it("equals the compilation of conf/pipeline.yaml", () => {
    const loaded = loadSpec("conf/pipeline.yaml", { env, cwd: root });
    expect(loaded.diagnostics).toEqual([]);
    const plan = buildPlan(loaded.spec!, loaded.specFile);
    const dir = path.join(root, "sql", plan.pipeline);
    const generated = readdirSync(dir)
      .filter((f) => f.endsWith(".sql") || f === "plan.json")
      .sort();
    const files = compiledFiles(plan);
    expect(generated, "files in sql/schools (run: npm run compile:default)").toEqual(files.map((f) => f.name).sort());
    for (const file of files) {
      expect(readFileSync(path.join(dir, file.name), "utf8"), `sql/schools/${file.name} is stale: run npm run compile:default`).toBe(file.content);
    }
  });

  it("does not depend on the environment the compiler runs in", () => {
    const compileWith = (e: Record<string, string>) => {
      const loaded = loadSpec("conf/pipeline.yaml", { env: e, cwd: root });
      return compiledFiles(buildPlan(loaded.spec!, loaded.specFile));
    };
    expect(compileWith({ KAFKA_BOOTSTRAP: "elsewhere:1234", RAW_PATH: "/mnt/x", INFLUXDB_URL: "http://db:1" })).toEqual(compileWith({}));
  });

  it("keeps secrets and machine values out of the plan", () => {
    const plan = readFileSync(path.join(root, "sql/schools/plan.json"), "utf8");
    expect(plan).toContain("${KAFKA_BOOTSTRAP:-localhost:9092}");
    expect(plan).not.toMatch(/\/home\/|\/root\/|\/tmp\//);
  });
});
