/**
 * The proxy's Kafka side, with kafkajs: an idempotent producer writing with acks=-1 (every
 * in-sync replica), connected in the background until the broker answers, the topic created
 * when it is missing (and its `max.message.bytes` read), and a health check that asks the broker.
 *
 * Idempotence makes a retried produce request that the broker had already written (its answer
 * was lost) count once: without it, an acknowledged reading could be stored twice. kafkajs then
 * retries without end (a failed send would lose the sequence), serialises requests per broker,
 * and needs acks=-1. https://kafka.js.org/docs/producing#options
 * A send fails at once while no producer is connected, so nothing waits for a connection inside
 * a request's ack timeout and is written after its request was answered.
 * Kafka refusing the records themselves (too large, invalid: the error is about the records, not
 * the broker) leaves the producer as it is, since the next records may well go in. A producer that
 * meets another error it cannot retry (e.g. the broker lost its sequence numbers) is replaced by a
 * new one, with a new producer id, so the next write starts clean.
 */
import { Kafka, logLevel, Partitioners, type Admin, type ConfigResourceTypes, type LogEntry, type Producer } from "kafkajs";
import { NotSent, RecordsRefused, type KafkaRecord, type RefusalCode } from "./group-commit-writer.js";

export interface Log {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface KafkaHealth {
  readonly ok: boolean;
  readonly detail: string;
}

export interface KafkaTargetOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly log: Log;
  /** How long the health check waits for the broker. */
  readonly checkTimeoutMs?: number;
  /** How long a produce request may go unanswered before its producer is replaced (default 45 s). */
  readonly stuckWriteMs?: number;
}

const CLIENT_ID = "sensor-streaming-proxy";
/** kafkajs retries with exponential backoff; a short cap lets writes resume soon after an outage. */
const RETRY = { initialRetryTime: 100, maxRetryTime: 2000 };
/** The background connection's backoff between attempts. */
const CONNECT_BACKOFF_MS = [500, 1000, 2000, 5000, 10_000];
/**
 * A produce request unanswered this long is given up with its producer. kafkajs notices a broker
 * that closes or resets the connection, but on a connection that went silent (a partition, a
 * frozen broker) it times out each attempt after `requestTimeout` (30 s) and retries on the same
 * socket for ever; a new producer opens new connections. https://kafka.js.org/docs/configuration#request-timeout
 */
const STUCK_WRITE_MS = 45_000;
/** A health answer is reused this long, so a burst of probes asks the broker once. */
const HEALTH_CACHE_MS = 1000;
/**
 * kafkajs's `ConfigResourceTypes.TOPIC`: the enum is not among the names Node's ESM loader finds
 * in kafkajs (a CommonJS module), so importing it by name fails at run time.
 */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;
/**
 * Kafka's errors about the records themselves, which sending them again cannot cure; kafkajs
 * gives them up at once (not retriable). https://kafka.apache.org/protocol#protocol_error_codes
 */
const RECORD_ERRORS: Readonly<Record<string, RefusalCode>> = {
  MESSAGE_TOO_LARGE: "record-too-large",
  RECORD_LIST_TOO_LARGE: "record-too-large",
  INVALID_RECORD: "record-refused",
};

export class KafkaTarget {
  private readonly kafka: Kafka;
  private producer: Producer | undefined;
  /** The producer being connected, and the admin creating the topic, so close() can stop them. */
  private connecting: Producer | undefined;
  private setupAdmin: Admin | undefined;
  private admin: Admin | undefined;
  private lastHealth: { at: number; health: Promise<KafkaHealth> } | undefined;
  private closed = false;
  private wake: (() => void) | undefined;
  private topicMaxMessageBytes: number | undefined;

  constructor(private readonly options: KafkaTargetOptions) {
    const log = options.log;
    this.kafka = new Kafka({
      clientId: CLIENT_ID,
      brokers: [...options.brokers],
      retry: { ...RETRY, retries: 5 },
      logLevel: logLevel.WARN,
      logCreator:
        () =>
        ({ namespace, level, log: entry }: LogEntry) => {
          const { message, timestamp: _timestamp, logger: _logger, ...fields } = entry;
          if (level === logLevel.ERROR) log.error({ component: "kafkajs", namespace, ...fields }, message);
          else log.warn({ component: "kafkajs", namespace, ...fields }, message);
        },
    });
  }

  /** Starts connecting in the background; sends fail with NotSent until a producer is connected. */
  start(): void {
    this.startConnecting();
  }

  get brokers(): string {
    return this.options.brokers.join(",");
  }

  get topic(): string {
    return this.options.topic;
  }

  /** The topic's `max.message.bytes`, once the producer connected and could read it. */
  get maxMessageBytes(): number | undefined {
    return this.topicMaxMessageBytes;
  }

  /**
   * Writes with acks=-1; resolves when every in-sync replica has the records. Throws NotSent at
   * once while no producer is connected, RecordsRefused when Kafka refuses the records themselves.
   */
  async send(records: readonly KafkaRecord[]): Promise<void> {
    const producer = this.producer;
    if (producer === undefined || this.closed) {
      throw new NotSent(this.closed ? "the proxy is shutting down" : `Kafka at ${this.brokers} is not connected (the producer is connecting)`);
    }
    const sending = producer.send({
      topic: this.options.topic,
      acks: -1,
      messages: records.map((r) => ({ key: r.key ?? null, value: r.value })),
    });
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<"stuck">((resolve) => {
      timer = setTimeout(() => resolve("stuck"), this.options.stuckWriteMs ?? STUCK_WRITE_MS);
    });
    try {
      if ((await Promise.race([sending, stuck])) === "stuck") {
        const error = new Error(`Kafka did not answer a produce request for ${Math.round((this.options.stuckWriteMs ?? STUCK_WRITE_MS) / 1000)} s`);
        // The old producer may still finish this write (its clients were answered 503 long ago).
        sending
          .then(
            () => producer.disconnect(),
            () => producer.disconnect(),
          )
          .catch(() => undefined);
        throw error;
      }
    } catch (error) {
      const refusal = recordRefusal(error);
      if (refusal !== undefined) throw refusal;
      if (!this.closed && this.producer === producer) this.replaceProducer(error as Error);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The broker answers and knows the topic (asked at most once a second). */
  health(): Promise<KafkaHealth> {
    const now = Date.now();
    if (this.lastHealth !== undefined && now - this.lastHealth.at < HEALTH_CACHE_MS) return this.lastHealth.health;
    const health = this.check();
    this.lastHealth = { at: now, health };
    return health;
  }

  /**
   * Stops connecting and disconnects every client, the one still connecting too. Only the
   * connected producer is waited for: the others have nothing to flush, and a broker that does
   * not answer would hold them until kafkajs's connection timeout.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    for (const client of [this.connecting, this.setupAdmin, this.admin]) void client?.disconnect().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
  }

  private async check(): Promise<KafkaHealth> {
    const timeoutMs = this.options.checkTimeoutMs ?? 2000;
    let timer: NodeJS.Timeout | undefined;
    try {
      const topics = await Promise.race([
        (async () => {
          if (this.admin === undefined) {
            // Kept before it connects, so that close() or a failed check can disconnect it.
            this.admin = this.kafka.admin({ retry: { ...RETRY, retries: 0 } });
            await this.admin.connect();
          }
          // Listing asks for every topic's metadata and so never creates one, unlike a lookup by name.
          return this.admin.listTopics();
        })(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      if (!topics.includes(this.options.topic)) return { ok: false, detail: `Kafka at ${this.brokers} answers but has no topic ${this.options.topic} yet` };
      if (this.producer === undefined) return { ok: false, detail: `Kafka at ${this.brokers} answers; the producer is still connecting` };
      return { ok: true, detail: `Kafka at ${this.brokers} answers and has topic ${this.options.topic}` };
    } catch (error) {
      const admin = this.admin;
      this.admin = undefined;
      void admin?.disconnect().catch(() => undefined);
      return { ok: false, detail: `Kafka at ${this.brokers} does not answer: ${(error as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
  }

  private startConnecting(): void {
    // A failure is logged where it happens; nothing waits on this promise.
    this.connect().catch(() => undefined);
  }

  /**
   * Connects a new idempotent producer and creates the topic if missing, retrying until it works
   * or the proxy closes. kafkajs's own connect retries without end too (the producer's retry
   * settings), so the wait is raced against close().
   */
  private async connect(): Promise<void> {
    const stopped = new Promise<"closed">((resolve) => {
      this.wake = () => resolve("closed");
    });
    for (let attempt = 0; !this.closed; attempt++) {
      const producer = this.kafka.producer({
        idempotent: true,
        retry: { ...RETRY, retries: Number.MAX_SAFE_INTEGER },
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      this.connecting = producer;
      try {
        if ((await Promise.race([producer.connect(), stopped])) === "closed" || this.closed) break;
        if ((await Promise.race([this.ensureTopic(), stopped])) === "closed" || this.closed) break;
        this.connecting = undefined;
        this.producer = producer;
        this.options.log.info(
          { brokers: this.brokers, topic: this.options.topic, maxMessageBytes: this.topicMaxMessageBytes },
          `connected to Kafka at ${this.brokers}; writing to topic ${this.options.topic} with acks=-1, idempotent`,
        );
        return;
      } catch (error) {
        await producer.disconnect().catch(() => undefined);
        if (this.closed) break;
        const wait = CONNECT_BACKOFF_MS[Math.min(attempt, CONNECT_BACKOFF_MS.length - 1)]!;
        this.options.log.warn(
          { brokers: this.brokers, attempt: attempt + 1, retryInMs: wait },
          `cannot connect to Kafka at ${this.brokers}: ${(error as Error).message}; trying again in ${wait} ms`,
        );
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, wait))), stopped]);
        clearTimeout(timer);
      }
    }
    // Closed while connecting: close() disconnects the producer kept in `connecting`.
    throw new Error("the proxy is shutting down");
  }

  /** Creates the topic when missing and reads its max.message.bytes (the broker's default when the topic sets none). */
  private async ensureTopic(): Promise<void> {
    const admin = this.kafka.admin();
    this.setupAdmin = admin;
    await admin.connect();
    try {
      if (this.closed) return;
      if (!(await admin.listTopics()).includes(this.options.topic)) {
        // It gets the broker's default partitions and replicas; a topic made meanwhile is kept.
        const created = await admin.createTopics({ topics: [{ topic: this.options.topic }], waitForLeaders: true });
        if (created)
          this.options.log.info({ topic: this.options.topic }, `created topic ${this.options.topic} with the broker's default partitions and replication`);
      }
      if (this.closed) return;
      this.topicMaxMessageBytes = await this.readMaxMessageBytes(admin);
    } finally {
      this.setupAdmin = undefined;
      await admin.disconnect();
    }
  }

  private async readMaxMessageBytes(admin: Admin): Promise<number | undefined> {
    try {
      const described = await admin.describeConfigs({
        resources: [{ type: TOPIC_RESOURCE, name: this.options.topic, configNames: ["max.message.bytes"] }],
        includeSynonyms: false,
      });
      const value = Number(described.resources[0]?.configEntries.find((e) => e.configName === "max.message.bytes")?.configValue);
      return Number.isSafeInteger(value) && value > 0 ? value : undefined;
    } catch (error) {
      // Not fatal: a reading too large for the topic is then refused by Kafka itself (413 all the same).
      this.options.log.warn(
        { topic: this.options.topic, error: (error as Error).message },
        `cannot read max.message.bytes of topic ${this.options.topic}: ${(error as Error).message}; Kafka will refuse readings over it`,
      );
      return undefined;
    }
  }

  private replaceProducer(error: Error): void {
    const old = this.producer;
    this.producer = undefined;
    this.options.log.warn({ error: error.message }, `the Kafka producer failed (${error.message}); connecting a new one`);
    void old?.disconnect().catch(() => undefined);
    this.startConnecting();
  }
}

/** Kafka's refusal of the records themselves, from a kafkajs error or one it wraps. */
export function recordRefusal(error: unknown): RecordsRefused | undefined {
  for (let e = error as { type?: unknown; message?: string; cause?: unknown } | undefined; e !== undefined && e !== null; e = e.cause as typeof e) {
    const type = typeof e.type === "string" ? e.type : undefined;
    const code = type === undefined ? undefined : RECORD_ERRORS[type];
    if (code !== undefined) return new RecordsRefused(`${type}: ${e.message ?? ""}`, code);
  }
  return undefined;
}
