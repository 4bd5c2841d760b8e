/**
 * Line protocol is total: for arbitrary strings (unicode, backslashes, commas, quotes, equals
 * signs, spaces, newlines) in every position the compiler escapes, the line it builds is accepted
 * by a real InfluxDB and reads back as the original, or as the documented substitution
 * (line-protocol-escaping.ts). Each line is sent with a second line after it, as the runner sends
 * lines in batches, so a line that swallows its neighbour is caught too.
 *
 * The escaping that runs in Spark is checked against its TypeScript twin in one Spark SQL run
 * over a few hundred generated strings, and the lines Spark built go to InfluxDB as well.
 *
 * Also here: database names reach InfluxQL escaped (start's database preparation, support/influx.ts).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  escapeKey,
  escapeMeasurement,
  escapeStringField,
  escapeTagValue,
  stringValueSql,
  TAG_VALUE_SUBSTITUTE,
  tagValueSql,
} from "../../src/emit/sql/line-protocol-escaping.js";
import { lineProtocolSql } from "../../src/emit/sql/line-protocol.js";
import { buildPlan } from "../../src/plan/build-plan.js";
import type { LineProtocolNode } from "../../src/plan/nodes.js";
import { prepareInfluxDatabases } from "../../src/deploy/influx-database.js";
import type { PlanJson } from "../../src/emit/plan-json.js";
import { influxNameProblem, type InfluxNameKind } from "../../src/spec/influx-names.js";
import { loadSpec } from "../../src/spec/load.js";
import { influxqlIdentifier, recreateDatabase } from "./support/influx.js";
import { root, type StackEnv } from "./support/stack.js";

/** A database name that itself needs escaping in InfluxQL. */
const DATABASE = `lp_property "${process.pid}"`;
const TIME = 1717000000000;
const SENTINEL = "sentinel";
const RUNS = 200;

let env: StackEnv;
let work: string;

/**
 * The running stack's endpoints. The e2e project's global setup has started the stack; this
 * test needs neither the runner jar nor Livy, so it does not build or wait for them.
 */
function stackEnv(): StackEnv {
  const text = execFileSync(path.join(root, "infrastructure/local/stack.sh"), ["env"], { cwd: root, encoding: "utf8" });
  const exports = [...text.matchAll(/^export ([A-Z_]+)=(.*)$/gm)].map((m): [string, string] => [
    m[1]!,
    m[2]!.replace(/\\(.)/g, "$1").replace(/^'(.*)'$/, "$1"),
  ]);
  return Object.fromEntries(exports) as unknown as StackEnv;
}

interface FullSeries {
  readonly name?: string;
  readonly columns: readonly string[];
  readonly values: ReadonlyArray<ReadonlyArray<string | number | null>>;
}

/** Every series of a query's answer (support/influx.ts returns the first only). */
async function query(q: string, db: string | undefined = DATABASE): Promise<FullSeries[]> {
  const params = new URLSearchParams({ q, epoch: "ms" });
  if (db !== undefined) params.set("db", db);
  const response = await fetch(`${env.INFLUXDB_URL}/query`, { method: "POST", body: params });
  const body = (await response.json()) as { results?: Array<{ error?: string; series?: FullSeries[] }>; error?: string };
  const error = body.error ?? body.results?.[0]?.error;
  if (!response.ok || error !== undefined) throw new Error(`InfluxDB query ${q} failed: ${error ?? response.status}`);
  return body.results?.[0]?.series ?? [];
}

async function write(body: string): Promise<void> {
  const url = `${env.INFLUXDB_URL}/write?${new URLSearchParams({ db: DATABASE, precision: "ms" }).toString()}`;
  const response = await fetch(url, { method: "POST", body });
  const answer = await response.text();
  expect(`${response.status} ${answer}`, `InfluxDB's answer to ${JSON.stringify(body)}`).toBe("204 ");
}

let cases = 0;

/** Writes `line` (built around a fresh id) and a sentinel after it; checks the sentinel arrived. */
async function writeOne(build: (id: string) => string): Promise<string> {
  const id = `c${cases++}`;
  await write(`${build(id)}\n${SENTINEL},of=${id} f=1i ${TIME}`);
  const sentinel = await query(`SELECT "f" FROM ${SENTINEL} WHERE "of" = '${id}'`);
  expect(
    sentinel.flatMap((s) => s.values),
    `the line after ${JSON.stringify(build(id))}`,
  ).toEqual([[TIME, 1]]);
  return id;
}

/** Characters that mean something to line protocol, InfluxQL, JSON, SQL or shells. */
const SPECIAL = ["\\", ",", "=", " ", '"', "\n", "\r", "#", "\t", "'", "`", "$", "{", "}", "é", "😀", "\u0000", "\u2028", "\uFFFD"];
const unit = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SPECIAL) },
  { weight: 3, arbitrary: fc.constantFrom("a", "B", "1", "_") },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
);
/** JavaScript strings with a lone surrogate cannot be sent as UTF-8 (nor come out of Spark). */
const text = (minLength = 0): fc.Arbitrary<string> => fc.string({ unit, minLength, maxLength: 24 }).filter((s) => !/\p{Cs}/u.test(s));
const acceptedName = (kind: InfluxNameKind): fc.Arbitrary<string> => text(1).filter((s) => influxNameProblem(s, kind) === undefined);

/** The documented substitution: newlines become spaces, an unrepresentable backslash U+FFFD. */
function storedTagValue(value: string): string {
  return value.replace(/[\r\n]/g, " ").replace(/\\(?=[,= ]|$)/g, TAG_VALUE_SUBSTITUTE);
}

function storedString(value: string): string {
  return value.replace(/[\r\n]/g, " ");
}

beforeAll(async () => {
  env = stackEnv();
  work = mkdtempSync(path.join(os.tmpdir(), "line-protocol-"));
  await recreateDatabase(env.INFLUXDB_URL, DATABASE);
}, 900_000);

afterAll(async () => {
  if (env !== undefined) await query(`DROP DATABASE ${influxqlIdentifier(DATABASE)}`, undefined);
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe("every escaped position reads back from InfluxDB", () => {
  it("tag values: as written, or with the documented substitution", async () => {
    await fc.assert(
      fc.asyncProperty(text(1), async (value) => {
        const id = await writeOne((id) => `${id},t=${escapeTagValue(value)} f=1i ${TIME}`);
        const [series] = await query(`SHOW TAG VALUES FROM ${id} WITH KEY = "t"`);
        expect(series?.values).toEqual([["t", storedTagValue(value)]]);
      }),
      { numRuns: RUNS },
    );
  }, 300_000);

  it("string fields: exactly as written, newlines aside", async () => {
    await fc.assert(
      fc.asyncProperty(text(), async (value) => {
        const id = await writeOne((id) => `${id} s="${escapeStringField(value)}" ${TIME}`);
        const [series] = await query(`SELECT "s" FROM ${id}`);
        expect(series?.values).toEqual([[TIME, storedString(value)]]);
      }),
      { numRuns: RUNS },
    );
  }, 300_000);

  it("measurements that validation accepts: exactly", async () => {
    await fc.assert(
      fc.asyncProperty(acceptedName("measurement"), async (name) => {
        const id = await writeOne((id) => `${escapeMeasurement(name)},case=${id} f=1i ${TIME}`);
        const series = await query(`SELECT "f" FROM /.*/ WHERE "case" = '${id}'`);
        expect(series.map((s) => s.name)).toEqual([name]);
      }),
      { numRuns: RUNS },
    );
  }, 300_000);

  it("tag keys that validation accepts: exactly", async () => {
    await fc.assert(
      // In the pipeline tags and fields are different columns: "f" is this test's field.
      fc.asyncProperty(
        acceptedName("tag key").filter((key) => key !== "f"),
        async (key) => {
          const id = await writeOne((id) => `${id},${escapeKey(key)}=v f=1i ${TIME}`);
          const [series] = await query(`SHOW TAG KEYS FROM ${id}`);
          expect(series?.values).toEqual([[key]]);
        },
      ),
      { numRuns: RUNS },
    );
  }, 300_000);

  it("field keys that validation accepts: exactly", async () => {
    await fc.assert(
      fc.asyncProperty(acceptedName("field key"), async (key) => {
        const id = await writeOne((id) => `${id} ${escapeKey(key)}=1i ${TIME}`);
        const [series] = await query(`SHOW FIELD KEYS FROM ${id}`);
        expect(series?.values).toEqual([[key, "integer"]]);
      }),
      { numRuns: RUNS },
    );
  }, 300_000);

  it("a tag value ending in a backslash, the case from the issue", async () => {
    const id = await writeOne((id) => `${id},classroom=${escapeTagValue("B12\\")} f=1i ${TIME}`);
    const [series] = await query(`SHOW TAG VALUES FROM ${id} WITH KEY = "classroom"`);
    expect(series?.values).toEqual([["classroom", "B12\uFFFD"]]);
  });
});

/** The session settings every plan pins, from the project's own plan. */
function pinnedSparkConf(): Readonly<Record<string, string>> {
  const loaded = loadSpec("conf/pipeline.yaml", { env: {}, cwd: root });
  return buildPlan(loaded.spec!, loaded.specFile).sparkConf;
}

/** Runs Spark SQL statements in one spark-sql process; its stdout lines. */
function sparkSql(statements: string, conf: Readonly<Record<string, string>>): Promise<string[]> {
  const file = path.join(work, "escaping.sql");
  writeFileSync(file, statements);
  const confArgs = Object.entries({ ...conf, "spark.ui.enabled": "false", "spark.sql.warehouse.dir": path.join(work, "warehouse") }).flatMap(([k, v]) => [
    "--conf",
    `${k}=${v}`,
  ]);
  return new Promise((resolve, reject) => {
    // Asynchronous: a synchronous child would block the test worker while Spark starts.
    const child = spawn(path.join(env.SPARK_HOME, "bin/spark-sql"), ["--master", "local[1]", ...confArgs, "-S", "-f", file], {
      cwd: work,
      env: { ...process.env, SPARK_HOME: env.SPARK_HOME },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("close", (code) => (code === 0 ? resolve(stdout.split("\n")) : reject(new Error(`spark-sql exited with ${code}:\n${stderr.slice(-4000)}`))));
  });
}

describe("the Spark SQL escaping", () => {
  it("agrees with its TypeScript twin on a few hundred strings, and its lines read back from InfluxDB", async () => {
    const edges = ["", "B12\\", "a\\,b", 'x\\ y\\=z"w', "\\", "\\\\", "a\r\nb\\\n", "é€😀", "\u0000", "a\u2028\\\u2028", "\\\u0085"];
    const inputs = [...edges, ...fc.sample(text(), { numRuns: 300, seed: 20261128 })];
    const hex = (s: string): string => Buffer.from(s, "utf8").toString("hex");
    const rows = inputs.map((s, i) => `(${i}, '${hex(s)}')`).join(",\n");
    const statement = [
      "SELECT id, hex(CAST(tag AS BINARY)), hex(CAST(str AS BINARY)) FROM (",
      `  SELECT id, ${tagValueSql("v")} AS tag, ${stringValueSql("v")} AS str`,
      `  FROM (SELECT id, CAST(unhex(h) AS STRING) AS v FROM VALUES ${rows} AS t(id, h))`,
      ") ORDER BY id;",
    ].join("\n");
    const output = await sparkSql(statement, pinnedSparkConf());

    const fromSpark = new Map<number, { tag: string; str: string }>();
    for (const line of output) {
      const match = /^(\d+)\t([0-9A-F]*)\t([0-9A-F]*)$/.exec(line);
      if (match !== null)
        fromSpark.set(Number(match[1]), { tag: Buffer.from(match[2]!, "hex").toString("utf8"), str: Buffer.from(match[3]!, "hex").toString("utf8") });
    }
    expect(fromSpark.size, output.slice(-20).join("\n")).toBe(inputs.length);
    inputs.forEach((s, i) => {
      expect(fromSpark.get(i), `Spark's escaping of ${JSON.stringify(s)}`).toEqual({ tag: escapeTagValue(s), str: escapeStringField(s) });
    });

    // One request, as the runner sends a batch; the pipeline leaves an empty tag value out.
    const lines = inputs.map((s, i) => `spark_${i}${s === "" ? "" : `,t=${fromSpark.get(i)!.tag}`} s="${fromSpark.get(i)!.str}" ${TIME}`);
    await write(lines.join("\n"));
    const series = await query(`SELECT "s", "t" FROM /^spark_/`);
    const stored = new Map(series.map((s) => [s.name, s.values[0]]));
    inputs.forEach((s, i) => {
      expect(stored.get(`spark_${i}`), `the line Spark built for ${JSON.stringify(s)}`).toEqual([TIME, storedString(s), s === "" ? null : storedTagValue(s)]);
    });
  }, 600_000);
});

describe("the numbers of a line, built by Spark", () => {
  it("leaves out NaN, infinities and nulls (a correlation with its pair count), keeps -0.0 and large doubles, and InfluxDB takes every line", async () => {
    const node: LineProtocolNode = {
      kind: "line-protocol",
      from: "numbers",
      tags: [{ key: "id", column: "id", type: "string" }],
      constantTags: [],
      points: [
        {
          measurement: "lp_numbers",
          fields: [
            { key: "k", column: "k", type: "long" },
            { key: "a", column: "a", type: "double" },
            { key: "b", column: "b", type: "double", companion: { key: "b_n", column: "n" } },
          ],
        },
      ],
      timestampColumn: "at",
    };
    const rows = [
      "('r0', 7, 1.5D, double('NaN'), 3)",
      "('r1', 7, double('Infinity'), double('-Infinity'), 2)",
      "('r2', 7, CAST(NULL AS DOUBLE), 0.25D, CAST(NULL AS BIGINT))",
      "('r3', CAST(NULL AS BIGINT), -0.0D, double('NaN'), 5)",
      "('r4', CAST(NULL AS BIGINT), double('NaN'), double('Infinity'), 1)",
      "('r5', 7, 1.0E300D, 0.25D, 4)",
    ];
    const statement = [
      `CREATE TEMPORARY VIEW numbers AS SELECT id, CAST(k AS BIGINT) AS k, a, b, CAST(n AS BIGINT) AS n, timestamp_millis(${TIME}) AS at`,
      `FROM VALUES ${rows.join(", ")} AS t(id, k, a, b, n);`,
      `SELECT line FROM (${lineProtocolSql(node)}) ORDER BY line;`,
    ].join("\n");
    const output = await sparkSql(statement, pinnedSparkConf());
    const lines = output.filter((line) => line.startsWith("lp_numbers"));
    expect(lines).toEqual([
      `lp_numbers,id=r0 k=7i,a=1.5 ${TIME}`,
      `lp_numbers,id=r1 k=7i ${TIME}`,
      `lp_numbers,id=r2 k=7i ${TIME}`,
      `lp_numbers,id=r3 a=-0.0 ${TIME}`,
      `lp_numbers,id=r5 k=7i,a=1.0E300,b=0.25,b_n=4i ${TIME}`,
    ]);
    await write(lines.join("\n"));
    const [series] = await query(`SELECT "k", "a", "b", "b_n" FROM lp_numbers WHERE "id" = 'r5'`);
    expect(series?.values).toEqual([[TIME, 7, 1e300, 0.25, 4]]);
  }, 600_000);
});

describe("database names in InfluxQL", () => {
  /** What `start` does before it submits: CREATE DATABASE for each InfluxDB 1.x sink of the bound plan. */
  function createDatabase(database: string): Promise<string[]> {
    const writeUrl = `${env.INFLUXDB_URL}/write?${new URLSearchParams({ db: database, precision: "ms" }).toString()}`;
    return prepareInfluxDatabases({ sinks: [{ kind: "influx-lines", influx: { version: 1, writeUrl } }] } as unknown as PlanJson);
  }

  it("start's database preparation escapes double quotes: InfluxDB creates the database under its own name", async () => {
    const database = `lp_property db "${process.pid}" é`;
    try {
      expect(await createDatabase(database)).toEqual([`InfluxDB database ${database} at ${env.INFLUXDB_URL} is ready`]);
      const [databases] = await query("SHOW DATABASES", undefined);
      expect(databases?.values).toContainEqual([database]);
    } finally {
      await query(`DROP DATABASE ${influxqlIdentifier(database)}`, undefined);
    }
  });

  it("start's database preparation says, with InfluxDB's reason, when InfluxDB refuses a name", async () => {
    const [said] = await createDatabase("lp_property\\refused");
    expect(said).toContain('refused CREATE DATABASE "lp_property\\\\refused"');
    expect(said).toContain("invalid name");
  });
});
