/**
 * `simulate --to`: the simulator's readings through a real proxy server on a free port, with a
 * fake writer in place of Kafka. Every reading it counts as sent was written, a 503 is waited out
 * and sent again (not lost, not doubled), so are the readings a 207 says were not written (and
 * only those), malformed messages get 400, a refused token stops it.
 */
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { messageContract } from "../../src/emit/message-contract.js";
import { buildPlan } from "../../src/plan/build-plan.js";
import { loadSpec } from "../../src/spec/load.js";
import { BearerTokens } from "../../src/proxy/bearer-tokens.js";
import { NotAcknowledged, type KafkaRecord, type RecordOutcome } from "../../src/proxy/group-commit-writer.js";
import { ProxyMetrics } from "../../src/proxy/proxy-metrics.js";
import { buildProxyServer, type ReadingWriter } from "../../src/proxy/proxy-server.js";
import { readingValidator } from "../../src/proxy/reading-validator.js";
import { ProxySendError, streamUrl } from "../../src/simulator/proxy-sender.js";
import { proxyToken } from "../../src/simulator/simulate-to-proxy-command.js";
import { simulate } from "../../src/simulator/simulate.js";
import type { RegistryDevice } from "../../src/simulator/readings.js";

const root = path.resolve(import.meta.dirname, "../../..");
const loaded = loadSpec("conf/pipeline.yaml", { env: {}, cwd: root });
const contract = messageContract(buildPlan(loaded.spec!, loaded.specFile));
const DEVICES: RegistryDevice[] = [
  { institute: "A", devEui: "A1-IAQ", profile: "iaq", classroom: "1" },
  { institute: "A", devEui: "A1-DOOR", profile: "porta", classroom: "1" },
  { institute: "B", devEui: "B1-WIN", profile: "finestra", classroom: "2" },
];

/** Refuses the first `refusals` writes with 503, writes only the first reading of the next `partial` ones, then keeps what it is given. */
class FlakyWriter implements ReadingWriter {
  readonly written: KafkaRecord[] = [];
  readonly stalled = false;
  readonly retryAfterSeconds = 1;
  constructor(
    private refusals: number,
    private partial = 0,
  ) {}
  async write(records: readonly KafkaRecord[]): Promise<readonly RecordOutcome[]> {
    if (this.refusals > 0) {
      this.refusals -= 1;
      throw new NotAcknowledged("Kafka did not take the readings within 5000 ms", 1);
    }
    if (this.partial > 0 && records.length > 1) {
      this.partial -= 1;
      this.written.push(records[0]!);
      return records.map((_, i): RecordOutcome =>
        i === 0 ? { status: "acknowledged" } : { status: "not-written", message: "not written: Kafka failed the write; send it again" },
      );
    }
    this.written.push(...records);
    return records.map((): RecordOutcome => ({ status: "acknowledged" }));
  }
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function startProxy(writer: ReadingWriter, tokens?: string): Promise<string> {
  app = buildProxyServer({
    validate: readingValidator(contract, { maxReadingBytes: 64 * 1024 }),
    writer,
    kafka: { brokers: "localhost:9092", topic: "live-data", health: async () => ({ ok: true, detail: "" }) },
    tokens: new BearerTokens(tokens, undefined),
    maxBodyBytes: 1024 * 1024,
    metrics: new ProxyMetrics({ processMetrics: false }),
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

function run(to: string, options: { token?: string; bad?: number; seconds?: number } = {}) {
  const log: string[] = [];
  return simulate({
    brokers: [],
    topic: "",
    to,
    ...(options.token === undefined ? {} : { token: options.token }),
    devices: DEVICES,
    rate: 40,
    durationSeconds: options.seconds ?? 1,
    badFraction: options.bad ?? 0,
    seed: 7,
    log: (line) => log.push(line),
  }).then((result) => ({ ...result, log }));
}

describe("simulate --to URL", () => {
  it("every reading it sends is written once, keyed by its device; malformed messages are refused, unregistered devices pass", async () => {
    const writer = new FlakyWriter(0);
    const url = await startProxy(writer);
    // Two seconds: enough readings of every kind even when the machine is busy.
    const { sent, bad, refused, log } = await run(url, { bad: 0.3, seconds: 2 });
    expect(sent).toBeGreaterThan(20);
    expect(bad).toBeGreaterThan(0);
    const unregistered = writer.written.filter((r) => r.key === "UNREGISTERED").length;
    expect(refused + unregistered).toBe(bad);
    expect(writer.written.length).toBe(sent + unregistered);
    expect(new Set(writer.written.map((r) => r.key))).toEqual(new Set([...DEVICES.map((d) => d.devEui), ...(unregistered > 0 ? ["UNREGISTERED"] : [])]));
    expect(log.at(-1)).toMatch(
      new RegExp(`^simulator: done, ${sent} readings and ${bad} bad messages sent through ${url}/stream \\(the proxy refused ${refused} as invalid\\)$`),
    );
  });

  it("waits out a 503 and sends the same readings again: none lost, none twice", async () => {
    const writer = new FlakyWriter(1);
    const url = await startProxy(writer);
    const { sent, log } = await run(url, { seconds: 2 });
    expect(log.some((line) => /the proxy answers 503 .*sending again every 1 s/.test(line))).toBe(true);
    expect(writer.written.length).toBe(sent);
    expect(new Set(writer.written.map((r) => r.value)).size).toBe(sent);
  });

  it("a request written in part: sends again only the readings the 207 says were not written", async () => {
    const writer = new FlakyWriter(0, 1);
    const url = await startProxy(writer);
    const { sent, log } = await run(url, { seconds: 2 });
    expect(log.some((line) => /the proxy did not get \d+ of \d+ readings into Kafka; sending again every 1 s/.test(line))).toBe(true);
    expect(writer.written.length).toBe(sent);
    expect(new Set(writer.written.map((r) => r.value)).size).toBe(sent);
  });

  it("sends the token, and stops with the reason when the proxy refuses it", async () => {
    const url = await startProxy(new FlakyWriter(0), "sim-token-1");
    expect((await run(url, { token: "sim-token-1" })).sent).toBeGreaterThan(0);
    await expect(run(url, { token: "wrong" })).rejects.toThrow(ProxySendError);
    await expect(run(url)).rejects.toThrow(/refused the simulator \(401: send the header Authorization: Bearer <token>\)/);
  });

  it("takes the proxy's base URL or its /stream URL, and the token from PROXY_TOKEN or the first of PROXY_TOKENS", () => {
    expect(streamUrl("http://localhost:8090")).toBe("http://localhost:8090/stream");
    expect(streamUrl("http://localhost:8090/")).toBe("http://localhost:8090/stream");
    expect(streamUrl("http://gw.example:8090/ingest")).toBe("http://gw.example:8090/ingest");
    expect(proxyToken({ PROXY_TOKEN: "one", PROXY_TOKENS: "two,three" })).toBe("one");
    expect(proxyToken({ PROXY_TOKENS: " two , three" })).toBe("two");
    expect(proxyToken({})).toBeUndefined();
  });
});
