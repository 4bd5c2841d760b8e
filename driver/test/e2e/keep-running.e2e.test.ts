/**
 * Fault injection on the real local stack: the runner under spark-submit (with
 * spark.sql.ansi.enabled=true given to Spark, as a cluster's defaults may, so the plan's own
 * setting is what keeps the SQL total) reads a topic that gets poison pills, loses InfluxDB for
 * 90 s and Kafka for 60 s under load, and meets points InfluxDB refuses. After each fault the
 * test counts what arrived: every valid reading exactly once in Parquet and in InfluxDB, every
 * bad one in the dead letters with its reason, and the job never stops.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Kafka, logLevel, type Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { influxQuery } from "./support/influx.js";
import { readRefusedRows } from "../../src/inspect/refused-points.js";
import { readSinkRows } from "./support/parquet.js";
import { expectedWindows, message, type Device, type Reading } from "./support/readings.js";
import { RunnerProcess, waitFor } from "./support/runner-process.js";
import { writeE2ePlan } from "./support/e2e-plan.js";
import { ensureStack, root, type StackEnv } from "./support/stack.js";

const run = promisify(execFile);
const DATABASE = "sensors_e2e";
const MINUTE = 60_000;
/** Event times run one hour behind the clock: inside the retention policy, never ahead. */
const LAG = 60 * MINUTE;

const DEVICES: readonly Device[] = [
  { devEui: "K1-IAQ", institute: "Institut K", profile: "iaq", classroom: "Aula 1" },
  // A tag value ending in a backslash, which line protocol cannot carry: stored as "B12\uFFFD".
  { devEui: "K2-IAQ", institute: "Institut K", profile: "iaq", classroom: "B12\\" },
  { devEui: "K3-DOOR", institute: "Institut K", profile: "porta", classroom: "#3 = sala, gran" },
];

let env: StackEnv;
let jar: string;
let work: string;
let topic: string;
let runner: RunnerProcess;
let producer: Producer;
const valid: Array<{ reading: Reading; offset: string }> = [];
const bad: Array<{ value: string; reason: RegExp; offset: string }> = [];
let sequence = 0;

function reading(device: Device, t: number): Reading {
  sequence += 1;
  return { device, t, temperature: 18 + (sequence % 70) / 10, co2: 400 + ((sequence * 37) % 900), light_level: sequence % 500 };
}

async function produce(values: string[]): Promise<string[]> {
  const [result] = await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) });
  const base = BigInt(result!.baseOffset!);
  return values.map((_, i) => String(base + BigInt(i)));
}

async function sendValid(readings: readonly Reading[]): Promise<void> {
  const offsets = await produce(readings.map(message));
  readings.forEach((r, i) => valid.push({ reading: r, offset: offsets[i]! }));
}

/** A steady load, readings at the clock's pace (minus LAG), until stopped. */
function load(perSecond: number): { stop: () => Promise<void> } {
  let running = true;
  const done = (async () => {
    while (running) {
      const t = Date.now() - LAG;
      await sendValid(DEVICES.map((d, i) => reading(d, t + i)).slice(0, perSecond >= 3 ? 3 : perSecond));
      await new Promise((r) => setTimeout(r, 1000 / Math.max(1, perSecond / 3)));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
    },
  };
}

async function stack(...args: string[]): Promise<void> {
  await run(path.join(root, "infrastructure/local/stack.sh"), args, { cwd: root });
}

async function influxCount(): Promise<number> {
  const series = await influxQuery(env.INFLUXDB_URL, DATABASE, 'SELECT count("temperature") FROM "sensor_readings"');
  return Number(series?.values[0]?.[1] ?? 0);
}

async function rawOffsets(): Promise<string[]> {
  return (await readSinkRows(path.join(work, "raw"))).map((r) => String(r.kafka_offset));
}

function events(kind: string): Array<Record<string, unknown>> {
  return runner.events.filter((e) => e.event === kind);
}

/** Every valid reading so far is in Parquet once and in InfluxDB once. */
async function everythingArrived(what: string): Promise<void> {
  await waitFor(`${what}: ${valid.length} raw rows`, async () => ((await rawOffsets()).length >= valid.length ? true : undefined), 240_000, runner);
  await waitFor(`${what}: ${valid.length} raw points`, async () => ((await influxCount()) >= valid.length ? true : undefined), 240_000, runner);
  const offsets = await rawOffsets();
  expect(offsets.length, `${what}: no raw row written twice`).toBe(new Set(offsets).size);
  expect(new Set(offsets)).toEqual(new Set(valid.map((v) => v.offset)));
  expect(await influxCount(), `${what}: one raw point per valid reading`).toBe(valid.length);
}

beforeAll(async () => {
  ({ env, runnerJar: jar } = await ensureStack());
  work = mkdtempSync(path.join(os.tmpdir(), "sensor-keep-running-"));
  topic = `keep-running-${path.basename(work).slice(-6).toLowerCase()}`;
  const quote = (s: string): string => (/[",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  writeFileSync(
    path.join(work, "registry.csv"),
    ["institute,DevEui,profile,classroom", ...DEVICES.map((d) => [d.institute, d.devEui, d.profile, d.classroom].map(quote).join(","))].join("\n") + "\n",
  );
  const kafka = new Kafka({ clientId: "keep-running", brokers: [env.KAFKA_BOOTSTRAP], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  producer = kafka.producer();
  await producer.connect();
  // Points older than a year are refused by InfluxDB ("beyond retention policy").
  await influxQuery(env.INFLUXDB_URL, undefined, `DROP DATABASE "${DATABASE}"`);
  await influxQuery(env.INFLUXDB_URL, undefined, `CREATE DATABASE "${DATABASE}" WITH DURATION 365d`);

  const planFile = writeE2ePlan(env, work, topic);
  runner = RunnerProcess.start({
    env,
    jar,
    plan: planFile,
    stopFile: path.join(work, "STOP"),
    logFile: path.join(work, "runner.log"),
    sparkConf: { "spark.sql.ansi.enabled": "true" },
  });
}, 900_000);

afterAll(async () => {
  runner?.kill();
  await producer?.disconnect().catch(() => undefined);
  // A failed test must not leave the shared stack without a service.
  await stack("start", "kafka", "influxdb").catch(() => undefined);
});

describe("the pipeline keeps running through bad input and outages", () => {
  it("rejects every kind of poison pill with its reason and stores every valid reading (ANSI mode on in Spark's defaults)", async () => {
    const now = Date.now();
    const t = now - LAG;
    const pill = (sendtime: unknown, payload: Record<string, unknown> = { temperature: 20 }): string =>
      JSON.stringify({ DevEui: "K1-IAQ", deviceName: "x", GWInfo: [{ gwname: "g", sendtime }], parsedPayload: payload });
    let deep = "1";
    for (let i = 0; i < 3000; i++) deep = `[${deep}]`;
    const pills: Array<{ value: string; reason: RegExp }> = [
      { value: pill("1717000000000000000"), reason: /does not match its declared type|out of range/ },
      { value: pill(1717000000000000000), reason: /out of range/ },
      { value: pill(1717000000000000), reason: /out of range/ },
      { value: pill(-5), reason: /out of range/ },
      { value: pill(now + 3 * 24 * MINUTE * 60), reason: /ahead of its Kafka timestamp/ },
      { value: pill("soon"), reason: /does not match its declared type/ },
      { value: pill(1.5e300), reason: /does not match its declared type|out of range/ },
      { value: pill(t, { co2: { nested: 1 } }), reason: /does not match its declared type/ },
      { value: pill(t, { light_level: 1e30 }), reason: /does not match its declared type/ },
      // 1e23 is what the literal 99999999999999999999999 was (a number past 2^53 rounds): JSON.stringify
      // sends it as 1e+23, a float like the case above, not an integer beyond a long's range.
      { value: pill(t, { light_level: 1e23 }), reason: /does not match its declared type/ },
      // An integer beyond a long's range needs its digits in the JSON text itself.
      {
        value: `{"DevEui":"K1-IAQ","GWInfo":[{"sendtime":${t}}],"parsedPayload":{"light_level":99999999999999999999999}}`,
        reason: /does not match its declared type/,
      },
      {
        value: `{"DevEui":"K1-IAQ","GWInfo":[{"sendtime":99999999999999999999999}],"parsedPayload":{}}`,
        reason: /does not match its declared type|out of range/,
      },
      { value: JSON.stringify({ DevEui: 42, GWInfo: [{ sendtime: t }] }), reason: /device not in the registry/ },
      { value: JSON.stringify({ DevEui: "K1-IAQ", GWInfo: { sendtime: t } }), reason: /does not match its declared type|missing or invalid event time/ },
      { value: "[1,2,3]", reason: /malformed JSON|does not match/ },
      { value: "null", reason: /malformed JSON|missing required field/ },
      { value: "", reason: /malformed JSON|missing required field/ },
      { value: '"just a string"', reason: /malformed JSON/ },
      { value: "{}", reason: /missing required field device_id/ },
      { value: `{"DevEui":"K1-IAQ","GWInfo":[{"sendtime":${t}}],"x":${deep}}`, reason: /malformed JSON|does not match/ },
      { value: "\u0000\u0001binary\uffff", reason: /malformed JSON/ },
      // Spark's JSON parser takes these for a DOUBLE; they would erase their windows' statistics.
      { value: `{"DevEui":"K1-IAQ","GWInfo":[{"sendtime":${t}}],"parsedPayload":{"temperature":NaN}}`, reason: /not a finite number: temperature/ },
      { value: pill(t, { temperature: "NaN" }), reason: /not a finite number: temperature|does not match/ },
      { value: pill(t, { co2: "Infinity" }), reason: /not a finite number: co2|does not match/ },
      { value: pill(t, { co2: "-INF" }), reason: /not a finite number: co2|does not match/ },
    ];
    const offsets = await produce(pills.map((p) => p.value));
    pills.forEach((p, i) => bad.push({ ...p, offset: offsets[i]! }));
    await sendValid(DEVICES.flatMap((d, i) => [reading(d, t + i), reading(d, t + 20_000 + i)]));

    await waitFor(
      `${bad.length} dead letters`,
      async () => ((await readSinkRows(path.join(work, "rejected"))).length >= bad.length ? true : undefined),
      300_000,
      runner,
    );
    const rejected = new Map((await readSinkRows(path.join(work, "rejected"))).map((r) => [String(r.kafka_offset), r]));
    for (const pill of bad) {
      const row = rejected.get(pill.offset);
      expect(row, `dead letter for ${pill.value.slice(0, 80)}`).toBeDefined();
      expect(String(row!.reject_reason), `reason for ${pill.value.slice(0, 80)}`).toMatch(pill.reason);
    }
    await everythingArrived("after the poison pills");
    const backslash = await influxQuery(env.INFLUXDB_URL, DATABASE, `SHOW TAG VALUES FROM "sensor_readings" WITH KEY = "classroom"`);
    expect(backslash?.values.map((v) => v[1]).sort()).toEqual(DEVICES.map((d) => d.classroom.replace(/\\$/, "\uFFFD")).sort());
    expect(events("query-restarting"), "no query failed").toEqual([]);
  }, 600_000);

  it("waits out a 90 s InfluxDB outage under load: Parquet keeps growing, afterwards InfluxDB holds every point", async () => {
    const traffic = load(6);
    await new Promise((r) => setTimeout(r, 10_000));
    await stack("stop", "influxdb");
    const rowsAtOutage = (await rawOffsets()).length;
    await new Promise((r) => setTimeout(r, 60_000));
    const rowsDuringOutage = (await rawOffsets()).length;
    expect(rowsDuringOutage, "the Parquet archive goes on while InfluxDB is down").toBeGreaterThan(rowsAtOutage);
    await new Promise((r) => setTimeout(r, 30_000));
    const waiting = events("influx-waiting");
    expect(waiting.length).toBeGreaterThan(0);
    for (const w of waiting) {
      expect(String(w.cause)).not.toMatch(/null/);
      expect(String(w.cause).length).toBeGreaterThan(5);
    }
    await stack("start", "influxdb");
    await new Promise((r) => setTimeout(r, 5_000));
    await traffic.stop();
    await everythingArrived("after the InfluxDB outage");
    expect(events("influx-recovered").length).toBeGreaterThan(0);
    expect(events("query-restarting"), "waiting is not failing").toEqual([]);
  }, 600_000);

  it("survives a 60 s Kafka outage and catches up", async () => {
    const before = valid.length;
    await stack("stop", "kafka");
    await new Promise((r) => setTimeout(r, 60_000));
    await stack("start", "kafka");
    await producer.disconnect();
    producer = new Kafka({ clientId: "keep-running-2", brokers: [env.KAFKA_BOOTSTRAP], logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    const traffic = load(6);
    await new Promise((r) => setTimeout(r, 10_000));
    await traffic.stop();
    expect(valid.length).toBeGreaterThan(before);
    await everythingArrived("after the Kafka outage");
  }, 600_000);

  it("dead-letters points InfluxDB refuses (beyond the retention policy) and writes the rest", async () => {
    const old = Date.UTC(2020, 5, 1, 12, 0, 0);
    const refusedReading = reading(DEVICES[0]!, old);
    await sendValid([refusedReading, reading(DEVICES[1]!, Date.now() - LAG)]);
    const refusedDir = path.join(work, "influx-refused");
    await waitFor(
      "a refused point in the dead letters",
      async () => ((await readRefusedRows(refusedDir, 100).catch(() => [])).length > 0 ? true : undefined),
      120_000,
      runner,
    );
    const rows = await readRefusedRows(refusedDir, 100);
    const raw = rows.find((r) => r.sink === "influx_raw");
    expect(raw, "the raw point refused by InfluxDB").toBeDefined();
    expect(String(raw!.line)).toContain(`${old}`);
    expect(String(raw!.reason)).toMatch(/retention policy/);
    expect(Number(raw!.status)).toBe(400);
    const refused = events("influx-refused");
    expect(refused.length).toBeGreaterThan(0);
    // Everything else arrived; the refused point is the one raw point InfluxDB does not hold.
    await waitFor("the other raw points", async () => ((await influxCount()) >= valid.length - 1 ? true : undefined), 120_000, runner);
    expect(await influxCount()).toBe(valid.length - 1);
    expect((await rawOffsets()).length).toBe(valid.length);
  }, 600_000);

  it("closes every window of the whole run, outages included, and stops gracefully", async () => {
    const last = Math.max(...valid.map((v) => v.reading.t).filter((t) => t > Date.UTC(2021, 0, 1)));
    await sendValid([reading(DEVICES[0]!, last + 10 * MINUTE)]);
    const current = valid.filter((v) => v.reading.t > Date.UTC(2021, 0, 1)).map((v) => v.reading);
    const watermark = Math.max(...current.map((r) => r.t)) - 30_000;
    const expected = expectedWindows(current, 2 * MINUTE, MINUTE, watermark);
    const windowKey = (classroom: unknown, end: unknown): string => JSON.stringify([classroom, end]);
    const wanted = new Map(expected.map((w) => [windowKey(w.classroom.replace(/\\$/, "\uFFFD"), w.end), w.readings]));
    const points = async (): Promise<Map<string, unknown>> => {
      const series = await influxQuery(env.INFLUXDB_URL, DATABASE, `SELECT "readings", "classroom" FROM "classroom_statistics"`);
      return new Map((series?.values ?? []).map((v) => [windowKey(v[2], v[0]), v[1]]));
    };
    await waitFor(`${wanted.size} statistics points`, async () => ((await points()).size >= wanted.size ? true : undefined), 240_000, runner);
    // Every window of the run, with every reading it should count: none lost to an outage.
    expect(await points()).toEqual(wanted);
    expect(await runner.stop()).toBe(0);
    expect(events("runner-exit").map((e) => e.code)).toEqual(["0"]);
  }, 600_000);
});
