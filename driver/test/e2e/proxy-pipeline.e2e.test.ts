/**
 * The whole path real sensors take: readings POSTed over HTTP to the ingestion proxy (the built
 * CLI, `sensor-streaming proxy`), on Kafka, through the pipeline started with `start` (Livy,
 * Spark), into Parquet and InfluxDB. The simulator sends through the proxy (`simulate --to`);
 * every reading that reached the topic is a raw row and a raw point, once.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LivyClient } from "../../src/livy/livy-client.js";
import { cliMain, e2eCliEnv, e2eSpecNamed, runCli } from "./support/cli.js";
import { influxPoints, recreateDatabase } from "./support/influx.js";
import { readSinkRows } from "./support/parquet.js";
import { registryCsv } from "./support/readings.js";
import { waitFor } from "./support/runner-process.js";
import { ensureStack, root, type StackEnv } from "./support/stack.js";

const DATABASE = "sensors_e2e";
const PIPELINE = "e2e_proxy";
let env: StackEnv;
let work: string;
let spec: string;
let topic: string;
let cliEnv: NodeJS.ProcessEnv;
let proxy: ChildProcess | undefined;
let proxyUrl = "";

async function topicSize(): Promise<number> {
  const admin = new Kafka({ clientId: "e2e-proxy-pipeline", brokers: [env.KAFKA_BOOTSTRAP], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

beforeAll(async () => {
  ({ env } = await ensureStack());
  work = mkdtempSync(path.join(os.tmpdir(), "sensor-proxy-pipeline-"));
  topic = `proxy-pipeline-${path.basename(work).slice(-6).toLowerCase()}`;
  writeFileSync(path.join(work, "registry.csv"), registryCsv());
  await recreateDatabase(env.INFLUXDB_URL, DATABASE);
  spec = e2eSpecNamed(work, PIPELINE);
  cliEnv = e2eCliEnv(env, work, topic);
  // The proxy of this spec: its message shape and topic.
  proxy = spawn(process.execPath, [cliMain, "proxy", spec, "--port", "0"], { cwd: root, env: cliEnv, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  proxy.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  proxy.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  await waitFor(
    "the proxy to listen and find Kafka",
    async () => {
      const url = /"url":"(http:\/\/[^"]+)"/.exec(output)?.[1];
      if (url === undefined) return undefined;
      const health = await fetch(`${url}/health`).catch(() => undefined);
      if (health?.status !== 200) return undefined;
      proxyUrl = url;
      return true;
    },
    60_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; the proxy said:\n${output}`);
  });
}, 900_000);

afterAll(async () => {
  proxy?.kill("SIGTERM");
  const livy = new LivyClient(env.LIVY_URL);
  for (const batch of await livy.list().catch(() => [])) {
    if (String(batch.name).startsWith(`sensor-streaming-${PIPELINE}-`) && !["success", "dead", "killed", "error"].includes(batch.state))
      await livy.delete(batch.id);
  }
});

describe("sensors -> HTTP -> the proxy -> Kafka -> the pipeline -> Parquet and InfluxDB", () => {
  it("stores every reading the simulator posted through the proxy, once", async () => {
    const start = await runCli(["start", spec, "--no-supervise"], cliEnv);
    expect(start.code, start.stderr).toBe(0);
    try {
      const simulate = await runCli(
        ["simulate", "--to", proxyUrl, "--registry", path.join(work, "registry.csv"), "--rate", "40", "--duration", "8", "--bad", "0.05", "--seed", "3"],
        cliEnv,
      );
      expect(simulate.code, simulate.stderr).toBe(0);
      const done = /simulator: done, (\d+) readings and (\d+) bad messages sent .*\(the proxy refused (\d+) as invalid\)/.exec(
        `${simulate.stdout}${simulate.stderr}`,
      );
      expect(done, `${simulate.stdout}${simulate.stderr}`).not.toBeNull();
      const [sent, bad, refused] = done!.slice(1).map(Number) as [number, number, number];
      expect(sent).toBeGreaterThan(100);
      // The proxy refuses the malformed ones; the unregistered ones are valid JSON for it, so they
      // reach Kafka and the pipeline dead-letters them.
      expect(refused).toBeLessThanOrEqual(bad);
      const inTopic = await topicSize();
      expect(inTopic).toBe(sent + bad - refused);

      await waitFor(
        "every posted reading in Parquet",
        async () => ((await readSinkRows(path.join(work, "data/raw")).catch(() => [])).length >= sent ? true : undefined),
        300_000,
      );
      const raw = await readSinkRows(path.join(work, "data/raw"));
      expect(raw.length).toBe(sent);
      expect(new Set(raw.map((r) => String(r.kafka_offset))).size).toBe(sent);
      // A point is a device's reading at one instant: readings of a device sent within the same
      // millisecond are one point in InfluxDB.
      const points = new Set(raw.map((r) => `${String(r.device_id)} ${(r.event_time as Date).getTime()}`)).size;
      await waitFor(
        "every posted reading in InfluxDB",
        async () => ((await influxPoints(env.INFLUXDB_URL, DATABASE, "sensor_readings")).length >= points ? true : undefined),
        300_000,
      );
      expect((await influxPoints(env.INFLUXDB_URL, DATABASE, "sensor_readings")).length).toBe(points);
      await waitFor(
        "the unregistered devices' readings in the dead letters",
        async () => ((await readSinkRows(path.join(work, "data/rejected")).catch(() => [])).length >= inTopic - sent ? true : undefined),
        120_000,
      );
      const dead = await readSinkRows(path.join(work, "data/rejected"));
      expect(dead.length).toBe(inTopic - sent);
      expect(new Set(dead.map((r) => r.reject_reason))).toEqual(new Set(dead.length === 0 ? [] : ["device not in the registry"]));
    } finally {
      expect((await runCli(["stop", spec], cliEnv)).code).toBe(0);
    }
  });
});
