/**
 * The proxy's HTTP contract, through fastify's inject and a real listening socket, with a fake
 * writer standing in for Kafka (the real producer runs in driver/test/e2e/proxy.e2e.test.ts):
 * status codes and bodies, per-reading results of a batch, authentication with two tokens, the
 * body limit without reading the body, 503 with Retry-After, a request written in part or
 * refused in part by Kafka (207, 413, 422), charsets, /health, /metrics, the request log, a
 * graceful close that answers the request in flight, and the command's refusal to start with
 * authentication off by mistake.
 */
import { streamBody } from "../support/stream-body.js";
import type { AddressInfo } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { messageContract } from "../../src/emit/message-contract.js";
import { buildPlan } from "../../src/plan/build-plan.js";
import { loadSpec } from "../../src/spec/load.js";
import { EXIT, ExitError } from "../../src/cli/exit-codes.js";
import { BearerTokens, TokenError } from "../../src/proxy/bearer-tokens.js";
import { NotAcknowledged, type KafkaRecord, type RecordOutcome } from "../../src/proxy/group-commit-writer.js";
import { proxyCommand } from "../../src/proxy/proxy-command.js";
import type { KafkaHealth } from "../../src/proxy/kafka-target.js";
import { ProxyMetrics } from "../../src/proxy/proxy-metrics.js";
import { buildProxyServer, type ReadingWriter } from "../../src/proxy/proxy-server.js";
import { readingValidator } from "../../src/proxy/reading-validator.js";

const root = path.resolve(import.meta.dirname, "../../..");
const NOW = Date.UTC(2026, 10, 3, 9, 0, 0);
const loaded = loadSpec("conf/pipeline.yaml", { env: {}, cwd: root });
const contract = messageContract(buildPlan(loaded.spec!, loaded.specFile));
const validate = readingValidator(contract, { maxReadingBytes: 64 * 1024 });

/** Stands in for Kafka: keeps what it was given, or refuses, or takes its time, or answers per record as told. */
class FakeWriter implements ReadingWriter {
  readonly written: KafkaRecord[] = [];
  readonly retryAfterSeconds = 5;
  stalled = false;
  refuse: NotAcknowledged | undefined;
  /** The outcome of each record, in order, instead of acknowledging all. */
  outcomes: RecordOutcome[] | undefined;
  delayMs = 0;
  async write(records: readonly KafkaRecord[]): Promise<readonly RecordOutcome[]> {
    if (this.refuse !== undefined) throw this.refuse;
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    const outcomes = this.outcomes ?? records.map((): RecordOutcome => ({ status: "acknowledged" }));
    this.written.push(...records.filter((_, i) => outcomes[i]!.status === "acknowledged"));
    return outcomes;
  }
}

interface Proxy {
  readonly app: FastifyInstance;
  readonly writer: FakeWriter;
  readonly metrics: ProxyMetrics;
  readonly logLines: Array<Record<string, unknown>>;
  kafkaHealth: KafkaHealth;
}

let open: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(open.map((app) => app.close()));
  open = [];
});

function proxy(options: { tokens?: string; maxBodyBytes?: number } = {}): Proxy {
  const writer = new FakeWriter();
  const metrics = new ProxyMetrics({ processMetrics: false });
  const logLines: Array<Record<string, unknown>> = [];
  const log = pino({ level: "info" }, { write: (line: string) => logLines.push(JSON.parse(line) as Record<string, unknown>) });
  const state: Proxy = { app: undefined as unknown as FastifyInstance, writer, metrics, logLines, kafkaHealth: { ok: true, detail: "Kafka answers" } };
  const app = buildProxyServer({
    validate,
    writer,
    kafka: { brokers: "localhost:9092", topic: "live-data", health: async () => state.kafkaHealth },
    tokens: new BearerTokens(options.tokens, undefined),
    maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
    metrics,
    log,
    clock: () => NOW,
  });
  open.push(app);
  return Object.assign(state, { app });
}

function reading(device: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { DevEui: device, GWInfo: [{ gwname: "gw", sendtime: NOW - 1000 }], parsedPayload: { temperature: 20.5 }, ...overrides };
}

/** What the tests read of the proxy's JSON answers: a StreamAnswer's counts and results, an ErrorAnswer's error. */
interface Answer {
  readonly accepted: number;
  readonly rejected: number;
  readonly error: string;
  readonly results: ReadonlyArray<{
    readonly index: number;
    readonly status: string;
    readonly reasons: ReadonlyArray<{ readonly code: string; readonly path: string }>;
  }>;
}

function post(app: FastifyInstance, body: unknown, headers: Record<string, string> = {}) {
  return app.inject({
    method: "POST",
    url: "/stream",
    headers: { "content-type": "application/json", ...headers },
    payload: typeof body === "string" ? body : JSON.stringify(body),
  });
}

describe("POST /stream", () => {
  it("one reading: 200 once it is written, keyed by its device id", async () => {
    const { app, writer } = proxy();
    const response = await post(app, reading("A1-IAQ"));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ accepted: 1, rejected: 0, notWritten: 0, results: [{ index: 0, status: "accepted" }] });
    expect(writer.written).toEqual([{ key: "A1-IAQ", value: JSON.stringify(reading("A1-IAQ")) }]);
  });

  it("a mixed batch: 207, the valid readings written, every reason of the others with its index", async () => {
    const { app, writer } = proxy();
    const response = await post(app, [
      reading("A1"),
      reading("A2", { GWInfo: [] }),
      { DevEui: "A3", GWInfo: [{ sendtime: "now" }], parsedPayload: { co2: "high" } },
      reading("A4"),
    ]);
    expect(response.statusCode).toBe(207);
    const body = response.json<Answer>();
    expect(body.accepted).toBe(2);
    expect(body.rejected).toBe(2);
    expect(body.results.map((r: { index: number; status: string }) => [r.index, r.status])).toEqual([
      [0, "accepted"],
      [1, "rejected"],
      [2, "rejected"],
      [3, "accepted"],
    ]);
    expect(body.results[2]!.reasons.map((r: { code: string; path: string }) => [r.code, r.path])).toEqual([
      ["wrong-type", "$.GWInfo[0].sendtime"],
      ["wrong-type", "$.parsedPayload.co2"],
    ]);
    expect(writer.written.map((r) => r.key)).toEqual(["A1", "A4"]);
  });

  it("nothing valid: 400 with every reason, nothing written", async () => {
    const { app, writer } = proxy();
    const single = await post(app, { GWInfo: [{ sendtime: 5 }] });
    expect(single.statusCode).toBe(400);
    expect(single.json<Answer>().results[0]!.reasons.map((r: { code: string }) => r.code)).toEqual(["missing-field", "event-time-out-of-range"]);
    const batch = await post(app, [1, null]);
    expect(batch.statusCode).toBe(400);
    expect(batch.json()).toMatchObject({ accepted: 0, rejected: 2 });
    expect(writer.written).toEqual([]);
  });

  it.each<[string, string, string | undefined, number, string]>([
    ["not JSON", "{broken", "application/json", 400, "invalid-json"],
    ["an empty body", "", "application/json", 400, "invalid-json"],
    ["an empty array", "[]", "application/json", 400, "empty-batch"],
    ["text/plain", "{}", "text/plain", 415, "unsupported-media-type"],
    ["a form", "a=1", "application/x-www-form-urlencoded", 415, "unsupported-media-type"],
  ])("%s: %s", async (_what, payload, contentType, status, error) => {
    const { app, writer } = proxy();
    const response = await app.inject({ method: "POST", url: "/stream", headers: contentType === undefined ? {} : { "content-type": contentType }, payload });
    expect(response.statusCode).toBe(status);
    expect(response.json<Answer>().error).toBe(error);
    expect(writer.written).toEqual([]);
  });

  it("JSON with the charset UTF-8 is JSON; another charset is 415, since the body is read as UTF-8", async () => {
    const { app, writer } = proxy();
    expect((await post(app, reading("A1"), { "content-type": "application/json; charset=utf-8" })).statusCode).toBe(200);
    expect((await post(app, reading("A2"), { "content-type": 'application/json;charset="UTF-8"' })).statusCode).toBe(200);
    const latin = await post(app, reading("A3"), { "content-type": "application/json; charset=iso-8859-1" });
    expect(latin.statusCode).toBe(415);
    expect(latin.json()).toEqual({
      error: "unsupported-media-type",
      message: "the body is declared as iso-8859-1; send readings as UTF-8 JSON (Content-Type: application/json, or application/json; charset=utf-8)",
    });
    expect((await post(app, reading("A4"), { "content-type": "application/json; charset=utf-16" })).statusCode).toBe(415);
    expect(writer.written.map((r) => r.key)).toEqual(["A1", "A2"]);
  });

  it("a body over the limit: 413", async () => {
    const { app, writer } = proxy({ maxBodyBytes: 2048 });
    const response = await post(
      app,
      Array.from({ length: 40 }, (_, i) => reading(`D${i}`)),
    );
    expect(response.statusCode).toBe(413);
    expect(response.json()).toEqual({ error: "body-too-large", message: "the body is larger than 2048 bytes; send fewer readings per request", limit: 2048 });
    expect(writer.written).toEqual([]);
  });

  it("Kafka does not acknowledge: 503 with Retry-After, and the readings are counted as unacknowledged", async () => {
    const { app, writer, metrics } = proxy();
    writer.refuse = new NotAcknowledged("Kafka did not take the readings within 5000 ms; nothing of this request was written", 5);
    const response = await post(app, [reading("A1"), reading("A2"), { bad: true }]);
    expect(response.statusCode).toBe(503);
    expect(response.headers["retry-after"]).toBe("5");
    expect(response.json()).toEqual({
      error: "kafka-unavailable",
      message: "Kafka did not take the readings within 5000 ms; nothing of this request was written; send the request again after 5 s",
      retryAfter: 5,
    });
    expect(await metrics.registry.getSingleMetricAsString("sensor_proxy_readings_unacknowledged_total")).toMatch(/ 2$/m);
  });
});

describe("what Kafka did with each reading", () => {
  const unacknowledged: RecordOutcome = {
    status: "unacknowledged",
    message: "not acknowledged: Kafka failed the write: Connection error; it may still be written, so sending it again may store it twice",
  };
  const notWritten: RecordOutcome = { status: "not-written", message: "not written: Kafka did not take the readings within 5000 ms; send it again" };
  const tooLarge: RecordOutcome = { status: "refused", code: "record-too-large", message: "Kafka refused this reading: MESSAGE_TOO_LARGE: ..." };

  it("written in part: 207 with a result per reading, which to send again, and Retry-After", async () => {
    const { app, writer, metrics } = proxy();
    writer.outcomes = [{ status: "acknowledged" }, unacknowledged, notWritten];
    const response = await post(app, [reading("A1"), reading("A2"), { DevEui: "A3" }, reading("A4")]);
    expect(response.statusCode).toBe(207);
    expect(response.headers["retry-after"]).toBe("5");
    const body = response.json<Answer>();
    expect(body).toMatchObject({ accepted: 1, rejected: 1, notWritten: 2, retryAfter: 5 });
    expect(body.results).toEqual([
      { index: 0, status: "accepted" },
      { index: 1, status: "unacknowledged", message: unacknowledged.message },
      { index: 2, status: "rejected", reasons: [expect.objectContaining({ code: "missing-event-time" })] },
      { index: 3, status: "not-written", message: notWritten.message },
    ]);
    expect(await metrics.registry.getSingleMetricAsString("sensor_proxy_readings_unacknowledged_total")).toMatch(/ 2$/m);
    expect(await metrics.registry.getSingleMetricAsString("sensor_proxy_readings_accepted_total")).toMatch(/ 1$/m);
  });

  it("a reading Kafka refuses as too large: 413 alone, 207 beside accepted ones; another refusal: 422", async () => {
    const { app, writer, metrics } = proxy();
    writer.outcomes = [tooLarge];
    const alone = await post(app, reading("A1"));
    expect(alone.statusCode).toBe(413);
    expect(alone.json()).toEqual({
      accepted: 0,
      rejected: 1,
      notWritten: 0,
      results: [{ index: 0, status: "rejected", reasons: [{ code: "record-too-large", message: tooLarge.message }] }],
    });
    writer.outcomes = [{ status: "acknowledged" }, tooLarge];
    const beside = await post(app, [reading("A1"), reading("A2")]);
    expect(beside.statusCode).toBe(207);
    expect(beside.headers["retry-after"]).toBeUndefined();
    expect(beside.json()).toMatchObject({ accepted: 1, rejected: 1, notWritten: 0, results: [{ status: "accepted" }, { status: "rejected" }] });
    writer.outcomes = [{ status: "refused", code: "record-refused", message: "Kafka refused this reading: INVALID_RECORD: ..." }];
    expect((await post(app, reading("A1"))).statusCode).toBe(422);
    writer.outcomes = [tooLarge];
    expect((await post(app, [reading("A1"), { DevEui: "A2" }])).statusCode, "too large beside an invalid one").toBe(422);
    expect(await metrics.registry.getSingleMetricAsString("sensor_proxy_readings_rejected_total")).toContain('{reason="record-too-large"} 3');
  });
});

describe("authentication", () => {
  it("with two tokens: 401 without one or with a wrong one, 2xx with either; /health and /metrics stay open", async () => {
    const { app, logLines } = proxy({ tokens: "token-a-123, token-b-456" });
    const none = await post(app, reading("A1"));
    expect(none.statusCode).toBe(401);
    expect(none.headers["www-authenticate"]).toBe('Bearer realm="sensor-streaming"');
    expect(none.json<Answer>().error).toBe("unauthorized");
    const wrong = await post(app, reading("A1"), { authorization: "Bearer token-c" });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers["www-authenticate"]).toMatch(/error="invalid_token"/);
    expect((await post(app, reading("A1"), { authorization: "Bearer token-a-123" })).statusCode).toBe(200);
    expect((await post(app, reading("A1"), { authorization: "bearer token-b-456" })).statusCode).toBe(200);
    expect((await post(app, reading("A1"), { authorization: "Basic dG9rZW4tYS0xMjM=" })).statusCode).toBe(401);
    expect((await app.inject({ method: "GET", url: "/health" })).statusCode).toBe(200);
    expect((await app.inject({ method: "GET", url: "/metrics" })).statusCode).toBe(200);
    expect(JSON.stringify(logLines)).not.toMatch(/token-a-123|token-b-456|token-c/);
  });

  it("401 comes before the body is looked at", async () => {
    const { app } = proxy({ tokens: "token-a-123", maxBodyBytes: 1024 });
    expect((await app.inject({ method: "POST", url: "/stream", headers: { "content-type": "text/plain" }, payload: "x".repeat(5000) })).statusCode).toBe(401);
  });

  it("tokens come from the environment and a file; a bad file is an error that names it", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "proxy-tokens-"));
    const file = path.join(dir, "tokens");
    writeFileSync(file, "# rotated 2026-11\nfile-token-1\n\nfile-token-2\n");
    const tokens = new BearerTokens("env-token", file);
    expect(tokens.count).toBe(3);
    expect(["env-token", "file-token-1", "file-token-2", "other"].map((t) => tokens.check(`Bearer ${t}`))).toEqual(["ok", "ok", "ok", "invalid"]);
    writeFileSync(file, "file-token-3\n");
    tokens.reload();
    expect(tokens.check("Bearer file-token-1")).toBe("invalid");
    expect(tokens.check("Bearer file-token-3")).toBe("ok");
    writeFileSync(file, "# nothing\n");
    expect(() => tokens.reload()).toThrow(TokenError);
    expect(tokens.check("Bearer file-token-3"), "a failed reload keeps the tokens").toBe("ok");
    expect(() => new BearerTokens(undefined, path.join(dir, "missing"))).toThrow(/cannot read the tokens file .*missing: ENOENT/);
    expect(() => new BearerTokens("a b", undefined)).toThrow(/PROXY_TOKENS has a token with a space/);
    expect(new BearerTokens("", undefined).enabled).toBe(false);
    expect(() => new BearerTokens(" , ", undefined)).toThrow("PROXY_TOKENS is set but holds no token: authentication would be off");
  });

  it("the command does not start with PROXY_TOKENS set but empty of tokens, nor without tokens under --require-auth (exit 3)", async () => {
    const io = { out: () => undefined, err: () => undefined };
    const options = { port: "0", maxBody: "1048576", ackTimeout: "5000", brokers: "127.0.0.1:1", topic: "proxy-fix-unit" };
    const saved = process.env.PROXY_TOKENS;
    const failure = (promise: Promise<number>): Promise<ExitError> =>
      promise.then(
        () => Promise.reject(new Error("it started")),
        (e: ExitError) => e,
      );
    try {
      process.env.PROXY_TOKENS = " , ";
      const empty = await failure(proxyCommand("conf/pipeline.yaml", options, io));
      expect([empty.exitCode, empty.message]).toEqual([EXIT.fileError, "PROXY_TOKENS is set but holds no token: authentication would be off"]);
      delete process.env.PROXY_TOKENS;
      const required = await failure(proxyCommand("conf/pipeline.yaml", { ...options, requireAuth: true }, io));
      expect(required.exitCode).toBe(EXIT.fileError);
      expect(required.message).toBe("--require-auth: no bearer token in PROXY_TOKENS or --tokens-file, and the proxy does not start without one");
    } finally {
      if (saved === undefined) delete process.env.PROXY_TOKENS;
      else process.env.PROXY_TOKENS = saved;
    }
  });
});

describe("GET /health and GET /metrics", () => {
  it("ready only when Kafka answers and writes are not stalled", async () => {
    const state = proxy();
    const ready = await state.app.inject({ method: "GET", url: "/health" });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: "ready",
      kafka: { brokers: "localhost:9092", topic: "live-data", ok: true, detail: "Kafka answers" },
      writes: "ok",
      auth: "off",
    });
    state.kafkaHealth = { ok: false, detail: "Kafka at localhost:9092 does not answer: Connection error" };
    const down = await state.app.inject({ method: "GET", url: "/health" });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({ status: "unavailable", kafka: { ok: false } });
    state.kafkaHealth = { ok: true, detail: "Kafka answers" };
    state.writer.stalled = true;
    expect((await state.app.inject({ method: "GET", url: "/health" })).json()).toMatchObject({
      status: "unavailable",
      writes: expect.stringMatching(/^stalled/),
    });
  });

  it("counts requests by status, readings accepted and rejected by reason, in Prometheus text", async () => {
    const { app } = proxy();
    await post(app, [reading("A1"), { DevEui: "A2" }, 7]);
    await app.inject({ method: "GET", url: "/health" });
    const metrics = await app.inject({ method: "GET", url: "/metrics" });
    expect(metrics.headers["content-type"]).toMatch(/^text\/plain; version=0.0.4/);
    const text = metrics.body;
    expect(text).toContain('sensor_proxy_http_requests_total{method="POST",route="/stream",status="207"} 1');
    expect(text).toContain("sensor_proxy_readings_accepted_total 1");
    expect(text).toContain('sensor_proxy_readings_rejected_total{reason="missing-event-time"} 1');
    expect(text).toContain('sensor_proxy_readings_rejected_total{reason="not-an-object"} 1');
    expect(text).toContain("sensor_proxy_kafka_up 1");
    expect(text).toMatch(/^sensor_proxy_http_requests_in_flight 1$/m);
  });

  it("sensor_proxy_kafka_up follows the writes too: 0 when no producer could send, 1 when Kafka answered", async () => {
    const metrics = new ProxyMetrics({ processMetrics: false });
    const up = async (): Promise<string> => (await metrics.registry.getSingleMetricAsString("sensor_proxy_kafka_up")).split("\n").at(-1)!;
    metrics.recordWrite(3, 0, "not-sent");
    expect(await up()).toBe("sensor_proxy_kafka_up 0");
    metrics.recordWrite(3, 0.01, "refused");
    expect(await up()).toBe("sensor_proxy_kafka_up 1");
    metrics.recordWrite(3, 30, "failed");
    expect(await up()).toBe("sensor_proxy_kafka_up 0");
    metrics.recordWrite(3, 0.01, "acknowledged");
    expect(await up()).toBe("sensor_proxy_kafka_up 1");
    expect(await metrics.registry.getSingleMetricAsString("sensor_proxy_kafka_write_readings")).toContain("sensor_proxy_kafka_write_readings_count 3");
  });
});

describe("the request log", () => {
  it("one JSON line per request: info when all is well, warn with the reasons when readings were refused", async () => {
    const { app, logLines } = proxy();
    await post(app, reading("A1"));
    await post(app, [reading("A1"), { DevEui: "A2" }]);
    const lines = logLines.filter((l) => l.path === "/stream");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 30, msg: "POST /stream 200", method: "POST", status: 200, readings: 1, accepted: 1, rejected: 0 });
    expect(lines[1]).toMatchObject({
      level: 40,
      msg: "POST /stream 207",
      readings: 2,
      accepted: 1,
      rejected: 1,
      reasons: [{ index: 1, reasons: ["missing or invalid event time sent_at ($.GWInfo[0].sendtime)"] }],
    });
  });
});

describe("over a real socket", () => {
  async function listen(state: Proxy): Promise<number> {
    await state.app.listen({ port: 0, host: "127.0.0.1" });
    return (state.app.server.address() as AddressInfo).port;
  }

  it("a 10 MB body declared in Content-Length: 413 on the headers, before any of it is sent", async () => {
    const state = proxy();
    const port = await listen(state);
    expect(await streamBody(`http://127.0.0.1:${port}`, 10 * 1024 * 1024, true, 100)).toEqual({ status: 413, sent: 0 });
  });

  it("a 10 MB body without a length: 413 soon after the limit, without reading the rest", async () => {
    const state = proxy();
    const port = await listen(state);
    const { status, sent } = await streamBody(`http://127.0.0.1:${port}`, 10 * 1024 * 1024, false, 100);
    expect(status).toBe(413);
    expect(sent).toBeLessThan(4 * 1024 * 1024);
    expect(state.writer.written).toEqual([]);
  });

  it("close: the request in flight is answered, then the port is closed", async () => {
    const state = proxy();
    state.writer.delayMs = 300;
    const port = await listen(state);
    const inFlight = fetch(`http://127.0.0.1:${port}/stream`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(reading("A1")),
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closing = state.app.close();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(state.writer.written).toHaveLength(1);
    await closing;
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  });
});
