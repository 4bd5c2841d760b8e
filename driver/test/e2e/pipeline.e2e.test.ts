/**
 * End to end on the real local stack: readings go into Kafka with kafkajs, the compiled e2e
 * pipeline runs in the Java runner under spark-submit, and the test reads the real outputs:
 * Parquet files (hyparquet) and InfluxDB points, compared with an independent computation.
 * The job is stopped with its stop marker and restarted on the same checkpoints in between.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { influxPoints, recreateDatabase } from "./support/influx.js";
import { readSinkRows } from "./support/parquet.js";
import { DEVICES, expectedWindows, generate, message, PAIRS, registryCsv, type Reading, type WindowStats } from "./support/readings.js";
import { RunnerProcess, waitFor } from "./support/runner-process.js";
import { writeE2ePlan } from "./support/e2e-plan.js";
import { ensureStack, type StackEnv } from "./support/stack.js";

const DATABASE = "sensors_e2e";
const MINUTE = 60_000;
const SIZE = 2 * MINUTE;
const SLIDE = MINUTE;
const WATERMARK_DELAY = 30_000;
/** Event times start at a fixed minute so runs are comparable; any time would do. */
const T0 = Date.UTC(2026, 10, 2, 8, 0, 0);

let env: StackEnv;
let jar: string;
let work: string;
let planFile: string;
let topic: string;
const runners: RunnerProcess[] = [];

/** What was sent, with the Kafka offset of each message, in order. */
const sentValid: Array<{ reading: Reading; offset: string }> = [];
const sentRejected: Array<{ value: string; reason: string; offset: string }> = [];

async function produce(values: string[]): Promise<string[]> {
  const kafka = new Kafka({ clientId: "e2e-test", brokers: [env.KAFKA_BOOTSTRAP], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    const [result] = await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) });
    const base = BigInt(result!.baseOffset!);
    return values.map((_, i) => String(base + BigInt(i)));
  } finally {
    await producer.disconnect();
  }
}

async function sendValid(readings: readonly Reading[]): Promise<void> {
  const offsets = await produce(readings.map(message));
  readings.forEach((reading, i) => sentValid.push({ reading, offset: offsets[i]! }));
}

async function sendRejected(items: ReadonlyArray<{ value: string; reason: string }>): Promise<void> {
  const offsets = await produce(items.map((i) => i.value));
  items.forEach((item, i) => sentRejected.push({ ...item, offset: offsets[i]! }));
}

function startRunner(name: string): RunnerProcess {
  const runner = RunnerProcess.start({ env, jar, plan: planFile, stopFile: path.join(work, "STOP"), logFile: path.join(work, `${name}.log`) });
  runners.push(runner);
  return runner;
}

function close(actual: unknown, expected: number, what: string): void {
  expect(typeof actual, what).toBe("number");
  const a = actual as number;
  expect(Math.abs(a - expected) <= 1e-9 * Math.max(Math.abs(a), Math.abs(expected)) + 1e-12, `${what}: ${a} vs ${expected}`).toBe(true);
}

async function statisticsPoints() {
  return influxPoints(env.INFLUXDB_URL, DATABASE, "classroom_statistics");
}

/** Waits until InfluxDB holds a statistics point for every window expected to be closed. */
async function waitForWindows(expected: readonly WindowStats[], runner: RunnerProcess): Promise<void> {
  await waitFor(`${expected.length} statistics points`, async () => ((await statisticsPoints()).length >= expected.length ? true : undefined), 240_000, runner);
}

function key(institute: unknown, classroom: unknown, end: unknown): string {
  return JSON.stringify([institute, classroom, end]);
}

beforeAll(async () => {
  ({ env, runnerJar: jar } = await ensureStack());
  work = mkdtempSync(path.join(os.tmpdir(), "sensor-e2e-"));
  topic = `e2e-${path.basename(work).slice(-6).toLowerCase()}`;
  writeFileSync(path.join(work, "registry.csv"), registryCsv());
  const kafka = new Kafka({ clientId: "e2e-admin", brokers: [env.KAFKA_BOOTSTRAP], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  await recreateDatabase(env.INFLUXDB_URL, DATABASE);

  planFile = writeE2ePlan(env, work, topic);
}, 900_000);

afterAll(async () => {
  for (const runner of runners) runner.kill();
});

describe("the compiled pipeline on real Kafka, Spark and InfluxDB", () => {
  const phaseA = generate(T0, T0 + 5 * MINUTE, 20_000, 1);
  /** Pushes the watermark past every window of phase A. */
  const advanceA: Reading = { device: DEVICES[0]!, t: T0 + 10 * MINUTE, temperature: 20, co2: 500, light_level: 10 };
  const phaseB = generate(T0 + 10 * MINUTE + 5_000, T0 + 13 * MINUTE, 15_000, 2);
  const advanceB: Reading = { device: DEVICES[3]!, t: T0 + 20 * MINUTE, temperature: 21, co2: 510, light_level: 11 };
  let afterPhaseA: Awaited<ReturnType<typeof statisticsPoints>> = [];

  it("computes raw rows, dead letters, statistics and correlations; stops gracefully", async () => {
    await sendValid(phaseA);
    await sendRejected([
      { value: "{not json", reason: "malformed JSON: not a JSON object" },
      {
        value: JSON.stringify({ deviceName: "x", GWInfo: [{ gwname: "g", sendtime: T0 }], parsedPayload: {} }),
        reason: "missing required field device_id ($.DevEui)",
      },
      {
        value: JSON.stringify({ DevEui: "A1-IAQ", GWInfo: [], parsedPayload: { temperature: 1 } }),
        reason: "missing or invalid event time sent_at ($.GWInfo[0].sendtime)",
      },
      {
        value: JSON.stringify({ DevEui: "NOT-REGISTERED", GWInfo: [{ gwname: "g", sendtime: T0 }], parsedPayload: { temperature: 1 } }),
        reason: "device not in the registry",
      },
      {
        value: JSON.stringify({ DevEui: "A1-IAQ", GWInfo: [{ gwname: "g", sendtime: T0 }], parsedPayload: { co2: "n/a" } }),
        reason: "a value does not match its declared type",
      },
    ]);
    await sendValid([advanceA]);

    const runner = startRunner("run-1");
    const expected = expectedWindows(
      sentValid.map((s) => s.reading),
      SIZE,
      SLIDE,
      advanceA.t - WATERMARK_DELAY,
    );
    await waitForWindows(expected, runner);
    await waitFor(
      "every raw point",
      async () => ((await influxPoints(env.INFLUXDB_URL, DATABASE, "sensor_readings")).length >= sentValid.length ? true : undefined),
      120_000,
      runner,
    );
    expect(await runner.stop()).toBe(0);
    expect(runner.events.some((e) => e.event === "runner-stopping")).toBe(true);
    expect(runner.events.filter((e) => e.event === "query-progress").length).toBeGreaterThan(0);

    const stats = await statisticsPoints();
    expect(stats.length).toBe(expected.length);
    const byKey = new Map(stats.map((p) => [key(p.institute, p.classroom, p.time), p]));
    for (const window of expected) {
      const point = byKey.get(key(window.institute, window.classroom, window.end));
      expect(point, `statistics point of ${window.institute}/${window.classroom} ending ${new Date(window.end).toISOString()}`).toBeDefined();
      expect(point!.window).toBe("2m");
      expect(point!.readings).toBe(window.readings);
      for (const [field, value] of Object.entries(window.stats)) {
        if (value === undefined) expect(point![field], `${field} must be absent`).toBeNull();
        else close(point![field], value, field);
      }
    }

    const correlations = await influxPoints(env.INFLUXDB_URL, DATABASE, "classroom_correlations");
    const correlationKeys = new Map(correlations.map((p) => [key(p.institute, p.classroom, p.time), p]));
    for (const window of expected) {
      const point = correlationKeys.get(key(window.institute, window.classroom, window.end));
      const defined = PAIRS.filter(([a, b]) => window.correlations[`${a}__${b}`] !== undefined);
      if (defined.length === 0) {
        expect(point, "a window without any defined correlation has no correlation point").toBeUndefined();
        continue;
      }
      for (const [a, b] of PAIRS) {
        const field = `${a}__${b}`;
        const value = window.correlations[field];
        if (value === undefined) {
          expect(point![field]).toBeNull();
          expect(point![`${field}__n`]).toBeNull();
        } else {
          close(point![field], value.r, field);
          expect(point![`${field}__n`]).toBe(value.n);
        }
      }
    }
    expect(correlations.length).toBe(expected.filter((w) => Object.values(w.correlations).some((c) => c !== undefined)).length);
    afterPhaseA = stats;
  }, 600_000);

  it("writes every valid reading once to Parquet and InfluxDB, and every rejected one with its reason", async () => {
    const raw = await readSinkRows(path.join(work, "raw"));
    expect(raw.map((r) => String(r.kafka_offset)).sort()).toEqual(sentValid.map((s) => s.offset).sort());
    const row = raw.find((r) => String(r.kafka_offset) === sentValid[0]!.offset)!;
    const first = sentValid[0]!.reading;
    expect(row.device_id).toBe(first.device.devEui);
    expect(row.classroom).toBe(first.device.classroom);
    expect(row.institute).toBe(first.device.institute);
    expect(Number(row.sent_at)).toBe(first.t);
    expect(row.event_date).toBe(new Date(first.t).toISOString().slice(0, 10));

    const rejected = await readSinkRows(path.join(work, "rejected"));
    expect(rejected.map((r) => [String(r.kafka_offset), r.reject_reason, r.message]).sort()).toEqual(
      sentRejected.map((s) => [s.offset, s.reason, s.value]).sort(),
    );

    const points = await influxPoints(env.INFLUXDB_URL, DATABASE, "sensor_readings");
    expect(points.length).toBe(sentValid.length);
    const quoted = points.find((p) => typeof p.pir === "string" && p.pir.includes("quoted"));
    expect(quoted?.pir).toBe('idle "quoted" \\ back');
    const withComma = points.filter((p) => p.classroom === "Sala, gran=2");
    expect(withComma.length).toBe(sentValid.filter((s) => s.reading.device.classroom === "Sala, gran=2").length);
  });

  it("resumes from its checkpoints after a restart: nothing lost, nothing duplicated, earlier windows unchanged", async () => {
    await sendValid(phaseB);
    await sendValid([advanceB]);
    const runner = startRunner("run-2");
    const expected = expectedWindows(
      sentValid.map((s) => s.reading),
      SIZE,
      SLIDE,
      advanceB.t - WATERMARK_DELAY,
    );
    await waitForWindows(expected, runner);
    await waitFor("every raw row", async () => ((await readSinkRows(path.join(work, "raw"))).length >= sentValid.length ? true : undefined), 120_000, runner);
    expect(await runner.stop()).toBe(0);

    const raw = await readSinkRows(path.join(work, "raw"));
    expect(raw.map((r) => String(r.kafka_offset)).sort()).toEqual(sentValid.map((s) => s.offset).sort());
    const rejected = await readSinkRows(path.join(work, "rejected"));
    expect(rejected.length).toBe(sentRejected.length);

    const stats = await statisticsPoints();
    expect(stats.length).toBe(expected.length);
    const now = new Map(stats.map((p) => [key(p.institute, p.classroom, p.time), p]));
    for (const before of afterPhaseA) expect(now.get(key(before.institute, before.classroom, before.time))).toEqual(before);
  }, 600_000);

  it("leaves a readable log of progress events", () => {
    const log = readFileSync(path.join(work, "run-2.log"), "utf8");
    expect(log).toContain('"event":"runner-started"');
    expect(log).toContain('"event":"query-progress"');
  });
});
