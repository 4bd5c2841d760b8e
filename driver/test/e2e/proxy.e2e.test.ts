/**
 * The ingestion proxy end to end, as it runs in production (the built CLI: `sensor-streaming
 * proxy`) against the real Kafka of the local stack: accepted readings arrive exactly once and
 * keyed by device, in each device's order; invalid ones get 400 with their reasons and nothing
 * reaches Kafka; bearer tokens (two at once); a 10 MB body gets 413 without being read; Kafka
 * stopped under load: clients get 503 with Retry-After, and afterwards every reading that got a
 * 2xx is in the topic, once; the simulator sends through the proxy; SIGTERM drains and exits 0.
 * Each test reads its own topic (or counts the offsets of one) to the end, so nothing is guessed.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliMain, runCli } from "./support/cli.js";
import { streamBody } from "../support/stream-body.js";
import { DEVICES, registryCsv } from "./support/readings.js";
import { ensureStack, root, type StackEnv } from "./support/stack.js";

const run = promisify(execFile);
let env: StackEnv;
let kafka: Kafka;
let work: string;
let suffix: string;
const proxies: ProxyProcess[] = [];
let kafkaStopped = false;

/** `sensor-streaming proxy` as a child process, with its JSON log lines. */
class ProxyProcess {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly output: string[] = [];
  readonly exited: Promise<number>;
  url = "";

  private constructor(private readonly child: ChildProcess) {
    // "close", not "exit": the last log lines are read by then.
    this.exited = new Promise((resolve) => child.on("close", (code) => resolve(code ?? -1)));
    let pending = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        this.output.push(line);
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // Not every line needs to be JSON for the tests; the assertions read `output` too.
        }
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => this.output.push(chunk.toString("utf8")));
  }

  static async start(topic: string, args: string[] = [], extraEnv: Record<string, string> = {}): Promise<ProxyProcess> {
    const child = spawn(process.execPath, [cliMain, "proxy", "--port", "0", "--brokers", env.KAFKA_BOOTSTRAP, "--topic", topic, ...args], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...extraEnv },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const proxy = new ProxyProcess(child);
    proxies.push(proxy);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const listening = proxy.lines.find((l) => typeof l.url === "string" && typeof l.port === "number");
      if (listening !== undefined) proxy.url = listening.url as string;
      if (proxy.url !== "" && (await proxy.health()).status === 200) return proxy;
      if (child.exitCode !== null) break;
      await sleep(250);
    }
    throw new Error(`the proxy did not become ready:\n${proxy.output.join("\n")}`);
  }

  async health(): Promise<{ status: number; body: Record<string, unknown> }> {
    try {
      const response = await fetch(`${this.url}/health`);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    } catch {
      return { status: 0, body: {} };
    }
  }

  post(body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: AnswerBody }> {
    return fetch(`${this.url}/stream`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    }).then(async (response) => ({ status: response.status, headers: response.headers, body: (await response.json()) as AnswerBody }));
  }

  async stop(): Promise<number> {
    if (this.child.exitCode === null) this.child.kill("SIGTERM");
    return this.exited;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function stack(...args: string[]): Promise<void> {
  await run(path.join(root, "infrastructure/local/stack.sh"), args, { cwd: root });
}

async function createTopic(name: string, partitions = 3): Promise<string> {
  const topic = `proxy-e2e-${name}-${suffix}`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  return topic;
}

async function topicCount(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/**
 * What the tests read of the proxy's JSON answer: a StreamAnswer's results (an ErrorAnswer has
 * none, and a test reads them only after checking the status).
 */
interface AnswerBody {
  readonly results: ReadonlyArray<{
    readonly index: number;
    readonly status: string;
    readonly reasons: ReadonlyArray<{ readonly code: string; readonly path: string }>;
  }>;
  readonly [key: string]: unknown;
}

/** A reading in Kafka, as reading() below makes them (what the tests read of it). */
interface StoredReading {
  readonly DevEui: string;
  readonly deviceName: string;
  readonly GWInfo: ReadonlyArray<{ readonly sendtime: number }>;
  readonly [key: string]: unknown;
}

interface Stored {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | undefined;
  readonly value: StoredReading;
}

/** Every message of the topic up to its current end, in offset order per partition. */
async function readTopic(topic: string): Promise<Stored[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
  await admin.disconnect();
  const waiting = new Set([...ends].filter(([, high]) => high > 0).map(([p]) => p));
  const out: Stored[] = [];
  if (waiting.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `proxy-e2e-reader-${suffix}-${Math.random().toString(36).slice(2)}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        const offset = Number(message.offset);
        if (offset >= ends.get(partition)!) return;
        out.push({ partition, offset, key: message.key?.toString("utf8"), value: JSON.parse(message.value!.toString("utf8")) as StoredReading });
        if (offset === ends.get(partition)! - 1) waiting.delete(partition);
        if (waiting.size === 0) resolve();
      },
    });
  });
  await Promise.race([
    done,
    sleep(60_000).then(() => Promise.reject(new Error(`reading ${topic} took over 60 s; still waiting for partitions ${[...waiting].join(", ")}`))),
  ]);
  await consumer.disconnect();
  return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/** A reading of one of the test devices; `id` (in deviceName) tells readings apart in Kafka. */
function reading(device: string, id: string, t = Date.now() - 60_000): Record<string, unknown> {
  return { DevEui: device, deviceName: id, GWInfo: [{ gwname: "gw-e2e", sendtime: t }], parsedPayload: { temperature: 21.25, co2: 612, light_level: 300 } };
}

beforeAll(async () => {
  ({ env } = await ensureStack());
  kafka = new Kafka({ clientId: "proxy-e2e", brokers: [env.KAFKA_BOOTSTRAP], logLevel: logLevel.NOTHING });
  work = mkdtempSync(path.join(os.tmpdir(), "sensor-proxy-"));
  suffix = path.basename(work).slice(-6).toLowerCase();
});

afterAll(async () => {
  try {
    // A failed outage test must not leave Kafka down for the tests after this file; if it cannot
    // be started (twice), say so here rather than in the next file's puzzling failures.
    if (kafkaStopped) {
      await stack("start", "kafka").catch(async (first: Error) => {
        await stack("start", "kafka").catch((second: Error) => {
          throw new Error(`Kafka was left stopped by the outage test and did not start again: ${first.message}; the second try: ${second.message}`);
        });
      });
      kafkaStopped = false;
    }
  } finally {
    await Promise.all(proxies.map((p) => p.stop()));
  }
});

describe("the ingestion proxy with the local stack's Kafka", () => {
  let proxy: ProxyProcess;
  let topic: string;

  beforeAll(async () => {
    topic = await createTopic("main");
    proxy = await ProxyProcess.start(topic);
  });

  it("writes every accepted reading exactly once, keyed by its device, in each device's order: single readings and batches", async () => {
    const perDevice = 60;
    const sent = new Map<string, string[]>();
    // Devices in parallel; one device's requests one after another, as a gateway sends them.
    await Promise.all(
      DEVICES.map(async (device, d) => {
        const ids = Array.from({ length: perDevice }, (_, i) => `order-${d}-${i}`);
        sent.set(device.devEui, ids);
        const t0 = Date.now() - 3_600_000;
        for (let i = 0; i < 20; i++) {
          const answer = await proxy.post(reading(device.devEui, ids[i]!, t0 + i * 1000));
          expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        }
        for (let i = 20; i < perDevice; i += 20) {
          const batch = ids.slice(i, i + 20).map((id, k) => reading(device.devEui, id, t0 + (i + k) * 1000));
          const answer = await proxy.post(batch);
          expect(answer.status, JSON.stringify(answer.body)).toBe(200);
          expect(answer.body).toMatchObject({ accepted: 20, rejected: 0 });
          expect(answer.body.results).toHaveLength(20);
        }
      }),
    );
    const stored = (await readTopic(topic)).filter((m) => String(m.value.deviceName).startsWith("order-"));
    expect(stored).toHaveLength(DEVICES.length * perDevice);
    expect(new Set(stored.map((m) => m.value.deviceName)).size, "no reading twice").toBe(DEVICES.length * perDevice);
    for (const device of DEVICES) {
      const mine = stored.filter((m) => m.value.DevEui === device.devEui);
      expect(new Set(mine.map((m) => m.key)), `key of ${device.devEui}`).toEqual(new Set([device.devEui]));
      expect(new Set(mine.map((m) => m.partition)).size, `${device.devEui} in one partition`).toBe(1);
      expect(
        mine.map((m) => m.value.deviceName),
        `${device.devEui} in the order sent`,
      ).toEqual(sent.get(device.devEui));
    }
    expect(stored[0]!.value, "the reading as sent, as compact JSON").toEqual(
      reading(stored[0]!.value.DevEui, stored[0]!.value.deviceName, stored[0]!.value.GWInfo[0]!.sendtime),
    );
  });

  it("answers invalid readings with 400 and every reason, writes none of them, and writes the valid part of a mixed batch (207)", async () => {
    const before = await topicCount(topic);
    const single = await proxy.post({ DevEui: "A1-IAQ", GWInfo: [{ sendtime: "yesterday" }], parsedPayload: { co2: "a lot" } });
    expect(single.status).toBe(400);
    expect(single.body.results[0]!.reasons.map((r) => `${r.code} ${r.path}`)).toEqual(["wrong-type $.GWInfo[0].sendtime", "wrong-type $.parsedPayload.co2"]);
    const batch = await proxy.post([{ GWInfo: [{ sendtime: Date.now() }] }, reading("A1-IAQ", "bad-future", Date.now() + 3 * 86_400_000), 17]);
    expect(batch.status).toBe(400);
    expect(batch.body.results.map((r) => r.reasons.map((x) => x.code))).toEqual([["missing-field"], ["event-time-ahead"], ["not-an-object"]]);
    expect((await proxy.post("{not json")).status).toBe(400);
    expect((await proxy.post("[]")).status).toBe(400);
    expect((await proxy.post(reading("A1-IAQ", "bad-type"), { "content-type": "text/plain" })).status).toBe(415);
    expect(await topicCount(topic), "nothing of the invalid requests reached Kafka").toBe(before);

    const mixed = await proxy.post([reading("A1-IAQ", "mixed-0"), { DevEui: "A1-IAQ", deviceName: "mixed-bad" }, reading("B1-WIN", "mixed-2")]);
    expect(mixed.status).toBe(207);
    expect(mixed.body).toMatchObject({ accepted: 2, rejected: 1 });
    expect(mixed.body.results.map((r) => r.status)).toEqual(["accepted", "rejected", "accepted"]);
    expect(await topicCount(topic)).toBe(before + 2);
    const names = (await readTopic(topic)).map((m) => m.value.deviceName);
    expect(names.filter((n) => String(n).startsWith("mixed-")).sort()).toEqual(["mixed-0", "mixed-2"]);
  });

  it("refuses a 10 MB body with 413 without reading it: at once when its length is declared, soon after the limit when streamed", async () => {
    const declared = await streamBody(proxy.url, 10 * 1024 * 1024, true, 200);
    expect(declared).toEqual({ status: 413, sent: 0 });
    const streamed = await streamBody(proxy.url, 10 * 1024 * 1024, false, 200);
    expect(streamed.status).toBe(413);
    expect(streamed.sent, "bytes sent before the answer: the limit (1 MiB) and what was on the way").toBeLessThan(4 * 1024 * 1024);
    expect((await proxy.health()).status, "and goes on").toBe(200);
  });

  it("the simulator sends through the proxy: every reading it sent is in the topic", async () => {
    writeFileSync(path.join(work, "registry.csv"), registryCsv());
    const before = await topicCount(topic);
    const result = await runCli(
      ["simulate", "--to", proxy.url, "--registry", path.join(work, "registry.csv"), "--rate", "40", "--duration", "3", "--bad", "0"],
      {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
      },
    );
    expect(result.code, result.stderr).toBe(0);
    const sent = Number(/simulator: done, (\d+) readings and 0 bad messages sent through/.exec(result.stderr)?.[1]);
    expect(sent).toBeGreaterThan(50);
    expect(await topicCount(topic)).toBe(before + sent);
  });

  it("serves Prometheus metrics of what it did", async () => {
    expect((await proxy.post([reading("A1-IAQ", "metrics-ok"), reading("A1-IAQ", "metrics-ahead", Date.now() + 3 * 86_400_000)])).status).toBe(207);
    const text = await (await fetch(`${proxy.url}/metrics`)).text();
    expect(text).toMatch(/^sensor_proxy_readings_accepted_total [1-9]\d*$/m);
    expect(text).toMatch(/^sensor_proxy_readings_rejected_total\{reason="event-time-ahead"\} [1-9]\d*$/m);
    expect(text).toMatch(/^sensor_proxy_http_requests_total\{method="POST",route="\/stream",status="207"\} [1-9]\d*$/m);
    expect(text).toMatch(/^sensor_proxy_kafka_write_duration_seconds_count\{outcome="acknowledged"\} [1-9]\d*$/m);
    expect(text).toMatch(/^sensor_proxy_kafka_up 1$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
  });

  it("SIGTERM: the requests in flight are answered, then it exits 0", async () => {
    const ids = Array.from({ length: 20 }, (_, i) => Array.from({ length: 50 }, (_, k) => `drain-${i}-${k}`));
    const inFlight = ids.map((batch) => proxy.post(batch.map((id) => reading("A2-IAQ", id))).catch((error: Error) => error));
    await sleep(20);
    const code = proxy.stop();
    const answers = await Promise.all(inFlight);
    expect(await code).toBe(0);
    // A request is answered 200 (or 207 in part), or 503 once the drain began, or does not get
    // through (a refused or closing connection); what matters is that every reading answered
    // accepted is in Kafka, once, and the exit is clean.
    const accepted = answers.flatMap((answer, i) =>
      answer instanceof Error || (answer.status !== 200 && answer.status !== 207)
        ? []
        : answer.body.results.filter((r) => r.status === "accepted").map((r) => ids[i]![r.index]!),
    );
    for (const answer of answers) if (!(answer instanceof Error)) expect([200, 207, 503]).toContain(answer.status);
    const drained = (await readTopic(topic)).map((m) => String(m.value.deviceName)).filter((name) => name.startsWith("drain-"));
    const stored = new Set(drained);
    expect(
      accepted.filter((id) => !stored.has(id)),
      "every reading answered accepted was written",
    ).toEqual([]);
    expect(drained.length, "none twice").toBe(stored.size);
    expect(proxy.lines.at(-1)).toMatchObject({ msg: "stopped" });
  });
});

describe("bearer tokens", () => {
  it("401 without a token or with another, 2xx with either of two (environment and file); no token in the log", async () => {
    const topic = await createTopic("auth", 1);
    const tokenA = `e2e-token-a-${suffix}`;
    const tokenB = `e2e-token-b-${suffix}`;
    const file = path.join(work, "tokens");
    writeFileSync(file, `# the second token\n${tokenB}\n`);
    const proxy = await ProxyProcess.start(topic, ["--tokens-file", file, "--host", "127.0.0.1"], { PROXY_TOKENS: tokenA });
    expect(proxy.lines.some((l) => l.auth === "on" && l.tokens === 2)).toBe(true);

    const none = await proxy.post(reading("A1-IAQ", "auth-none"));
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer /);
    expect((await proxy.post(reading("A1-IAQ", "auth-wrong"), { authorization: "Bearer not-a-token" })).status).toBe(401);
    expect((await proxy.post(reading("A1-IAQ", "auth-a"), { authorization: `Bearer ${tokenA}` })).status).toBe(200);
    expect((await proxy.post(reading("A1-IAQ", "auth-b"), { authorization: `Bearer ${tokenB}` })).status).toBe(200);
    expect((await proxy.health()).status, "/health needs no token").toBe(200);
    expect((await readTopic(topic)).map((m) => m.value.deviceName).sort()).toEqual(["auth-a", "auth-b"]);
    expect(await proxy.stop()).toBe(0);
    expect(proxy.output.join("\n")).not.toContain(tokenA);
    expect(proxy.output.join("\n")).not.toContain(tokenB);
  });
});

describe("Kafka stopped under load", () => {
  it("clients get 503 with Retry-After while Kafka is away; afterwards every reading that got a 2xx is in the topic, once", async () => {
    const topic = await createTopic("outage");
    const proxy = await ProxyProcess.start(topic, ["--ack-timeout", "3000"]);
    const outcome = new Map<string, number>();
    const retryAfter: Array<string | null> = [];
    const statuses = new Map<number | string, number>();
    let running = true;
    let sequence = 0;
    const clients = Array.from({ length: 6 }, async (_, c) => {
      while (running) {
        const ids = Array.from({ length: 10 }, () => `load-${c}-${sequence++}`);
        const device = DEVICES[c % DEVICES.length]!.devEui;
        let status: number | string;
        try {
          const answer = await proxy.post(ids.map((id) => reading(device, id)));
          status = answer.status;
          if (status === 503) retryAfter.push(answer.headers.get("retry-after"));
        } catch (error) {
          status = `error: ${(error as Error).message}`;
        }
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        for (const id of ids) outcome.set(id, typeof status === "number" ? status : -1);
        await sleep(status === 200 ? 20 : 500);
      }
    });
    const count = (status: number): number => [...outcome.values()].filter((s) => s === status).length;

    try {
      await sleep(5_000);
      expect(count(200), "writes go through before the outage").toBeGreaterThan(0);
      expect(count(503)).toBe(0);
      kafkaStopped = true;
      await stack("stop", "kafka");
      await sleep(15_000);
      expect(count(503), "Kafka away: 503").toBeGreaterThan(0);
      expect((await proxy.health()).status, "/health: not ready while Kafka is away").toBe(503);
      const okDuringOutage = count(200);
      await stack("start", "kafka");
      kafkaStopped = false;
      const deadline = Date.now() + 120_000;
      while (count(200) === okDuringOutage && Date.now() < deadline) await sleep(1000);
      expect(count(200), "writes resume after Kafka is back").toBeGreaterThan(okDuringOutage);
      await sleep(5_000);
    } finally {
      // Whatever failed above, the clients stop: they must not go on posting into later tests.
      running = false;
      await Promise.all(clients);
    }
    expect((await proxy.health()).status).toBe(200);

    expect(
      [...statuses.keys()].filter((s) => s !== 200 && s !== 503),
      "only 200 and 503, no errors or cut connections",
    ).toEqual([]);
    expect(
      retryAfter.every((r) => r !== null && Number(r) >= 1),
      "every 503 says when to come back",
    ).toBe(true);
    const stored = await readTopic(topic);
    const copies = new Map<string, number>();
    for (const m of stored) copies.set(m.value.deviceName, (copies.get(m.value.deviceName) ?? 0) + 1);
    const acknowledged = [...outcome].filter(([, s]) => s === 200).map(([id]) => id);
    const missing = acknowledged.filter((id) => !copies.has(id));
    const twice = acknowledged.filter((id) => (copies.get(id) ?? 0) > 1);
    console.log(
      `outage: ${acknowledged.length} readings acknowledged, ${count(503)} answered 503, ${stored.length} in the topic ` +
        `(${stored.length - acknowledged.length} of them answered 503 but written anyway: the at-least-once window), statuses ${JSON.stringify([...statuses])}`,
    );
    expect(missing, "every acknowledged reading is in the topic").toEqual([]);
    expect(twice, "the idempotent producer wrote no acknowledged reading twice").toEqual([]);
    expect(await proxy.stop()).toBe(0);
  }, 600_000);
});
