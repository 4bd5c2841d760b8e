/**
 * sql/plan.schema.json is the contract with the Spark runner: every plan.json the compiler
 * wrote must satisfy it, and plans that break it must be rejected. The cross-references a JSON
 * Schema cannot express (files beside the plan, names that must resolve) are checked here.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const SCHEMA_FILE = path.join(ROOT, "sql/plan.schema.json");
const SCHOOLS_PLAN = path.join(ROOT, "sql/schools/plan.json");
const FIXTURES = path.join(ROOT, "driver/test/fixtures");

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface Plan {
  sources: Array<{ name: string; kind: string }>;
  views: Array<{ name: string; sqlFile: string; inputs: string[]; watermark?: { column: string; delay: string } }>;
  sinks: Array<{ name: string; kind: string; query: string; checkpoint: string }>;
}

function readJson(file: string): Json {
  return JSON.parse(readFileSync(file, "utf8")) as Json;
}

/** The schools plan and every golden plan beside a fixture spec. */
function planFiles(): string[] {
  const fixturePlans = existsSync(FIXTURES)
    ? readdirSync(FIXTURES, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => path.join(FIXTURES, entry.name, "expected", "plan.json"))
        .filter((file) => existsSync(file))
        .sort()
    : [];
  return [SCHOOLS_PLAN, ...fixturePlans];
}

function relative(file: string): string {
  return path.relative(ROOT, file);
}

function errorsText(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`).join("\n");
}

/** Every subschema that declares an object with `properties`, wherever it sits in the schema. */
function objectSchemas(node: Json, at: string, out: Array<{ at: string; schema: JsonObject }>): typeof out {
  if (Array.isArray(node)) node.forEach((child, i) => objectSchemas(child, `${at}/${i}`, out));
  else if (node !== null && typeof node === "object") {
    if (node.type === "object" && node.properties !== undefined) out.push({ at, schema: node });
    for (const [key, child] of Object.entries(node)) objectSchemas(child, `${at}/${key}`, out);
  }
  return out;
}

function schoolsPlan(): JsonObject {
  return readJson(SCHOOLS_PLAN) as JsonObject;
}

/** A deep copy of the schools plan with `change` applied to it. */
function mutated(change: (plan: JsonObject) => void): JsonObject {
  const plan = structuredClone(schoolsPlan());
  change(plan);
  return plan;
}

function firstSinkOfKind(plan: JsonObject, kind: string): JsonObject {
  const sink = (plan.sinks as JsonObject[]).find((s) => s.kind === kind);
  if (sink === undefined) throw new Error(`the schools plan has no ${kind} sink; the negative tests need one`);
  return sink;
}

let schema: JsonObject;
let validate: ValidateFunction;

beforeAll(() => {
  schema = readJson(SCHEMA_FILE) as JsonObject;
  // strict: unknown keywords, ambiguous types and unresolvable refs are errors, not warnings.
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  validate = ajv.compile(schema);
});

describe("sql/plan.schema.json", () => {
  it("compiles as draft 2020-12 in Ajv's strict mode", () => {
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(typeof validate).toBe("function");
  });

  it("closes every object and documents every property for the runner's author", () => {
    const objects = objectSchemas(schema, "#", []);
    expect(objects.length).toBeGreaterThan(5);
    for (const { at, schema: object } of objects) {
      expect(object.additionalProperties, `${at} must set additionalProperties: false`).toBe(false);
      for (const [name, property] of Object.entries((object.properties ?? {}) as JsonObject)) {
        const description = (property as JsonObject).description;
        expect(typeof description === "string" && description.length > 0, `${at}/properties/${name} needs a description`).toBe(true);
      }
    }
  });

  it("pins the format the emitter writes", () => {
    const format = (schema.properties as JsonObject).format as JsonObject;
    expect(format.const).toBe(schoolsPlan().format);
  });
});

describe("emitted plans", () => {
  const files = planFiles();

  it("finds at least one plan to check", () => {
    expect(existsSync(SCHOOLS_PLAN), `${relative(SCHOOLS_PLAN)} is missing: run npx tsx driver/src/cli/main.ts compile`).toBe(true);
    expect(files.length).toBeGreaterThanOrEqual(1);
  });

  describe.each(files.map((file) => [relative(file), file] as const))("%s", (_name, file) => {
    it("satisfies the schema", () => {
      const plan = readJson(file);
      expect(validate(plan), errorsText(validate.errors)).toBe(true);
    });

    it("has every view's sqlFile beside it", () => {
      const plan = readJson(file) as unknown as Plan;
      const missing = plan.views.map((v) => v.sqlFile).filter((sqlFile) => !existsSync(path.join(path.dirname(file), sqlFile)));
      expect(missing).toEqual([]);
    });

    it("numbers each sqlFile by its view's position", () => {
      const plan = readJson(file) as unknown as Plan;
      plan.views.forEach((view, i) => expect(view.sqlFile.slice(0, 2), view.name).toBe(String(i + 1).padStart(2, "0")));
    });

    it("has sinks that read a view or source declared in the same plan", () => {
      const plan = readJson(file) as unknown as Plan;
      const declared = new Set([...plan.sources.map((s) => s.name), ...plan.views.map((v) => v.name)]);
      const dangling = plan.sinks.filter((sink) => !declared.has(sink.query)).map((sink) => `${sink.name} -> ${sink.query}`);
      expect(dangling).toEqual([]);
    });

    it("has views whose inputs are sources or earlier views", () => {
      const plan = readJson(file) as unknown as Plan;
      const dangling = plan.views.flatMap((view, i) => {
        const declared = new Set([...plan.sources.map((s) => s.name), ...plan.views.slice(0, i).map((v) => v.name)]);
        return view.inputs.filter((input) => !declared.has(input)).map((input) => `${view.name} <- ${input}`);
      });
      expect(dangling).toEqual([]);
    });

    it("has unique temp view names, sink names and checkpoints", () => {
      const plan = readJson(file) as unknown as Plan;
      const duplicates = (values: string[]): string[] => values.filter((v, i) => values.indexOf(v) !== i);
      // Spark's temp views share one namespace and compare names without case.
      expect(duplicates([...plan.sources, ...plan.views].map((x) => x.name.toLowerCase()))).toEqual([]);
      expect(duplicates(plan.sinks.map((s) => s.name))).toEqual([]);
      expect(duplicates(plan.sinks.map((s) => s.checkpoint))).toEqual([]);
    });
  });
});

describe("plans the runner must refuse", () => {
  /** What to break, and the error (instance path and keyword) that must name the break. */
  const rejected: Array<[string, (plan: JsonObject) => void, { at: string; keyword: string; naming?: string }]> = [
    ["an unknown top-level property", (plan) => (plan.extra = true), { at: "", keyword: "additionalProperties", naming: "extra" }],
    [
      "an unknown property in a view",
      (plan) => ((plan.views as JsonObject[])[0]!.mode = "batch"),
      { at: "/views/0", keyword: "additionalProperties", naming: "mode" },
    ],
    [
      "an unknown property in the influx settings",
      (plan) => ((firstSinkOfKind(plan, "influx-lines").influx as JsonObject).token = "secret"),
      { at: "/influx", keyword: "additionalProperties", naming: "token" },
    ],
    ["a view without its inputs", (plan) => delete (plan.views as JsonObject[])[0]!.inputs, { at: "/views/0", keyword: "required", naming: "inputs" }],
    ["a sink of unknown kind", (plan) => ((plan.sinks as JsonObject[])[0]!.kind = "console"), { at: "/sinks/0/kind", keyword: "const" }],
    [
      "a parquet sink without checkpoint",
      (plan) => delete firstSinkOfKind(plan, "parquet").checkpoint,
      { at: "/sinks/", keyword: "required", naming: "checkpoint" },
    ],
    [
      "an influx sink without checkpoint",
      (plan) => delete firstSinkOfKind(plan, "influx-lines").checkpoint,
      { at: "/sinks/", keyword: "required", naming: "checkpoint" },
    ],
    ["a trigger of unknown kind", (plan) => (firstSinkOfKind(plan, "parquet").trigger = { kind: "once" }), { at: "/trigger/kind", keyword: "const" }],
    [
      "a processing-time trigger without interval",
      (plan) => (firstSinkOfKind(plan, "parquet").trigger = { kind: "processing-time" }),
      { at: "/trigger", keyword: "required", naming: "interval" },
    ],
    [
      "a trigger interval Spark does not parse",
      (plan) => (firstSinkOfKind(plan, "parquet").trigger = { kind: "processing-time", interval: "30s" }),
      { at: "/trigger/interval", keyword: "pattern" },
    ],
    [
      "an available-now trigger with an interval",
      (plan) => (firstSinkOfKind(plan, "parquet").trigger = { kind: "available-now", interval: "1 minute" }),
      { at: "/trigger", keyword: "additionalProperties", naming: "interval" },
    ],
    ["another format version", (plan) => (plan.format = "sensor-streaming-plan/2"), { at: "/format", keyword: "const" }],
    [
      "a sqlFile that is a path",
      (plan) => ((plan.views as JsonObject[])[0]!.sqlFile = "../01-parsed-readings.sql"),
      { at: "/views/0/sqlFile", keyword: "pattern" },
    ],
    [
      "a view name that is not a SQL identifier",
      (plan) => ((plan.views as JsonObject[])[0]!.name = "parsed-readings"),
      { at: "/views/0/name", keyword: "pattern" },
    ],
    ["a malformed template", (plan) => (firstSinkOfKind(plan, "parquet").path = "${RAW PATH}/raw"), { at: "/path", keyword: "pattern" }],
    [
      "an influx sink without a dead-letter folder for refused points",
      (plan) => delete (firstSinkOfKind(plan, "influx-lines").influx as JsonObject).refusedPath,
      { at: "/influx", keyword: "required", naming: "refusedPath" },
    ],
    [
      "a malformed refusedPath template",
      (plan) => ((firstSinkOfKind(plan, "influx-lines").influx as JsonObject).refusedPath = "${REFUSED"),
      { at: "/influx/refusedPath", keyword: "pattern" },
    ],
    [
      "ANSI mode, under which a bad value throws instead of being rejected",
      (plan) => ((plan.sparkConf as JsonObject)["spark.sql.ansi.enabled"] = "true"),
      { at: "/sparkConf/spark.sql.ansi.enabled", keyword: "const" },
    ],
    [
      "no ANSI setting (a cluster default would decide)",
      (plan) => delete (plan.sparkConf as JsonObject)["spark.sql.ansi.enabled"],
      { at: "/sparkConf", keyword: "required", naming: "spark.sql.ansi.enabled" },
    ],
    [
      "string literals read without backslash escapes",
      (plan) => ((plan.sparkConf as JsonObject)["spark.sql.parser.escapedStringLiterals"] = "true"),
      { at: "/sparkConf/spark.sql.parser.escapedStringLiterals", keyword: "const" },
    ],
    [
      "legacy statistical aggregates (NaN for one reading)",
      (plan) => ((plan.sparkConf as JsonObject)["spark.sql.legacy.statisticalAggregate"] = "true"),
      { at: "/sparkConf/spark.sql.legacy.statisticalAggregate", keyword: "const" },
    ],
    [
      "a version 2 influx sink without tokenEnv",
      (plan) => {
        const influx = firstSinkOfKind(plan, "influx-lines").influx as JsonObject;
        influx.version = 2;
        influx.writeUrl = "http://influx:8086/api/v2/write?org=schools&bucket=sensors&precision=ms";
      },
      { at: "/influx/tokenEnv", keyword: "type" },
    ],
  ];

  it.each(rejected)("rejects %s", (_what, change, expected) => {
    expect(validate(mutated(change))).toBe(false);
    const named = (validate.errors ?? []).some(
      (e) =>
        e.keyword === expected.keyword &&
        e.instancePath.includes(expected.at) &&
        (expected.naming === undefined || Object.values(e.params as Record<string, unknown>).includes(expected.naming)),
    );
    const what = `a ${expected.keyword} error at ...${expected.at}${expected.naming === undefined ? "" : ` naming ${expected.naming}`}`;
    expect(named, `expected ${what}, got:\n${errorsText(validate.errors)}`).toBe(true);
  });

  it("accepts the same plan once its templates are bound and a version 2 sink has a token variable", () => {
    const bound = mutated((plan) => {
      const bind = (text: string): string => text.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*(?::-([^}]*))?\}/g, (_m, fallback?: string) => fallback ?? "");
      const walk = (node: Json): Json =>
        typeof node === "string"
          ? bind(node)
          : Array.isArray(node)
            ? node.map(walk)
            : node !== null && typeof node === "object"
              ? Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]))
              : node;
      Object.assign(plan, walk(plan));
      const influx = firstSinkOfKind(plan, "influx-lines").influx as JsonObject;
      influx.version = 2;
      influx.writeUrl = "http://influx:8086/api/v2/write?org=schools&bucket=sensors&precision=ms";
      influx.tokenEnv = "INFLUXDB_TOKEN";
    });
    expect(JSON.stringify(bound)).not.toContain("${");
    expect(validate(bound), errorsText(validate.errors)).toBe(true);
  });
});
