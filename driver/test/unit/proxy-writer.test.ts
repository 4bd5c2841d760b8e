/**
 * The proxy's group commit to Kafka, with a fake `send` standing in for the kafkajs producer (the
 * real one is exercised by driver/test/e2e/proxy.e2e.test.ts): requests that arrive while a write
 * is in flight go together in the next; a request is answered only when all its readings have an
 * outcome; an overdue or failed write is NotAcknowledged, and what was not sent by then never is;
 * a request written in part says which readings; a reading Kafka refuses fails only itself.
 * KafkaTarget's own part (fail at once without a producer, which errors are the records' fault)
 * is checked without a broker: its port is closed.
 */
import { createServer, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import kafkajs from "kafkajs";
import { afterEach, describe, expect, it } from "vitest";
import { GroupCommitWriter, NotAcknowledged, NotSent, RecordsRefused, type KafkaRecord, type RecordOutcome } from "../../src/proxy/group-commit-writer.js";
import { KafkaTarget, recordRefusal } from "../../src/proxy/kafka-target.js";

interface FakeKafka {
  readonly writes: KafkaRecord[][];
  send(records: readonly KafkaRecord[]): Promise<void>;
  /** Acknowledges (or fails) the oldest write still open. */
  settle(error?: Error): void;
  readonly open: number;
}

/** A Kafka that acknowledges a write only when the test says so. */
function fakeKafka(): FakeKafka {
  const writes: KafkaRecord[][] = [];
  const pending: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  return {
    writes,
    send(records) {
      writes.push([...records]);
      return new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
    },
    settle(error) {
      const next = pending.shift();
      if (next === undefined) throw new Error("no write in flight");
      if (error === undefined) next.resolve();
      else next.reject(error);
    },
    get open() {
      return pending.length;
    },
  };
}

const record = (key: string, value = `{"id":"${key}"}`): KafkaRecord => ({ key, value });
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const keys = (writes: KafkaRecord[][]): string[][] => writes.map((w) => w.map((r) => r.key!));
const statuses = (outcomes: readonly RecordOutcome[]): string[] => outcomes.map((o) => o.status);
const ACKED: readonly RecordOutcome[] = [{ status: "acknowledged" }];

describe("GroupCommitWriter", () => {
  it("sends the first request at once and the requests that arrive meanwhile as one write", async () => {
    const kafka = fakeKafka();
    const writer = new GroupCommitWriter({ send: (r) => kafka.send(r), ackTimeoutMs: 5000, maxWriteBytes: 1 << 20 });
    const first = writer.write([record("a")]);
    const rest = [writer.write([record("b")]), writer.write([record("c"), record("d")])];
    await tick();
    expect(keys(kafka.writes)).toEqual([["a"]]);
    kafka.settle();
    expect(await first).toEqual(ACKED);
    await tick();
    expect(keys(kafka.writes)).toEqual([["a"], ["b", "c", "d"]]);
    kafka.settle();
    expect((await Promise.all(rest)).map(statuses)).toEqual([["acknowledged"], ["acknowledged", "acknowledged"]]);
  });

  it("answers a request only when every one of its readings is acknowledged, across writes (11 bytes a reading, 25 a write)", async () => {
    const kafka = fakeKafka();
    const writer = new GroupCommitWriter({ send: (r) => kafka.send(r), ackTimeoutMs: 5000, maxWriteBytes: 25 });
    let done = false;
    const big = writer.write([record("a"), record("b"), record("c")]).then(() => (done = true));
    await tick();
    expect(keys(kafka.writes)).toEqual([["a", "b"]]);
    kafka.settle();
    await tick();
    expect(done).toBe(false);
    expect(keys(kafka.writes)).toEqual([["a", "b"], ["c"]]);
    kafka.settle();
    await big;
    expect(done).toBe(true);
  });

  it("a failed write answers its requests with NotAcknowledged (they may be written); the next write goes on", async () => {
    const kafka = fakeKafka();
    const writer = new GroupCommitWriter({ send: (r) => kafka.send(r), ackTimeoutMs: 5000, maxWriteBytes: 1 << 20 });
    const first = writer.write([record("a")]);
    await tick();
    const second = writer.write([record("b")]);
    kafka.settle(new Error("Connection error: ECONNRESET"));
    await expect(first).rejects.toThrow(
      "Kafka failed the write: Connection error: ECONNRESET; they may still be written, so sending them again may store some twice",
    );
    await tick();
    kafka.settle();
    expect(await second).toEqual(ACKED);
  });

  it("a write overdue past the ack timeout: its request gets NotAcknowledged, queued ones are never sent, new ones are refused at once", async () => {
    const kafka = fakeKafka();
    const late: number[] = [];
    const writer = new GroupCommitWriter({ send: (r) => kafka.send(r), ackTimeoutMs: 100, maxWriteBytes: 1 << 20, onLateAcknowledgement: (n) => late.push(n) });
    const inFlight = writer.write([record("a"), record("b")]);
    await tick();
    const queued = writer.write([record("c")]);
    await expect(inFlight).rejects.toThrow(/did not acknowledge the readings within 100 ms; they may still be written/);
    await expect(queued).rejects.toBeInstanceOf(NotAcknowledged);
    expect(writer.stalled).toBe(true);
    const error = await writer.write([record("d")]).catch((e: NotAcknowledged) => e);
    expect(error).toBeInstanceOf(NotAcknowledged);
    expect((error as NotAcknowledged).message).toMatch(/Kafka has not acknowledged a write for \d+ s; nothing of this request was written/);
    expect((error as NotAcknowledged).retryAfterSeconds).toBe(1);
    // Kafka comes back: the overdue write lands (counted), nothing else was sent, and writes resume.
    kafka.settle();
    await tick();
    expect(late).toEqual([2]);
    expect(writer.stalled).toBe(false);
    expect(keys(kafka.writes)).toEqual([["a", "b"]]);
    const again = writer.write([record("e")]);
    await tick();
    kafka.settle();
    await again;
  });

  it("a request answered at its ack timeout has nothing more sent: its readings behind the write in flight are dropped", async () => {
    const kafka = fakeKafka();
    const writer = new GroupCommitWriter({ send: (r) => kafka.send(r), ackTimeoutMs: 100, maxWriteBytes: 25 });
    const big = writer.write([record("a"), record("b"), record("c")]);
    await tick();
    expect(keys(kafka.writes)).toEqual([["a", "b"]]);
    await expect(big).rejects.toThrow(
      "Kafka did not acknowledge the readings within 100 ms; some of them may still be written, so sending them again may store some twice",
    );
    kafka.settle();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(keys(kafka.writes), "c was answered not written, so it is never sent").toEqual([["a", "b"]]);
  });

  it("a request written in part says which readings were acknowledged and which to send again", async () => {
    const kafka = fakeKafka();
    const writer = new GroupCommitWriter({ send: (r) => kafka.send(r), ackTimeoutMs: 5000, maxWriteBytes: 25 });
    const big = writer.write([record("a"), record("b"), record("c")]);
    await tick();
    kafka.settle();
    await tick();
    kafka.settle(new Error("Connection error: ECONNRESET"));
    const outcomes = await big;
    expect(outcomes).toEqual([
      { status: "acknowledged" },
      { status: "acknowledged" },
      {
        status: "unacknowledged",
        message: "not acknowledged: Kafka failed the write: Connection error: ECONNRESET; it may still be written, so sending it again may store it twice",
      },
    ]);
  });

  it("a send that cannot start (no producer) answers at once: nothing written, the rest of the batch not tried", async () => {
    const sent: string[][] = [];
    const writer = new GroupCommitWriter({
      send: async (records) => {
        sent.push(records.map((r) => r.key!));
        throw new NotSent("Kafka at localhost:9092 is not connected (the producer is connecting)");
      },
      ackTimeoutMs: 5000,
      maxWriteBytes: 25,
    });
    await expect(writer.write([record("a"), record("b"), record("c")])).rejects.toThrow(
      "Kafka at localhost:9092 is not connected (the producer is connecting); nothing of this request was written",
    );
    expect(sent).toEqual([["a", "b"]]);
  });

  it("one reading Kafka refuses fails only itself: the produce request is written again request by request, then reading by reading", async () => {
    const sent: string[][] = [];
    const writes: string[] = [];
    const writer = new GroupCommitWriter({
      send: async (records) => {
        sent.push(records.map((r) => r.key!));
        if (records.some((r) => r.key === "big"))
          throw new RecordsRefused(
            "MESSAGE_TOO_LARGE: The request included a message larger than the max message size the server will accept",
            "record-too-large",
          );
        await new Promise((resolve) => setTimeout(resolve, 5));
      },
      ackTimeoutMs: 5000,
      maxWriteBytes: 1 << 20,
      onWrite: (_records, _seconds, outcome) => writes.push(outcome),
    });
    const first = writer.write([record("a")]);
    const mixed = writer.write([record("b"), record("big"), record("c")]);
    const alone = writer.write([record("big")]);
    const last = writer.write([record("d")]);
    expect(await first).toEqual(ACKED);
    const refusal = {
      status: "refused",
      code: "record-too-large",
      message: "Kafka refused this reading: MESSAGE_TOO_LARGE: The request included a message larger than the max message size the server will accept",
    };
    expect(await mixed).toEqual([{ status: "acknowledged" }, refusal, { status: "acknowledged" }]);
    expect(await alone).toEqual([refusal]);
    expect(await last).toEqual(ACKED);
    expect(sent).toEqual([["a"], ["b", "big", "c", "big", "d"], ["b", "big", "c"], ["b"], ["big"], ["c"], ["big"], ["d"]]);
    expect(
      writes.filter((w) => w === "failed"),
      "no write counted as a Kafka failure",
    ).toEqual([]);
  });

  it("a reading larger than the topic's max.message.bytes is refused without being sent; a write stays under half of it", async () => {
    const kafka = fakeKafka();
    const writer = new GroupCommitWriter({ send: (r) => kafka.send(r), ackTimeoutMs: 5000, maxWriteBytes: 1 << 20, maxMessageBytes: () => 400 });
    const answer = writer.write([record("a", "x".repeat(100)), record("b", "y".repeat(300)), record("c", "z".repeat(100))]);
    await tick();
    expect(keys(kafka.writes)).toEqual([["a"]]);
    kafka.settle();
    await tick();
    expect(keys(kafka.writes)).toEqual([["a"], ["c"]]);
    kafka.settle();
    const outcomes = await answer;
    expect(statuses(outcomes)).toEqual(["acknowledged", "refused", "acknowledged"]);
    expect(outcomes[1]).toMatchObject({
      code: "record-too-large",
      message: expect.stringMatching(/it is 429 bytes, and the topic takes messages of at most 400 bytes \(max.message.bytes\)$/),
    });
  });

  it("close answers queued requests and refuses new ones", async () => {
    const kafka = fakeKafka();
    const writer = new GroupCommitWriter({ send: (r) => kafka.send(r), ackTimeoutMs: 5000, maxWriteBytes: 1 << 20 });
    const inFlight = writer.write([record("a")]);
    await tick();
    const queued = writer.write([record("b")]);
    const closing = writer.close();
    await expect(queued).rejects.toThrow(/shutting down/);
    await expect(writer.write([record("c")])).rejects.toThrow(/shutting down/);
    kafka.settle();
    await inFlight;
    await closing;
    expect(kafka.writes).toHaveLength(1);
  });
});

describe("KafkaTarget without a broker", () => {
  let closed: Server | undefined;
  afterEach(() => closed?.close());

  /** A port that accepts connections and closes them at once: Kafka that does not answer. */
  async function deadBroker(): Promise<string> {
    closed = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => closed!.listen(0, "127.0.0.1", resolve));
    return `127.0.0.1:${(closed.address() as AddressInfo).port}`;
  }

  it("a send fails at once while no producer is connected, and close() stops the connecting at once", async () => {
    const broker = await deadBroker();
    const warnings: string[] = [];
    const log = { info: () => undefined, warn: (_f: object, m: string) => warnings.push(m), error: () => undefined };
    const target = new KafkaTarget({ brokers: [broker], topic: "proxy-fix-unit", log });
    target.start();
    const started = Date.now();
    await expect(target.send([record("a")])).rejects.toBeInstanceOf(NotSent);
    await expect(target.send([record("a")])).rejects.toThrow(`Kafka at ${broker} is not connected (the producer is connecting)`);
    expect(Date.now() - started).toBeLessThan(500);
    const closing = Date.now();
    await target.close();
    expect(Date.now() - closing).toBeLessThan(2000);
    await expect(target.send([record("a")])).rejects.toThrow("the proxy is shutting down");
  });

  it("tells Kafka's refusals of the records themselves from its failures", () => {
    // kafkajs's error classes, as it throws them (Node's ESM loader does not see them as named exports).
    type ErrorClass = new (e: unknown, options?: unknown) => Error;
    const { KafkaJSProtocolError, KafkaJSNonRetriableError, KafkaJSConnectionError } = kafkajs as unknown as Record<
      "KafkaJSProtocolError" | "KafkaJSNonRetriableError" | "KafkaJSConnectionError",
      ErrorClass
    >;
    const tooLarge = new KafkaJSProtocolError({
      type: "MESSAGE_TOO_LARGE",
      code: 10,
      retriable: false,
      message: "The request included a message larger than the max message size the server will accept",
    });
    expect(recordRefusal(tooLarge)).toMatchObject({
      code: "record-too-large",
      message: "MESSAGE_TOO_LARGE: The request included a message larger than the max message size the server will accept",
    });
    const invalid = new KafkaJSProtocolError({
      type: "INVALID_RECORD",
      code: 87,
      retriable: false,
      message: "This record has failed the validation on broker and hence be rejected",
    });
    expect(recordRefusal(new KafkaJSNonRetriableError(invalid, { cause: invalid }))).toMatchObject({ code: "record-refused" });
    const sequence = new KafkaJSProtocolError({
      type: "OUT_OF_ORDER_SEQUENCE_NUMBER",
      code: 45,
      retriable: false,
      message: "The broker received an out of order sequence number",
    });
    expect(recordRefusal(sequence)).toBeUndefined();
    expect(recordRefusal(new KafkaJSConnectionError("Connection error: ECONNREFUSED"))).toBeUndefined();
  });
});
