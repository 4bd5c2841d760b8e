/**
 * What building the raw InfluxDB lines costs in Spark, without Kafka, parsing or InfluxDB: the
 * raw-lines view (sql/schools/06-influx-raw-lines.sql) compiled now, beside the same view as
 * committed at a git ref, over the same synthetic readings cached in memory, in one `spark-sql`
 * JVM on one core, alternated round by round after a first warm-up round. Prints Spark's time per
 * query and checks that both versions build exactly the same lines (also for NaN, infinities,
 * nulls, -0.0 and backslashes in tags and strings). Figures are printed, never asserted.
 *
 * Usage: npx tsx bench/line-sql-bench.ts [--baseline REF] [--rows N] [--rounds N]
 *        (defaults: REF 69044f6, the last plan with a regular expression per value; 300000 rows,
 *        at least 100 so that every awkward value occurs; 6 rounds, each in the other order than
 *        the one before). Needs the local stack's Spark (infrastructure/local/stack.sh setup).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { compilePipeline } from "../driver/src/emit/compiled-files.js";
import { statementOf } from "../driver/src/emit/sql/view-sql.js";
import { buildPlan } from "../driver/src/plan/build-plan.js";
import { loadSpec } from "../driver/src/spec/load.js";

const root = path.resolve(import.meta.dirname, "..");
const VIEW = "06-influx-raw-lines.sql";

const USAGE = "usage: npx tsx bench/line-sql-bench.ts [--baseline REF] [--rows N] [--rounds N]";

function parseArgs(argv: string[]): { baseline: string; rows: number; rounds: number } {
  const options = { baseline: "69044f6", rows: 300_000, rounds: 6 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v === "") throw new Error(`${arg} needs a value; ${USAGE}`);
      return v;
    };
    if (arg === "--help" || arg === "-h") {
      console.log(`${USAGE}\nTimes the raw InfluxDB lines' SQL of now against REF (default 69044f6) in one spark-sql JVM.`);
      process.exit(0);
    } else if (arg === "--baseline") options.baseline = value();
    else if (arg === "--rows") options.rows = Number(value());
    else if (arg === "--rounds") options.rounds = Number(value());
    else throw new Error(`unknown argument ${arg}; ${USAGE}`);
  }
  if (!Number.isInteger(options.rows) || options.rows < 100) throw new Error("--rows needs a whole number, at least 100");
  if (!Number.isInteger(options.rounds) || options.rounds < 1) throw new Error("--rounds needs a whole number, at least 1");
  return options;
}

/** The columns of valid_readings the raw lines read, with a few awkward values among ordinary ones. */
function readings(rows: number): string {
  const pick = (cases: string[], otherwise: string): string => `CASE id % 97 ${cases.map((c, i) => `WHEN ${i} THEN ${c}`).join(" ")} ELSE ${otherwise} END`;
  return `CREATE OR REPLACE TEMPORARY VIEW generated AS SELECT
  concat('K', id % 42, '-IAQ') AS device_id,
  ${pick(["'a\\\\'", "'b\\\\,c \"q\"'", "NULL"], "concat('sensor ', id % 42)")} AS device_name,
  'gw-01' AS gateway,
  CAST(id % 1000 AS BIGINT) AS light_level, CAST(id % 2 AS BIGINT) AS door_status, CAST(id % 7 AS BIGINT) AS door_open_times,
  CAST(id % 60 AS BIGINT) AS last_open_minutes, CAST(0 AS BIGINT) AS alarm, 'none' AS pir,
  ${pick(["double('NaN')", "double('Infinity')", "double('-Infinity')", "NULL", "-0.0D"], "20.0D + (id % 100) / 10.0D")} AS temperature,
  40.0D + id % 30 AS humidity, 3.6D AS battery, 400.0D + id % 800 AS co2, CAST(id % 300 AS DOUBLE) AS tvoc,
  1013.2D AS pressure, 3.61D AS battery_voltage,
  ${pick(["'School\\\\'", "'S=1, x'"], "concat('School ', id % 3)")} AS institute,
  'IAQ' AS profile,
  ${pick(["'Room\\\\ 1'", "''"], "concat('Room ', id % 14)")} AS classroom,
  timestamp_millis(1767000000000 + id * 12) AS event_time
FROM range(0, ${rows});
CACHE TABLE valid_readings AS SELECT * FROM generated;`;
}

function main(): void {
  const options = parseArgs(process.argv.slice(2));
  const loaded = loadSpec("conf/pipeline.yaml", { env: {}, cwd: root });
  if (loaded.spec === undefined) throw new Error("conf/pipeline.yaml is not valid");
  const compiled = compilePipeline(buildPlan(loaded.spec, loaded.specFile));
  const now = statementOf(compiled.sql[VIEW]!);
  const then = statementOf(execFileSync("git", ["show", `${options.baseline}:sql/schools/${VIEW}`], { cwd: root, encoding: "utf8" }));
  const named = /^export SPARK_HOME=(.*)$/m.exec(execFileSync(path.join(root, "infrastructure/local/stack.sh"), ["env"], { encoding: "utf8" }))?.[1];
  if (named === undefined) throw new Error("the local stack names no SPARK_HOME: run infrastructure/local/stack.sh setup first");
  const sparkHome = named.replace(/^'(.*)'$/, "$1");

  const queries: string[] = [
    readings(options.rows),
    `SELECT 'same lines', (SELECT count(*) FROM ((${now}) EXCEPT ALL (${then}))) + (SELECT count(*) FROM ((${then}) EXCEPT ALL (${now}))) = 0;`,
  ];
  const before = `at ${options.baseline}`;
  const labels: string[] = [];
  for (let round = 0; round <= options.rounds; round++) {
    // ABBA: neither version always runs first in a round.
    const pair: Array<[string, string]> = [
      ["now", now],
      [before, then],
    ];
    for (const [label, sql] of round % 2 === 0 ? pair : pair.reverse()) {
      labels.push(round === 0 ? `warm-up ${label}` : label);
      queries.push(`SELECT sum(length(line)) FROM (${sql});`);
    }
  }
  const work = mkdtempSync(path.join(os.tmpdir(), "line-sql-bench-"));
  try {
    const file = path.join(work, "bench.sql");
    writeFileSync(file, queries.join("\n"));
    const conf = Object.entries({ ...compiled.plan.sparkConf, "spark.ui.enabled": "false", "spark.sql.warehouse.dir": path.join(work, "warehouse") });
    const run = spawnSync(path.join(sparkHome, "bin/spark-sql"), ["--master", "local[1]", ...conf.flatMap(([k, v]) => ["--conf", `${k}=${v}`]), "-f", file], {
      cwd: work,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      timeout: 30 * 60_000,
      env: { ...process.env, SPARK_HOME: sparkHome },
    });
    if (run.status !== 0) throw new Error(`spark-sql exited with ${run.status ?? run.signal}:\n${run.stderr.slice(-4000)}`);
    const same = /^same lines\t(true|false)$/m.exec(run.stdout)?.[1];
    if (same === undefined) throw new Error(`spark-sql printed no comparison of the lines:\n${run.stdout.slice(-2000)}`);
    // "Time taken" follows every statement: the view, the cache, the comparison, then the timed queries.
    const times = [...run.stderr.matchAll(/Time taken: ([\d.]+) seconds/g)].map((m) => Number(m[1])).slice(3);
    if (times.length !== labels.length) throw new Error(`expected ${labels.length} timings from spark-sql, found ${times.length}`);
    console.log(`raw InfluxDB lines of ${options.rows} readings, local[1], one JVM; now against ${options.baseline}`);
    console.log(`the same lines: ${same === "true" ? "yes" : "NO"}`);
    labels.forEach((label, i) => console.log(`${label.padEnd(24)} ${times[i]!.toFixed(2)} s`));
    const of = (label: string): number[] => times.filter((_, i) => labels[i] === label);
    const range = (xs: number[]): string => `${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)} s`;
    console.log(`now: ${range(of("now"))}; ${before}: ${range(of(before))} (after the warm-up round)`);
    if (same !== "true") process.exitCode = 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

try {
  main();
} catch (error) {
  console.error(`line-sql-bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
}
