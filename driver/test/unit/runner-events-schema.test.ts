/**
 * One protocol for the runner's event lines: infrastructure/spark/runner/events.schema.json says
 * what a line is, the runner's Events.java is the only writer and driver/src/livy/runner-events.ts
 * the only reader. These tests fail as soon as one of the three has a prefix, a kind, a field or a
 * type the others do not:
 *  - the reader: EVENT_PREFIX and EVENT_FIELDS against the schema;
 *  - the writer's source: the prefix, and the kind and field names each method of Events.java writes;
 *  - the writer itself: EveryEvent (infrastructure/spark/runner/test/) prints a line of every kind,
 *    each optional field once present and once absent, through Events; every line must satisfy the
 *    schema and be read by the driver as it was written. This one compiles and runs Java against
 *    Spark's jars (Events uses Spark's Jackson and listener class): SPARK_HOME, else the local
 *    stack's (infrastructure/local/stack.sh setup); without them it is skipped and says so.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { EVENT_FIELDS, EVENT_PREFIX, parseEvents, type FieldType } from "../../src/livy/runner-events.js";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const RUNNER = path.join(ROOT, "infrastructure/spark/runner");
const SCHEMA_FILE = path.join(RUNNER, "events.schema.json");
const SOURCES = path.join(RUNNER, "src/io/sensorstreaming/runner");
const EVENTS_JAVA = path.join(SOURCES, "Events.java");
const EVERY_EVENT_JAVA = path.join(RUNNER, "test/io/sensorstreaming/runner/EveryEvent.java");

interface PropertySchema {
  readonly $ref?: string;
  readonly type?: string | readonly string[];
  readonly const?: unknown;
}

interface KindSchema {
  readonly type: string;
  readonly properties: Readonly<Record<string, PropertySchema>>;
  readonly required: readonly string[];
  readonly additionalProperties: boolean | PropertySchema;
}

interface EventsSchema {
  readonly $id: string;
  readonly oneOf: ReadonlyArray<{ readonly $ref: string }>;
  readonly $defs: Readonly<Record<string, PropertySchema | KindSchema>>;
}

const schema = JSON.parse(readFileSync(SCHEMA_FILE, "utf8")) as EventsSchema;

/** Every kind the schema allows, by its name: the targets of the top-level oneOf. */
const kinds = new Map<string, KindSchema>(
  schema.oneOf.map((entry) => {
    const name = entry.$ref.replace("#/$defs/", "");
    return [name, schema.$defs[name] as KindSchema];
  }),
);
const linePrefix = String((schema.$defs.linePrefix as PropertySchema).const);

/** A kind's own fields: all but `event` and `at`. */
function fieldsOf(kind: KindSchema): string[] {
  return Object.keys(kind.properties).filter((name) => name !== "event" && name !== "at");
}

/** A property's JSON types, through its $ref; JSON Schema's integer is a number to TypeScript. */
function typesOf(property: PropertySchema): string[] {
  if (property.$ref !== undefined) return typesOf(schema.$defs[property.$ref.replace("#/$defs/", "")] as PropertySchema);
  const types = typeof property.type === "string" ? [property.type] : [...(property.type ?? [])];
  return types.map((type) => (type === "integer" ? "number" : type));
}

describe("events.schema.json", () => {
  it("is a valid JSON Schema whose kinds each name themselves and are closed", () => {
    expect(() => new Ajv2020({ strict: true, allowUnionTypes: true }).compile(schema)).not.toThrow();
    expect(kinds.size).toBeGreaterThan(0);
    for (const [name, kind] of kinds) {
      expect(kind.properties.event, name).toEqual({ const: name });
      expect(kind.required.slice(0, 2), name).toEqual(["event", "at"]);
      expect(kind.additionalProperties === false || typeof kind.additionalProperties === "object", name).toBe(true);
    }
  });
});

describe("the driver's reader (runner-events.ts) agrees with the schema", () => {
  it("on the line prefix", () => {
    expect(EVENT_PREFIX).toBe(linePrefix);
  });

  it("on the kinds and the field names of each kind", () => {
    const reader = Object.fromEntries(Object.entries(EVENT_FIELDS).map(([name, fields]) => [name, Object.keys(fields).sort()]));
    expect(reader).toEqual(Object.fromEntries([...kinds].map(([name, kind]) => [name, fieldsOf(kind).sort()])));
  });

  it("on the fields' types, and needs only fields the runner always writes", () => {
    const disagreements: string[] = [];
    for (const [name, fields] of Object.entries(EVENT_FIELDS) as Array<[string, Record<string, FieldType>]>) {
      const kind = kinds.get(name);
      for (const [field, type] of Object.entries(fields)) {
        const property = kind?.properties[field];
        if (property === undefined) continue;
        // The driver may accept fewer types than the schema allows (it skips a line it cannot use).
        if (!typesOf(property).includes(type.replace("?", "")))
          disagreements.push(`${name}.${field}: ${type}, the schema says ${typesOf(property).join(" or ")}`);
        if (!type.endsWith("?") && !kind!.required.includes(field)) disagreements.push(`${name}.${field}: the driver needs it, the schema does not require it`);
      }
    }
    expect(disagreements).toEqual([]);
  });
});

/** The member blocks of a Java class at its first indentation level, each ending with its `}`. */
function members(source: string): string[] {
  return source.split(/\n {2}\}\n/);
}

describe("the runner's Events.java agrees with the schema", () => {
  const source = readFileSync(EVENTS_JAVA, "utf8");

  it("on the line prefix, which no other runner source knows", () => {
    expect(/static final String PREFIX = "([^"]*)";/.exec(source)?.[1]).toBe(linePrefix);
    for (const file of readdirSync(SOURCES).filter((f) => f.endsWith(".java") && f !== "Events.java")) {
      const other = readFileSync(path.join(SOURCES, file), "utf8");
      expect(other, file).not.toContain(linePrefix.trim());
      expect(other, file).not.toMatch(/Events\.PREFIX/);
    }
  });

  it("on the kinds, and the field names of each kind's method", () => {
    const written: Record<string, string[]> = {};
    for (const member of members(source)) {
      const kind = /emit\("([^"]+)", fields\)/.exec(member)?.[1];
      if (kind === undefined) continue;
      expect(written, `two methods write ${kind}`).not.toHaveProperty(kind);
      written[kind] = [...new Set([...member.matchAll(/fields\.(?:put|set)\(\s*"([^"]+)"/g)].map((m) => m[1]!))].sort();
    }
    const expected = Object.fromEntries([...kinds].map(([name, kind]) => [name, fieldsOf(kind).sort()]));
    expect(written).toEqual(expected);
  });
});

/** Spark's installation: SPARK_HOME, else the local stack's; undefined when there is none. */
function sparkHome(): string | undefined {
  const fromStack = (): string | undefined => {
    try {
      const env = execFileSync(path.join(ROOT, "infrastructure/local/stack.sh"), ["env"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      return /^export SPARK_HOME=(.*)$/m.exec(env)?.[1]?.replace(/^'(.*)'$/, "$1");
    } catch {
      return undefined;
    }
  };
  const withJars = (home: string | undefined) => (home !== undefined && existsSync(path.join(home, "jars")) ? home : undefined);
  return withJars(process.env.SPARK_HOME) ?? withJars(fromStack());
}

function hasJavac(): boolean {
  try {
    execFileSync("javac", ["-version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const spark = hasJavac() ? sparkHome() : undefined;

/** The lines EveryEvent prints, compiled with Events.java against Spark's jars. */
async function everyEventLines(sparkHome: string): Promise<string[]> {
  const run = promisify(execFile);
  const classes = mkdtempSync(path.join(os.tmpdir(), "runner-events-"));
  try {
    const classpath = path.join(sparkHome, "jars", "*");
    await run("javac", ["--release", "17", "-Xlint:all,-serial,-processing,-path", "-Werror", "-cp", classpath, "-d", classes, EVENTS_JAVA, EVERY_EVENT_JAVA]);
    const { stdout } = await run("java", ["-cp", `${classes}${path.delimiter}${classpath}`, "io.sensorstreaming.runner.EveryEvent"], { maxBuffer: 1 << 20 });
    return stdout.split("\n").filter((line) => line !== "");
  } finally {
    rmSync(classes, { recursive: true, force: true });
  }
}

describe("the lines the runner writes", () => {
  it.skipIf(spark === undefined)(
    "satisfy the schema, cover every kind and field, and are read by the driver as written" +
      `${spark === undefined ? " (skipped: needs javac and Spark's jars; run infrastructure/local/stack.sh setup or set SPARK_HOME)" : ""}`,
    async () => {
      const lines = await everyEventLines(spark!);
      const decoded = lines.map((line) => {
        expect(line.startsWith(linePrefix), line).toBe(true);
        return JSON.parse(line.slice(linePrefix.length)) as Record<string, unknown>;
      });

      const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
      const validate = ajv.compile(schema);
      for (const event of decoded) {
        // The errors against the line's own kind: the whole schema's oneOf reports every kind's.
        const ofKind = ajv.getSchema(`${schema.$id}#/$defs/${String(event.event)}`);
        const errors =
          ofKind !== undefined && !ofKind(event) ? (ofKind.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ""} ${JSON.stringify(e.params)}`) : [];
        expect(errors, JSON.stringify(event)).toEqual([]);
        expect(validate(event), JSON.stringify(event)).toBe(true);
      }

      const written = (kind: string) => new Set(decoded.filter((event) => event.event === kind).flatMap((event) => Object.keys(event)));
      expect([...new Set(decoded.map((event) => event.event))].sort()).toEqual([...kinds.keys()].sort());
      for (const [name, kind] of kinds)
        expect([...written(name)], `${name}: every field written at least once`).toEqual(expect.arrayContaining(Object.keys(kind.properties)));

      expect(parseEvents(lines)).toEqual(decoded);
    },
    180_000,
  );
});
