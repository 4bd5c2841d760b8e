/**
 * The shape of plan.json is written in three places: sql/plan.schema.json (the contract), the
 * driver's `PlanJson` type (driver/src/emit/plan-json.ts) and the runner's Plan.java. This test
 * keeps the other two in step with the schema, object by object.
 *
 * TypeScript types are gone at run time, so each type's keys are listed below, and the compiler
 * checks each list against its type: a key the type has and the list lacks, a key the list names
 * and the type lacks, or a key listed "required" that the type makes optional (or the reverse) is
 * a type error (`npx tsc`). The test then compares the lists with the schema's properties and
 * `required`. The Java side is read from the source: the keys Plan.java reads from the plan's top
 * level and the fields it keeps, and every key the runner reads anywhere.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type {
  FileSourceJson,
  InfluxLinesSinkJson,
  InfluxWriteJson,
  KafkaSourceJson,
  ParquetSinkJson,
  PlanJson,
  TriggerJson,
  ViewJson,
  WindowStateJson,
} from "../../src/emit/plan-json.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const SCHEMA_FILE = path.join(ROOT, "sql/plan.schema.json");
const RUNNER_SOURCES = path.join(ROOT, "infrastructure/spark/runner/src/io/sensorstreaming/runner");
const PLAN_JAVA = path.join(RUNNER_SOURCES, "Plan.java");

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Every key of T, each saying whether T requires it; the compiler holds the list to T. */
type KeyList<T> = { readonly [K in keyof T]-?: undefined extends T[K] ? "optional" : "required" };
const keysOf = <T>(keys: KeyList<T>): Readonly<Record<string, "optional" | "required">> => keys;

/** A TypeScript string map (`Record<string, string>`): its keys are the schema's alone to pin. */
const STRING_MAP = "string map";

/** The TypeScript type of each object the schema declares, by where the schema declares it. */
const TS_OBJECTS: Readonly<Record<string, Readonly<Record<string, "optional" | "required">> | typeof STRING_MAP>> = {
  "#": keysOf<PlanJson>({
    format: "required",
    pipeline: "required",
    generatedFrom: "required",
    sparkConf: "required",
    sources: "required",
    views: "required",
    sinks: "required",
  }),
  // The IR holds the settings as a map (plan/nodes.ts); plan-schema.test.ts checks every emitted plan's against the schema.
  "#/properties/sparkConf": STRING_MAP,
  "#/$defs/kafkaSource": keysOf<KafkaSourceJson>({ name: "required", kind: "required", options: "required" }),
  "#/$defs/kafkaSource/properties/options": keysOf<KafkaSourceJson["options"]>({
    "kafka.bootstrap.servers": "required",
    subscribe: "required",
    startingOffsets: "required",
    maxOffsetsPerTrigger: "optional",
  }),
  "#/$defs/fileSource": keysOf<FileSourceJson>({ name: "required", kind: "required", format: "required", path: "required", options: "required" }),
  "#/$defs/fileSource/properties/options": keysOf<FileSourceJson["options"]>({
    header: "optional",
    ignoreLeadingWhiteSpace: "optional",
    ignoreTrailingWhiteSpace: "optional",
  }),
  "#/$defs/view": keysOf<ViewJson>({ name: "required", sqlFile: "required", inputs: "required", watermark: "optional", state: "optional" }),
  "#/$defs/view/properties/watermark": keysOf<NonNullable<ViewJson["watermark"]>>({ column: "required", delay: "required" }),
  "#/$defs/view/properties/state": keysOf<WindowStateJson>({ kind: "required", window: "required", groupBy: "required", aggregates: "required" }),
  "#/$defs/view/properties/state/properties/window": keysOf<WindowStateJson["window"]>({ size: "required", slide: "required" }),
  "#/$defs/trigger/oneOf/0": keysOf<Extract<TriggerJson, { kind: "processing-time" }>>({ kind: "required", interval: "required" }),
  "#/$defs/trigger/oneOf/1": keysOf<Extract<TriggerJson, { kind: "available-now" }>>({ kind: "required" }),
  "#/$defs/parquetSink": keysOf<ParquetSinkJson>({
    name: "required",
    query: "required",
    checkpoint: "required",
    outputMode: "required",
    trigger: "required",
    kind: "required",
    path: "required",
    partitionBy: "required",
  }),
  "#/$defs/influxLinesSink": keysOf<InfluxLinesSinkJson>({
    name: "required",
    query: "required",
    checkpoint: "required",
    outputMode: "required",
    trigger: "required",
    kind: "required",
    lineColumn: "required",
    influx: "required",
  }),
  "#/$defs/influxWrite": keysOf<InfluxWriteJson>({
    version: "required",
    writeUrl: "required",
    tokenEnv: "required",
    batchLines: "required",
    gzip: "required",
    refusedPath: "required",
  }),
};

/** Where Plan.java's fields and the schema's top level differ on purpose, and why. */
const JAVA_FIELDS_NOT_IN_PLAN: Readonly<Record<string, string>> = { dir: "the folder plan.json is in, where the SQL files are" };
const PLAN_KEYS_NOT_KEPT_BY_JAVA: Readonly<Record<string, string>> = {
  format: "Plan.read checks it before anything else; nothing needs it later",
  generatedFrom: "informational: the runner does not read it",
};

/** Every subschema that declares an object with `properties`, by where it sits in the schema. */
function objectSchemas(node: Json, at: string, out: Map<string, JsonObject> = new Map()): Map<string, JsonObject> {
  if (Array.isArray(node)) node.forEach((child, i) => objectSchemas(child, `${at}/${i}`, out));
  else if (node !== null && typeof node === "object") {
    if (node.type === "object" && node.properties !== undefined) out.set(at, node);
    for (const [key, child] of Object.entries(node)) objectSchemas(child, `${at}/${key}`, out);
  }
  return out;
}

/** Each key the schema declares at an object, "required" or "optional", sorted by key. */
function schemaKeys(object: JsonObject): Record<string, "optional" | "required"> {
  const required = new Set((object.required ?? []) as string[]);
  return Object.fromEntries(
    Object.keys(object.properties as JsonObject)
      .sort()
      .map((key) => [key, required.has(key) ? "required" : "optional"]),
  );
}

/** Where the TypeScript types and the schema disagree, one line each; empty when they agree. */
function tsMismatches(schema: Json, types: typeof TS_OBJECTS): string[] {
  const objects = objectSchemas(schema, "#");
  const problems: string[] = [];
  for (const [at, object] of objects) {
    const keys = types[at];
    if (keys === undefined) problems.push(`${at}: the schema declares an object no TypeScript type is listed for here`);
    else if (keys !== STRING_MAP) {
      const expected = schemaKeys(object);
      const actual = Object.fromEntries(Object.entries(keys).sort(([a], [b]) => a.localeCompare(b)));
      for (const key of new Set([...Object.keys(expected), ...Object.keys(actual)]))
        if (expected[key] !== actual[key]) problems.push(`${at}/${key}: schema ${expected[key] ?? "absent"}, TypeScript ${actual[key] ?? "absent"}`);
    }
  }
  for (const at of Object.keys(types)) if (!objects.has(at)) problems.push(`${at}: listed here but the schema declares no object there`);
  return problems;
}

/** The keys Plan.java reads from the plan's top-level object (`root`). */
function javaRootKeys(java: string): string[] {
  const reads = java.matchAll(/\btext\(\s*root\s*,\s*"([^"]+)"\s*\)|\broot\s*\.\s*(?:path|get|has)\(\s*"([^"]+)"\s*\)/g);
  return [...new Set([...reads].map((m) => (m[1] ?? m[2])!))].sort();
}

/** Plan.java's instance fields (`final Type name;`, not static). */
function javaFields(java: string): string[] {
  return [...java.matchAll(/^[ \t]*(?:private[ \t]+|public[ \t]+|protected[ \t]+)?final[ \t]+[\w<>,.? \t]+?[ \t]+(\w+)[ \t]*;/gm)].map((m) => m[1]!).sort();
}

/** Where Plan.java and the schema's top level disagree, one line each; empty when they agree. */
function javaMismatches(schema: JsonObject, java: string): string[] {
  const planKeys = Object.keys(schema.properties as JsonObject);
  const fields = javaFields(java).filter((f) => !(f in JAVA_FIELDS_NOT_IN_PLAN));
  const read = javaRootKeys(java);
  const problems: string[] = [];
  for (const key of planKeys.filter((k) => !(k in PLAN_KEYS_NOT_KEPT_BY_JAVA)))
    if (!fields.includes(key)) problems.push(`${key}: in the schema, not a field of Plan.java`);
  for (const field of fields) if (!planKeys.includes(field)) problems.push(`${field}: a field of Plan.java, not in the schema`);
  for (const key of read) if (!planKeys.includes(key)) problems.push(`${key}: read by Plan.java, not in the schema`);
  for (const key of fields) if (!read.includes(key)) problems.push(`${key}: a field of Plan.java that is not read from the plan`);
  return problems;
}

/** Every key the runner's Java reads from any part of the plan (`Plan.text(node, "k")`, `node.path("k")`, `node.get("k")`). */
function runnerKeys(): string[] {
  const keys = new Set<string>();
  for (const file of readdirSync(RUNNER_SOURCES).filter((f) => f.endsWith(".java"))) {
    const java = readFileSync(path.join(RUNNER_SOURCES, file), "utf8");
    for (const m of java.matchAll(/(?:\btext\(\s*\w+\s*,\s*|\.\s*(?:path|get|has)\(\s*)"([^"]+)"/g)) keys.add(m[1]!);
  }
  return [...keys].sort();
}

function allPropertyNames(schema: Json): Set<string> {
  return new Set([...objectSchemas(schema, "#").values()].flatMap((o) => Object.keys(o.properties as JsonObject)));
}

const schema = JSON.parse(readFileSync(SCHEMA_FILE, "utf8")) as JsonObject;
const planJava = readFileSync(PLAN_JAVA, "utf8");

describe("the driver's PlanJson type", () => {
  it("has, object by object, the schema's keys, required where the schema requires them", () => {
    expect(tsMismatches(schema, TS_OBJECTS)).toEqual([]);
  });

  it("would be caught with a key on one side only", () => {
    const wider = structuredClone(schema);
    (((wider.$defs as JsonObject).view as JsonObject).properties as JsonObject).mode = { description: "a new key", type: "string" };
    expect(tsMismatches(wider, TS_OBJECTS)).toContain("#/$defs/view/mode: schema optional, TypeScript absent");
    const extra = { ...TS_OBJECTS, "#/$defs/view": { ...(TS_OBJECTS["#/$defs/view"] as object), mode: "optional" as const } };
    expect(tsMismatches(schema, extra)).toContain("#/$defs/view/mode: schema absent, TypeScript optional");
  });
});

describe("the runner's Plan.java", () => {
  it("keeps the schema's top-level keys as its fields, and reads each from the plan", () => {
    expect(javaFields(planJava).length, "no fields found in Plan.java: did its declarations change shape?").toBeGreaterThan(3);
    expect(javaMismatches(schema, planJava)).toEqual([]);
  });

  it("leaves out only what it says it leaves out", () => {
    const read = javaRootKeys(planJava);
    expect(read).toContain("format");
    expect(read).not.toContain("generatedFrom");
    expect(javaFields(planJava)).toEqual(expect.arrayContaining(Object.keys(JAVA_FIELDS_NOT_IN_PLAN)));
  });

  it("and the rest of the runner read no key the schema lacks", () => {
    const keys = runnerKeys();
    expect(keys.length, "no plan reads found in the runner's sources").toBeGreaterThan(10);
    const known = allPropertyNames(schema);
    expect(keys.filter((k) => !known.has(k))).toEqual([]);
  });

  it("would be caught with a key on one side only", () => {
    const wider = structuredClone(schema);
    (wider.properties as JsonObject).owner = { description: "a new key", type: "string" };
    expect(javaMismatches(wider, planJava)).toContain("owner: in the schema, not a field of Plan.java");
    const javaWithField = planJava.replace(
      /\bclass Plan\s*\{/,
      '$&\n  final String owner;\n\n  Plan(JsonNode root) {\n    this.owner = text(root, "owner");\n  }\n',
    );
    expect(javaWithField).not.toBe(planJava);
    expect(javaMismatches(schema, javaWithField)).toEqual(
      expect.arrayContaining(["owner: a field of Plan.java, not in the schema", "owner: read by Plan.java, not in the schema"]),
    );
  });
});
