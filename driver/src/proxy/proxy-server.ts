/**
 * The proxy's HTTP side (fastify): POST /stream takes one reading or an array of readings,
 * answers 2xx only for readings Kafka acknowledged, and says per reading what became of it;
 * GET /health and GET /metrics. The contract is in README.md, "The ingestion proxy".
 *
 * Mixed batches: the valid readings of an array are written and the invalid ones refused, and the
 * answer is 207 with a result per reading. Refusing the whole array for one bad reading would
 * make a gateway either drop its good readings or send them again and again. The same holds for
 * what Kafka does with the valid ones: a request written in part (a produce request failed after
 * an earlier one of the same request was acknowledged, or Kafka refused one reading) is answered
 * 207 saying which readings were acknowledged, which refused, and which to send again.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { BearerTokens } from "./bearer-tokens.js";
import { NotAcknowledged, type KafkaRecord, type RecordOutcome } from "./group-commit-writer.js";
import type { KafkaHealth } from "./kafka-target.js";
import type { ProxyMetrics } from "./proxy-metrics.js";
import type { Reason, ReadingValidator } from "./reading-validator.js";

export const STREAM_PATH = "/stream";

export interface ReadingWriter {
  /** Seconds a client should wait before sending readings Kafka did not take. */
  readonly retryAfterSeconds: number;
  /** The outcome of each record; rejects with NotAcknowledged when none was acknowledged or refused. */
  write(records: readonly KafkaRecord[]): Promise<readonly RecordOutcome[]>;
  /** Kafka has not acknowledged the write in flight within the ack timeout. */
  readonly stalled: boolean;
}

export interface KafkaSide {
  readonly brokers: string;
  readonly topic: string;
  health(): Promise<KafkaHealth>;
}

export interface ProxyServerOptions {
  readonly validate: ReadingValidator;
  readonly writer: ReadingWriter;
  readonly kafka: KafkaSide;
  readonly tokens: BearerTokens;
  readonly maxBodyBytes: number;
  readonly metrics: ProxyMetrics;
  /** A pino logger writing JSON lines; no log when undefined. */
  readonly log?: FastifyBaseLogger;
  readonly clock?: () => number;
}

/**
 * What became of one reading: accepted (Kafka acknowledged it), rejected (invalid, or refused by
 * Kafka: do not send it again as it is), not-written (never sent: send it again), unacknowledged
 * (it may still be written: sending it again may store it twice).
 */
export type ReadingResult =
  | { readonly index: number; readonly status: "accepted" }
  | { readonly index: number; readonly status: "rejected"; readonly reasons: readonly Reason[] }
  | { readonly index: number; readonly status: "not-written" | "unacknowledged"; readonly message: string };

export interface StreamAnswer {
  readonly accepted: number;
  readonly rejected: number;
  /** Readings to send again: not-written and unacknowledged. */
  readonly notWritten: number;
  /** Seconds to wait before sending them again, when there are any. */
  readonly retryAfter?: number;
  readonly results: readonly ReadingResult[];
}

export interface ErrorAnswer {
  readonly error: string;
  readonly message: string;
  readonly [detail: string]: unknown;
}

/** What the request log line says about a request beyond method, path and status. */
interface Outcome {
  readings?: number;
  accepted?: number;
  rejected?: number;
  notWritten?: number;
  reasons?: Array<{ index: number; reasons: string[] }>;
  error?: string;
}

const INVALID_JSON = "PROXY_INVALID_JSON";
const UNSUPPORTED_CHARSET = "PROXY_UNSUPPORTED_CHARSET";

/** Reasons in one log line, at most; the answer carries all of them. */
const LOGGED_REASONS = 20;

export function buildProxyServer(options: ProxyServerOptions): FastifyInstance {
  const { metrics, tokens } = options;
  const clock = options.clock ?? Date.now;
  const outcomes = new WeakMap<FastifyRequest, Outcome>();
  const app = Fastify({
    ...(options.log === undefined ? { logger: false } : { loggerInstance: options.log }),
    bodyLimit: options.maxBodyBytes,
    // One line per request, written below with what became of its readings.
    logController: new LogController({ disableRequestLogging: true }),
    // Draining on SIGTERM: requests that arrive on open connections get 503 and Connection: close.
    return503OnClosing: true,
    forceCloseConnections: "idle",
    // A sender that trickles its body cannot hold a connection for ever.
    requestTimeout: 60_000,
  });

  // JSON only: a text/plain body is 415, not a string reading.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    const text = body as string;
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      const why =
        text.trim() === ""
          ? "the body is empty; send one reading (a JSON object) or an array of readings"
          : `the body is not JSON: ${(error as Error).message}`;
      done(Object.assign(new Error(why), { statusCode: 400, code: INVALID_JSON }), undefined);
    }
  });

  // A connection kept alive would hold close() until the client drops it: while draining, every
  // answer closes its connection. (Node's server.close() ends only the connections idle at the
  // time it is called: https://nodejs.org/docs/latest-v20.x/api/http.html#serverclosecallback)
  let draining = false;
  app.addHook("preClose", async () => {
    draining = true;
  });
  app.addHook("onSend", async (_request, reply) => {
    if (draining) void reply.header("connection", "close");
  });

  app.addHook("onRequest", async (request, reply) => {
    metrics.inFlight.inc();
    reply.raw.once("close", () => metrics.inFlight.dec());
    if (request.routeOptions.url !== STREAM_PATH || !tokens.enabled) return;
    const auth = tokens.check(request.headers.authorization);
    if (auth === "ok") return;
    const answer =
      auth === "missing"
        ? errorAnswer("unauthorized", "send the header Authorization: Bearer <token>")
        : errorAnswer("invalid-token", "the bearer token is not one the proxy accepts");
    outcomes.set(request, { error: answer.message });
    void reply
      .code(401)
      .header("www-authenticate", auth === "missing" ? 'Bearer realm="sensor-streaming"' : 'Bearer realm="sensor-streaming", error="invalid_token"')
      .send(answer);
    return reply;
  });

  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "not-found";
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    if (options.log === undefined) return;
    const outcome = outcomes.get(request) ?? {};
    const fields = {
      method: request.method,
      path: request.url.split("?")[0],
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      remote: request.ip,
      ...outcome,
    };
    const line = `${request.method} ${fields.path} ${reply.statusCode}`;
    if (reply.statusCode >= 500 && reply.statusCode !== 503) request.log.error(fields, line);
    else if (reply.statusCode === 503 || (outcome.rejected ?? 0) > 0 || (outcome.notWritten ?? 0) > 0) request.log.warn(fields, line);
    else request.log.info(fields, line);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    const answer = (code: number, body: ErrorAnswer): FastifyReply => {
      outcomes.set(request, { error: body.message });
      return reply.code(code).send(body);
    };
    switch (error.code) {
      case "FST_ERR_CTP_BODY_TOO_LARGE":
        return answer(
          413,
          errorAnswer("body-too-large", `the body is larger than ${options.maxBodyBytes} bytes; send fewer readings per request`, {
            limit: options.maxBodyBytes,
          }),
        );
      case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
        return answer(
          415,
          errorAnswer(
            "unsupported-media-type",
            `send readings as JSON with Content-Type: application/json, not ${request.headers["content-type"] ?? "no content type"}`,
          ),
        );
      case UNSUPPORTED_CHARSET:
        return answer(415, errorAnswer("unsupported-media-type", error.message));
      case INVALID_JSON:
        return answer(400, errorAnswer("invalid-json", error.message));
    }
    if (status < 500) return answer(status, errorAnswer("bad-request", error.message));
    request.log.error({ err: error }, `internal error: ${error.message}`);
    return answer(500, errorAnswer("internal", "internal error of the proxy; its log has the details"));
  });

  // The body is read as UTF-8: a body declared in another charset would be read wrong, so it is
  // refused before it is read. JSON exchanged between systems is UTF-8 (RFC 8259, section 8.1).
  const checkCharset = async (request: FastifyRequest): Promise<void> => {
    const charset = charsetOf(request.headers["content-type"]);
    if (charset === undefined || charset.toLowerCase() === "utf-8") return;
    throw Object.assign(
      new Error(`the body is declared as ${charset}; send readings as UTF-8 JSON (Content-Type: application/json, or application/json; charset=utf-8)`),
      {
        statusCode: 415,
        code: UNSUPPORTED_CHARSET,
      },
    );
  };

  app.post(STREAM_PATH, { preParsing: checkCharset }, async (request, reply) => {
    const refuse = (code: number, body: ErrorAnswer): FastifyReply => {
      outcomes.set(request, { error: body.message });
      return reply.code(code).send(body);
    };
    const body = request.body;
    // fastify parses no body when the request has none and no Content-Type.
    if (body === undefined) return refuse(415, errorAnswer("unsupported-media-type", "send readings as JSON with Content-Type: application/json"));
    const items: unknown[] = Array.isArray(body) ? body : [body];
    if (items.length === 0) return refuse(400, errorAnswer("empty-batch", "the array holds no reading"));
    const now = clock();
    const verdicts = items.map((item) => options.validate(item, now));
    const records: KafkaRecord[] = [];
    /** The index in the request of each record. */
    const recordIndex: number[] = [];
    const results: ReadingResult[] = verdicts.map((verdict, index) => {
      if (verdict.ok) {
        records.push({ key: verdict.key, value: verdict.value });
        recordIndex.push(index);
        return { index, status: "accepted" };
      }
      metrics.rejected.inc({ reason: verdict.reasons[0]!.code });
      return { index, status: "rejected", reasons: verdict.reasons };
    });
    const invalid = items.length - records.length;
    const outcome: Outcome = { readings: items.length, accepted: 0, rejected: invalid };
    outcomes.set(request, outcome);
    let written: readonly RecordOutcome[];
    try {
      written = await options.writer.write(records);
    } catch (error) {
      if (!(error instanceof NotAcknowledged)) throw error;
      metrics.unacknowledged.inc(records.length);
      outcome.reasons = loggedReasons(results);
      outcome.error = error.message;
      return reply
        .code(503)
        .header("retry-after", String(error.retryAfterSeconds))
        .send(
          errorAnswer("kafka-unavailable", `${error.message}; send the request again after ${error.retryAfterSeconds} s`, {
            retryAfter: error.retryAfterSeconds,
          }),
        );
    }
    let tooLarge = 0;
    written.forEach((record, i) => {
      const index = recordIndex[i]!;
      if (record.status === "acknowledged") return;
      if (record.status === "refused") {
        if (record.code === "record-too-large") tooLarge += 1;
        metrics.rejected.inc({ reason: record.code });
        results[index] = { index, status: "rejected", reasons: [{ code: record.code, message: record.message }] };
      } else {
        results[index] = { index, status: record.status, message: record.message };
      }
    });
    const accepted = written.filter((w) => w.status === "acknowledged").length;
    const notWritten = written.filter((w) => w.status === "not-written" || w.status === "unacknowledged").length;
    const refusedByKafka = records.length - accepted - notWritten;
    metrics.accepted.inc(accepted);
    metrics.unacknowledged.inc(notWritten);
    Object.assign(outcome, { accepted, rejected: invalid + refusedByKafka, notWritten, reasons: loggedReasons(results) });
    const retryAfter = notWritten > 0 ? options.writer.retryAfterSeconds : undefined;
    const answer: StreamAnswer = { accepted, rejected: invalid + refusedByKafka, notWritten, ...(retryAfter === undefined ? {} : { retryAfter }), results };
    if (retryAfter !== undefined) void reply.header("retry-after", String(retryAfter));
    return reply.code(streamStatus(items.length, accepted, notWritten, invalid, refusedByKafka, tooLarge)).send(answer);
  });

  app.get("/health", async (_request, reply) => {
    const kafka = await options.kafka.health();
    metrics.kafkaUp.set(kafka.ok ? 1 : 0);
    const stalled = options.writer.stalled;
    const ready = kafka.ok && !stalled;
    return reply.code(ready ? 200 : 503).send({
      status: ready ? "ready" : "unavailable",
      kafka: { brokers: options.kafka.brokers, topic: options.kafka.topic, ok: kafka.ok, detail: kafka.detail },
      writes: stalled ? "stalled: Kafka has not acknowledged the write in flight within the ack timeout" : "ok",
      auth: tokens.enabled ? "on" : "off",
    });
  });

  app.get("/metrics", async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  return app;
}

/**
 * The status of a request that reached the writer: 200 all accepted; 207 a mix, or readings to
 * send again beside final refusals; with nothing accepted and nothing to send again, 400 when only
 * the validation refused, 413 when Kafka refused only readings too large for it, else 422.
 */
function streamStatus(readings: number, accepted: number, notWritten: number, invalid: number, refusedByKafka: number, tooLarge: number): number {
  if (accepted === readings) return 200;
  if (accepted > 0 || notWritten > 0) return 207;
  if (refusedByKafka === 0) return 400;
  return invalid === 0 && tooLarge === refusedByKafka ? 413 : 422;
}

/** The reasons of the refused readings, for the log line (at most LOGGED_REASONS). */
function loggedReasons(results: readonly ReadingResult[]): Outcome["reasons"] {
  const refused = results.filter((r): r is Extract<ReadingResult, { status: "rejected" }> => r.status === "rejected");
  return refused.length === 0
    ? undefined
    : refused.slice(0, LOGGED_REASONS).map((r) => ({ index: r.index, reasons: r.reasons.map((reason) => reason.message) }));
}

/** The charset parameter of a Content-Type, unquoted, if it has one. */
function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType ?? "");
  return match === null ? undefined : (match[1] ?? match[2]);
}

function errorAnswer(error: string, message: string, details: Record<string, unknown> = {}): ErrorAnswer {
  return { error, message, ...details };
}
