/**
 * `sensor-streaming proxy`: the ingestion proxy as a long-running service. It validates readings
 * with the message contract compiled from the spec, writes them to the spec's Kafka topic and
 * runs until SIGTERM or Ctrl-C, then drains: no new connections, the requests in flight are
 * answered, the producer is flushed and disconnected, and the process exits, within the ack
 * timeout and two seconds whatever Kafka does.
 */
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { EXIT, ExitError } from "../cli/exit-codes.js";
import type { Output } from "../cli/commands.js";
import { loadPlan, type SpecOptions } from "../cli/pipeline-input.js";
import { messageContract, type MessageContract } from "../emit/message-contract.js";
import { parseTemplate, resolveTemplate } from "../spec/interpolation.js";
import { BearerTokens, TOKENS_ENV, TokenError } from "./bearer-tokens.js";
import { GroupCommitWriter } from "./group-commit-writer.js";
import { KafkaTarget } from "./kafka-target.js";
import { ProxyMetrics } from "./proxy-metrics.js";
import { buildProxyServer, STREAM_PATH } from "./proxy-server.js";
import { readingValidator } from "./reading-validator.js";

export const DEFAULT_PROXY_PORT = 8090;
export const DEFAULT_MAX_BODY = 1024 * 1024;
export const DEFAULT_ACK_TIMEOUT_MS = 5000;
/** Half of Kafka's default max.message.bytes, so a produce request's record batch fits (less when the topic's is smaller). */
export const MAX_WRITE_BYTES = 512 * 1024;
export const MAX_READING_BYTES = 512 * 1024;
/**
 * After SIGTERM the proxy is gone within the ack timeout (the requests in flight are answered by
 * then) and this much more, below Docker's stop timeout of 10 s with the default ack timeout:
 * half for the write in flight, half for disconnecting from Kafka.
 */
const SHUTDOWN_GRACE_MS = 2000;

export interface ProxyCliOptions extends SpecOptions {
  readonly port: string;
  readonly host?: string;
  readonly topic?: string;
  readonly brokers?: string;
  readonly maxBody: string;
  readonly ackTimeout: string;
  readonly tokensFile?: string;
  readonly requireAuth?: boolean;
  readonly schema?: boolean;
}

function integerOption(value: string, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new ExitError(EXIT.usage, `--${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}

function bound(template: string, what: string, option: string): string {
  const resolved = resolveTemplate(parseTemplate(template), process.env);
  if (resolved.unset.length > 0) {
    throw new ExitError(
      EXIT.invalidSpec,
      `the spec's ${what} "${template}" needs ${resolved.unset.join(", ")}, which ${resolved.unset.length === 1 ? "is" : "are"} not set`,
      `export ${resolved.unset.map((v) => `${v}=...`).join(" ")}, or pass ${option}`,
    );
  }
  return resolved.value;
}

export async function proxyCommand(specFile: string | undefined, options: ProxyCliOptions, io: Output): Promise<number> {
  const { plan } = loadPlan(specFile, options);
  const contract: MessageContract = messageContract(plan);
  if (options.schema === true) {
    io.out(JSON.stringify(contract.schema, null, 2));
    return EXIT.ok;
  }
  const port = integerOption(options.port, "port", 0, 65535);
  const maxBody = integerOption(options.maxBody, "max-body", 1024, 256 * 1024 * 1024);
  const ackTimeoutMs = integerOption(options.ackTimeout, "ack-timeout", 100, 600_000);
  const brokers = (options.brokers ?? bound(contract.kafka.bootstrapServers, "source.kafka.bootstrapServers", "--brokers"))
    .split(",")
    .map((b) => b.trim())
    .filter((b) => b !== "");
  const topic = options.topic ?? bound(contract.kafka.topic, "source.kafka.topic", "--topic");
  if (brokers.length === 0) throw new ExitError(EXIT.usage, "no Kafka broker to write to", "pass --brokers host:port[,host:port...]");
  let tokens: BearerTokens;
  try {
    tokens = new BearerTokens(process.env[TOKENS_ENV], options.tokensFile);
  } catch (error) {
    if (error instanceof TokenError) throw new ExitError(EXIT.fileError, error.message, error.hint);
    throw error;
  }
  if (options.requireAuth === true && !tokens.enabled) {
    throw new ExitError(
      EXIT.fileError,
      `--require-auth: no bearer token in ${TOKENS_ENV} or --tokens-file, and the proxy does not start without one`,
      `set ${TOKENS_ENV}=token-a,token-b or pass --tokens-file FILE`,
    );
  }
  // Without authentication, only this machine may write unless --host says otherwise.
  const host = options.host ?? (tokens.enabled ? "0.0.0.0" : "127.0.0.1");

  const log = pino({
    base: { service: "sensor-streaming-proxy", pipeline: plan.pipeline },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
  const metrics = new ProxyMetrics();
  const kafka = new KafkaTarget({ brokers, topic, log });
  const writer = new GroupCommitWriter({
    send: (records) => kafka.send(records),
    ackTimeoutMs,
    maxWriteBytes: MAX_WRITE_BYTES,
    maxMessageBytes: () => kafka.maxMessageBytes,
    onWrite: (records, seconds, outcome) => metrics.recordWrite(records, seconds, outcome),
    onLateAcknowledgement: (records) => metrics.lateAcknowledged.inc(records),
  });
  const app = buildProxyServer({
    validate: readingValidator(contract, { maxReadingBytes: MAX_READING_BYTES }),
    writer,
    kafka,
    tokens,
    maxBodyBytes: maxBody,
    metrics,
    log,
  });

  if (tokens.enabled) {
    log.info(
      { auth: "on", tokens: tokens.count },
      `authentication is on: POST ${STREAM_PATH} needs one of ${tokens.count} bearer token${tokens.count === 1 ? "" : "s"} ` +
        `(${TOKENS_ENV}${options.tokensFile === undefined ? "" : `, ${options.tokensFile}`})`,
    );
  } else {
    log.warn(
      { auth: "off" },
      `authentication is off: no token in ${TOKENS_ENV} or --tokens-file, so whoever reaches ${host} can write readings` +
        `${options.host === undefined ? " (listening on this machine only; pass --host 0.0.0.0 to accept others)" : ""}`,
    );
  }

  try {
    await app.listen({ port, host });
  } catch (error) {
    throw new ExitError(
      EXIT.fileError,
      `the proxy cannot listen on ${host}:${port}: ${(error as Error).message}`,
      "choose another --port, or stop what uses this one",
    );
  }
  // Only once the port is ours: a proxy that cannot listen has nothing of Kafka to stop.
  kafka.start();
  const address = app.server.address() as AddressInfo;
  const url = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
  log.info(
    { url, port: address.port, spec: plan.specFile, topic, brokers: brokers.join(","), maxBody, ackTimeoutMs },
    `proxy listening on ${url}: POST ${STREAM_PATH} -> Kafka topic ${topic} at ${brokers.join(",")}; GET /health, GET /metrics`,
  );

  const reload = (): void => {
    try {
      tokens.reload();
      log.info({ tokens: tokens.count }, `SIGHUP: tokens read again, ${tokens.count} valid`);
    } catch (error) {
      log.error({ error: (error as Error).message }, `SIGHUP: the tokens were not changed: ${(error as Error).message}`);
    }
  };
  process.on("SIGHUP", reload);
  const signal = await new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  process.removeListener("SIGHUP", reload);

  log.info({ signal }, `${signal}: stopping; no new connections, answering the requests in flight`);
  // A second signal, or a stop that outlasts the ack timeout and the grace, ends it at once.
  const force = (why: string) => (): never => {
    log.error({ why }, `stopped before the drain ended: ${why}`);
    process.exit(EXIT.terminated);
  };
  process.once("SIGTERM", force("a second SIGTERM"));
  process.once("SIGINT", force("a second Ctrl-C"));
  const deadline = Date.now() + ackTimeoutMs + SHUTDOWN_GRACE_MS;
  setTimeout(force(`the stop took longer than ${ackTimeoutMs + SHUTDOWN_GRACE_MS} ms`), ackTimeoutMs + SHUTDOWN_GRACE_MS).unref();
  // Every request is answered within its ack timeout, so this ends by then.
  await app.close();
  // The requests are answered: a write still in flight is one whose clients were told it may still be written.
  await within(writer.close(), Math.min(SHUTDOWN_GRACE_MS / 2, deadline - Date.now()));
  await within(kafka.close(), deadline - Date.now() - 100);
  log.info({}, "stopped");
  // kafkajs may keep timers of a connection that was being made; they must not keep the process.
  setTimeout(() => process.exit(EXIT.ok), 50).unref();
  return EXIT.ok;
}

/** Waits for a promise at most `ms` (what it does afterwards no longer matters). */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))]);
  clearTimeout(timer);
}
