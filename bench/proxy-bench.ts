/**
 * Benchmark of the ingestion proxy: readings per second through `sensor-streaming proxy` (a child
 * process, as it runs in production) with single-reading requests and with batches of 100, with
 * the latency of each request (p50, p99), beside a bare kafkajs producer writing the same readings
 * with the same settings (acks=-1, idempotent) from this process, one send per request: the
 * comparison (the proxy can beat it on single readings, since it groups concurrent requests).
 * Every figure comes from its own topic, deleted afterwards; the topic's offsets are checked
 * against what was acknowledged. Prints a table; nothing asserts on it.
 *
 * Needs a Kafka broker (the local stack's: infrastructure/local/stack.sh up).
 * Usage: npm run bench:proxy [-- READINGS] [--concurrency N]
 *   READINGS      readings per measurement (default 20000)
 *   --concurrency requests (or producer sends) in flight at once (default 32)
 *   KAFKA_BOOTSTRAP  the broker (default localhost:9092)
 */
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { readFileSync } from "node:fs";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { parseRegistryCsv, readingMessage, seededRandom } from "../driver/src/simulator/readings.js";

const root = path.resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const concurrencyAt = args.indexOf("--concurrency");
const concurrency = concurrencyAt >= 0 ? Number(args.splice(concurrencyAt, 2)[1]) : 32;
const total = Number(args[0] ?? 20_000);
const brokers = process.env.KAFKA_BOOTSTRAP ?? "localhost:9092";
if (!Number.isInteger(total) || total < 100 || !Number.isInteger(concurrency) || concurrency < 1) {
  throw new Error("usage: npm run bench:proxy [-- READINGS (at least 100)] [--concurrency N]");
}

interface Figures {
  readonly name: string;
  readonly perRequest: number;
  readonly readings: number;
  readonly seconds: number;
  readonly latenciesMs: number[];
}

const kafka = new Kafka({ clientId: "proxy-bench", brokers: [brokers], logLevel: logLevel.NOTHING });
const runId = Date.now().toString(36);

/** Readings of the sample registry's devices, one second apart, as the simulator writes them. */
function readings(count: number): string[] {
  const devices = parseRegistryCsv(readFileSync(path.join(root, "data/registry.csv"), "utf8").replace(/^\uFEFF/, ""));
  const random = seededRandom(11);
  const start = Date.now() - count * 10;
  return Array.from({ length: count }, (_, i) => JSON.stringify(readingMessage(devices[i % devices.length]!, start + i * 10, random)));
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Runs `send` over the groups with `concurrency` in flight; returns the wall time and each group's latency. */
async function drive(groups: readonly string[][], send: (group: string[]) => Promise<void>): Promise<{ seconds: number; latenciesMs: number[] }> {
  const latenciesMs: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, groups.length) }, async () => {
      while (next < groups.length) {
        const group = groups[next++]!;
        const t0 = performance.now();
        await send(group);
        latenciesMs.push(performance.now() - t0);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latenciesMs };
}

function groupsOf(values: readonly string[], size: number): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}

async function topicCount(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
}

async function withTopic<T>(name: string, body: (topic: string) => Promise<T>): Promise<T> {
  const topic = `proxy-bench-${runId}-${name}`;
  const admin = kafka.admin();
  await admin.connect();
  // Right after a topic is made, kafkajs's wait for its leaders can meet UNKNOWN_TOPIC_OR_PARTITION.
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
      break;
    } catch (error) {
      if (attempt === 3) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    return await body(topic);
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

async function bareProducer(values: readonly string[], perRequest: number): Promise<Figures> {
  return withTopic(`bare-${perRequest}`, async (topic) => {
    const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      const run = await drive(groupsOf(values, perRequest), async (group) => {
        await producer.send({ topic, acks: -1, messages: group.map((value) => ({ key: (JSON.parse(value) as { DevEui: string }).DevEui, value })) });
      });
      const stored = await topicCount(topic);
      if (stored !== values.length) throw new Error(`the bare producer's topic holds ${stored} readings, not ${values.length}`);
      return { name: "a bare kafkajs producer, one send per request", perRequest, readings: values.length, ...run };
    } finally {
      await producer.disconnect();
    }
  });
}

/** Starts `sensor-streaming proxy` on a free port and returns its URL once it is ready. */
async function startProxy(topic: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(root, "driver/src/cli/main.ts"), "proxy", "--port", "0", "--brokers", brokers, "--topic", topic],
    {
      cwd: root,
      env: { ...process.env, PROXY_TOKENS: "" },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let pending = "";
    child.stdout.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        const parsed = JSON.parse(line) as { url?: string; port?: number };
        if (parsed.url !== undefined && parsed.port !== undefined) resolve(parsed.url);
      }
    });
    child.on("exit", (code) => reject(new Error(`the proxy exited with ${code} before it listened`)));
  });
  for (let i = 0; i < 100; i++) {
    const status = await new Promise<number>((resolve) => {
      http
        .get(`${url}/health`, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        })
        .on("error", () => resolve(0));
    });
    if (status === 200) return { url, child };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill("SIGTERM");
  throw new Error(`the proxy at ${url} did not become ready (GET /health)`);
}

async function throughProxy(values: readonly string[], perRequest: number): Promise<Figures> {
  return withTopic(`proxy-${perRequest}`, async (topic) => {
    const { url, child } = await startProxy(topic);
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const target = new URL(`${url}/stream`);
    const post = (body: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const request = http.request(
          {
            host: target.hostname,
            port: target.port,
            path: target.pathname,
            method: "POST",
            agent,
            headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
          },
          (response) => {
            response.resume();
            response.on("end", () => (response.statusCode === 200 ? resolve() : reject(new Error(`the proxy answered ${response.statusCode}`))));
          },
        );
        request.on("error", reject);
        request.end(body);
      });
    try {
      const run = await drive(groupsOf(values, perRequest), (group) => post(perRequest === 1 ? group[0]! : `[${group.join(",")}]`));
      const stored = await topicCount(topic);
      if (stored !== values.length) throw new Error(`the proxy's topic holds ${stored} readings, not ${values.length}`);
      return { name: "through the proxy", perRequest, readings: values.length, ...run };
    } finally {
      agent.destroy();
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    }
  });
}

function table(rows: readonly Figures[]): string {
  const ceiling = new Map(rows.filter((r) => r.name.startsWith("kafkajs")).map((r) => [r.perRequest, r.readings / r.seconds]));
  const header = ["", "readings per request", "readings/s", "requests/s", "p50 ms", "p99 ms", "of the bare producer"];
  const body = rows.map((r) => {
    const sorted = [...r.latenciesMs].sort((a, b) => a - b);
    const perSecond = r.readings / r.seconds;
    const ratio = r.name.startsWith("kafkajs") ? "" : `${Math.round((perSecond / ceiling.get(r.perRequest)!) * 100)} %`;
    return [
      r.name,
      String(r.perRequest),
      Math.round(perSecond).toLocaleString("en"),
      Math.round(r.latenciesMs.length / r.seconds).toLocaleString("en"),
      percentile(sorted, 50).toFixed(1),
      percentile(sorted, 99).toFixed(1),
      ratio,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  return [line(header), `|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`, ...body.map(line)].join("\n");
}

const values = readings(total);
process.stderr.write(
  `proxy bench: ${total} readings (${Math.round(values.reduce((s, v) => s + v.length, 0) / total)} bytes each),` +
    ` ${concurrency} in flight, Kafka at ${brokers}\n`,
);
const rows: Figures[] = [];
for (const perRequest of [1, 100]) {
  rows.push(await bareProducer(values, perRequest));
  rows.push(await throughProxy(values, perRequest));
}
process.stdout.write(`${table(rows)}\n`);
