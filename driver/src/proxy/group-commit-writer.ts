/**
 * Writes the readings of many HTTP requests to Kafka as few produce requests: one write is in
 * flight at a time, and the readings that arrive meanwhile go together in the next (group
 * commit, as databases do with their log). An idle proxy sends a reading at once; a busy one
 * sends bigger batches, so single-reading requests still reach Kafka at batch speed.
 *
 * Each request is told what became of each of its readings:
 * - acknowledged: Kafka has it (acks=-1);
 * - refused: Kafka refused that reading for what it is (too large, invalid); sending it again
 *   fails again. The other readings of a produce request Kafka refused this way are written again
 *   request by request (and reading by reading within the refused request), so one unwritable
 *   reading fails only itself. (Kafka judges each partition's records on their own: when the
 *   refused produce request spanned several partitions, the others' readings may have been written,
 *   their second write then fails on the producer's sequence numbers, and they are answered
 *   unacknowledged. Refusing a reading over the topic's max.message.bytes before it is sent makes
 *   this rare.);
 * - not written: never sent (it waited for its turn when the ack timeout ran out, or no producer
 *   was connected); sending it again is safe;
 * - unacknowledged: it was on the wire when the ack timeout ran out, or in a produce request that
 *   failed; it may still be written (kafkajs goes on retrying, and stopping it halfway could not
 *   take back what the broker has), so a client that sends it again may store it twice: at least
 *   once, never lost. The `onLateAcknowledgement` hook counts those that land afterwards.
 * A request answered before all its readings were sent (its ack timeout ran out) has its other
 * readings dropped: nothing of it is sent after its answer. When no reading of a request got a
 * final answer (acknowledged or refused), the request is rejected with NotAcknowledged as a whole.
 * While the write in flight is overdue, Kafka is taken as unavailable: new requests are refused
 * at once rather than queued behind it, so memory stays bounded during an outage.
 */

export interface KafkaRecord {
  /** The device id: one device's readings share a partition and keep their order. */
  readonly key: string | undefined;
  readonly value: string;
}

export type RefusalCode = "record-too-large" | "record-refused";

/** What became of one reading handed to the writer. */
export type RecordOutcome =
  | { readonly status: "acknowledged" }
  | { readonly status: "refused"; readonly code: RefusalCode; readonly message: string }
  | { readonly status: "not-written"; readonly message: string }
  | { readonly status: "unacknowledged"; readonly message: string };

/**
 * Sends records with acks=-1; resolves when Kafka acknowledged all of them. It throws NotSent
 * when nothing was sent, RecordsRefused when Kafka refused the records themselves, anything else
 * when the write failed and may have been written in part.
 */
export type SendRecords = (records: readonly KafkaRecord[]) => Promise<void>;

/** Nothing of the records reached Kafka (no producer is connected): sending them again is safe. */
export class NotSent extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotSent";
  }
}

/** Kafka refused the records for what they are, not for its own state: as they are, they never go in. */
export class RecordsRefused extends Error {
  constructor(
    message: string,
    readonly code: RefusalCode,
  ) {
    super(message);
    this.name = "RecordsRefused";
  }
}

/** Kafka took none of a request's readings for good; the client should send them again later. */
export class NotAcknowledged extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = "NotAcknowledged";
  }
}

export type WriteOutcome = "acknowledged" | "refused" | "failed" | "not-sent";

export interface GroupCommitOptions {
  readonly send: SendRecords;
  readonly ackTimeoutMs: number;
  /**
   * Upper bound of the keys and values of one produce request, in bytes. Kafka refuses a record
   * batch over the topic's `max.message.bytes` (1 MB by default) and one partition's readings
   * of a request form one record batch. https://kafka.apache.org/documentation/#topicconfigs_max.message.bytes
   */
  readonly maxWriteBytes: number;
  /**
   * The topic's `max.message.bytes`, once known: a produce request stays under half of it, and
   * a reading that cannot fit in a record batch of its own is refused without being sent.
   */
  readonly maxMessageBytes?: () => number | undefined;
  /** Called after each produce request (or a send that could not start) with its readings, seconds and outcome. */
  readonly onWrite?: (records: number, seconds: number, outcome: WriteOutcome) => void;
  /** Readings acknowledged after their request was answered without them. */
  readonly onLateAcknowledgement?: (records: number) => void;
}

/**
 * What a record batch of one record adds to its key and value: the batch header (61 bytes) and
 * the record's own fields (at most 21 bytes for small keys and values), with room to spare.
 * https://kafka.apache.org/documentation/#recordbatch
 */
const RECORD_BATCH_OVERHEAD = 128;

/** Where a reading is: waiting for its turn, on the wire, or done. */
type RecordState = "queued" | "sending" | RecordOutcome;

interface Pending {
  readonly records: readonly KafkaRecord[];
  readonly bytes: number;
  readonly states: RecordState[];
  /** Answered: every reading has its outcome, or the request was cut short (timed out, refused). */
  answered: boolean;
  readonly resolve: (outcomes: readonly RecordOutcome[]) => void;
  readonly reject: (error: NotAcknowledged) => void;
  timer?: NodeJS.Timeout;
}

interface Entry {
  readonly record: KafkaRecord;
  readonly owner: Pending;
  readonly index: number;
}

/** Why the readings of a request that was cut short did not get in: for those never sent, and for those sent. */
interface Cause {
  readonly queued: string;
  readonly sending: string;
}

export class GroupCommitWriter {
  private readonly queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  /** When the produce request in flight was sent, if one is. */
  private inFlightSince: number | undefined;
  /** A request timed out waiting for the produce request in flight. */
  private inFlightOverdue = false;
  private closed = false;
  /** Seconds a client should wait before sending again what Kafka did not take: the ack timeout. */
  readonly retryAfterSeconds: number;

  constructor(private readonly options: GroupCommitOptions) {
    this.retryAfterSeconds = Math.max(1, Math.ceil(options.ackTimeoutMs / 1000));
  }

  /** True while a write has waited longer than the ack timeout: Kafka does not take writes now. */
  get stalled(): boolean {
    return this.inFlightSince !== undefined && (this.inFlightOverdue || Date.now() - this.inFlightSince > this.options.ackTimeoutMs);
  }

  /** Resolves with the outcome of each record, in order; rejects when none was acknowledged or refused. */
  write(records: readonly KafkaRecord[]): Promise<readonly RecordOutcome[]> {
    if (records.length === 0) return Promise.resolve([]);
    if (this.closed) return Promise.reject(this.nothingWritten("the proxy is shutting down"));
    if (this.stalled) return Promise.reject(this.nothingWritten(this.overdueCause()));
    return new Promise((resolve, reject) => {
      const bytes = records.reduce((sum, r) => sum + recordBytes(r), 0);
      const pending: Pending = { records, bytes, states: records.map(() => "queued"), answered: false, resolve, reject };
      pending.timer = setTimeout(() => this.expire(pending), this.options.ackTimeoutMs);
      this.queue.push(pending);
      this.kick();
    });
  }

  /** Refuses new writes, answers the queued ones, and waits for the write in flight (if any). */
  async close(): Promise<void> {
    this.closed = true;
    this.shed({ queued: "the proxy is shutting down", sending: "the proxy is shutting down" });
    await this.flushing;
  }

  private nothingWritten(cause: string): NotAcknowledged {
    return new NotAcknowledged(`${cause}; nothing of this request was written`, this.retryAfterSeconds);
  }

  private overdueCause(): string {
    return `Kafka has not acknowledged a write for ${Math.round((Date.now() - (this.inFlightSince ?? Date.now())) / 1000)} s`;
  }

  private expire(pending: Pending): void {
    if (pending.answered) return;
    const queued = this.queue.indexOf(pending);
    if (queued >= 0) this.queue.splice(queued, 1);
    const onTheWire = pending.states.includes("sending");
    const ms = this.options.ackTimeoutMs;
    this.cutShort(pending, { queued: `Kafka did not take the readings within ${ms} ms`, sending: `Kafka did not acknowledge the readings within ${ms} ms` });
    // The write in flight is overdue: what waits behind it would only time out too.
    if (onTheWire) {
      this.inFlightOverdue = true;
      const cause = this.overdueCause();
      this.shed({ queued: cause, sending: cause });
    }
  }

  private shed(cause: Cause): void {
    for (const pending of this.queue.splice(0)) this.cutShort(pending, cause);
  }

  private kick(): void {
    if (this.flushing !== undefined || this.queue.length === 0) return;
    this.flushing = this.flush().finally(() => {
      this.flushing = undefined;
      this.kick();
    });
  }

  /** Sends the queued requests that fit in one write (at least one); a bigger request goes in several. */
  private async flush(): Promise<void> {
    const limit = this.options.maxMessageBytes?.();
    const maxWriteBytes = limit === undefined ? this.options.maxWriteBytes : Math.max(1, Math.min(this.options.maxWriteBytes, Math.floor(limit / 2)));
    const batch: Pending[] = [];
    let bytes = 0;
    while (this.queue.length > 0 && (batch.length === 0 || bytes + this.queue[0]!.bytes <= maxWriteBytes)) {
      const next = this.queue.shift()!;
      batch.push(next);
      bytes += next.bytes;
    }
    if (limit !== undefined) for (const pending of batch) this.refuseOversized(pending, limit);
    for (const chunk of chunks(batch, maxWriteBytes)) {
      // A request answered meanwhile (its ack timeout ran out) has nothing more sent.
      const live = chunk.filter((e) => !e.owner.answered);
      if (live.length === 0) continue;
      const failure = await this.writeEntries(live);
      if (failure !== undefined) {
        // The producer failed: the rest of the batch is not sent (kafka-target fails at once until a new producer is connected).
        for (const pending of batch) this.cutShort(pending, { queued: failure, sending: failure });
        return;
      }
    }
  }

  /** Refuses, without sending them, the readings that cannot fit in a record batch of their own. */
  private refuseOversized(pending: Pending, limit: number): void {
    pending.records.forEach((record, index) => {
      const size = recordBytes(record) + RECORD_BATCH_OVERHEAD;
      if (size <= limit) return;
      pending.states[index] = {
        status: "refused",
        code: "record-too-large",
        message:
          `Kafka cannot take this reading: with its key and a record batch's overhead it is ${size} bytes, ` +
          `and the topic takes messages of at most ${limit} bytes (max.message.bytes)`,
      };
    });
    this.settleIfDone(pending);
  }

  /**
   * Sends entries as one produce request. On a refusal of the records themselves, writes them
   * again request by request to find the ones Kafka refuses. Returns why the write failed when
   * Kafka itself failed, else undefined.
   */
  private async writeEntries(entries: readonly Entry[]): Promise<string | undefined> {
    const result = await this.send(entries);
    if (result === undefined) return undefined;
    if (result instanceof RecordsRefused) return this.isolate(entries);
    return this.failed(entries, result);
  }

  /** Writes each request's entries on their own, then each reading of a request Kafka refuses. */
  private async isolate(entries: readonly Entry[]): Promise<string | undefined> {
    for (const group of byOwner(entries)) {
      if (group[0]!.owner.answered) continue;
      const result = await this.send(group);
      if (result === undefined) continue;
      if (!(result instanceof RecordsRefused)) return this.failed(group, result, true);
      if (group.length === 1) {
        this.refuse(group[0]!, result);
        continue;
      }
      for (const entry of group) {
        if (entry.owner.answered) break;
        const single = await this.send([entry]);
        if (single instanceof RecordsRefused) this.refuse(entry, single);
        else if (single !== undefined) return this.failed([entry], single, true);
      }
    }
    return undefined;
  }

  private refuse(entry: Entry, refusal: RecordsRefused): void {
    entry.owner.states[entry.index] = { status: "refused", code: refusal.code, message: `Kafka refused this reading: ${refusal.message}` };
    this.settleIfDone(entry.owner);
  }

  /**
   * The cause of a failed write, with its entries' states set: back to queued (not written) when
   * nothing was sent, else left on the wire (may be written). Entries of a produce request Kafka
   * refused in part (`retried`) may have been written by it, whatever the retry did.
   */
  private failed(entries: readonly Entry[], error: Error, retried = false): string {
    if (error instanceof NotSent && !retried) for (const e of entries) if (!e.owner.answered) e.owner.states[e.index] = "queued";
    return error instanceof NotSent ? error.message : `Kafka failed the write: ${error.message}`;
  }

  /** One produce request: undefined when acknowledged, else the error. */
  private async send(entries: readonly Entry[]): Promise<Error | undefined> {
    for (const e of entries) e.owner.states[e.index] = "sending";
    const started = performance.now();
    this.inFlightSince = Date.now();
    try {
      await this.options.send(entries.map((e) => e.record));
    } catch (error) {
      const outcome: WriteOutcome = error instanceof NotSent ? "not-sent" : error instanceof RecordsRefused ? "refused" : "failed";
      this.options.onWrite?.(entries.length, (performance.now() - started) / 1000, outcome);
      return error instanceof Error ? error : new Error(String(error));
    } finally {
      this.inFlightSince = undefined;
      this.inFlightOverdue = false;
    }
    this.options.onWrite?.(entries.length, (performance.now() - started) / 1000, "acknowledged");
    let late = 0;
    for (const { owner, index } of entries) {
      if (owner.answered) late += 1;
      owner.states[index] = { status: "acknowledged" };
    }
    if (late > 0) this.options.onLateAcknowledgement?.(late);
    for (const owner of new Set(entries.map((e) => e.owner))) this.settleIfDone(owner);
    return undefined;
  }

  private settleIfDone(pending: Pending): void {
    if (!pending.answered && pending.states.every((s) => typeof s === "object")) this.answer(pending);
  }

  /** Answers a request now: its readings still waiting are not written, those on the wire unacknowledged. */
  private cutShort(pending: Pending, cause: Cause): void {
    if (pending.answered) return;
    pending.states.forEach((state, i) => {
      if (state === "queued") pending.states[i] = { status: "not-written", message: `not written: ${cause.queued}; send it again` };
      else if (state === "sending") {
        pending.states[i] = {
          status: "unacknowledged",
          message: `not acknowledged: ${cause.sending}; it may still be written, so sending it again may store it twice`,
        };
      }
    });
    const outcomes = pending.states as RecordOutcome[];
    if (outcomes.some((o) => o.status === "acknowledged" || o.status === "refused")) {
      this.answer(pending);
      return;
    }
    const unacknowledged = outcomes.filter((o) => o.status === "unacknowledged").length;
    const error =
      unacknowledged === 0
        ? this.nothingWritten(cause.queued)
        : new NotAcknowledged(
            `${cause.sending}; ${unacknowledged === outcomes.length ? "they" : "some of them"} may still be written, ` +
              "so sending them again may store some twice",
            this.retryAfterSeconds,
          );
    this.answer(pending, error);
  }

  private answer(pending: Pending, error?: NotAcknowledged): void {
    if (pending.answered) return;
    pending.answered = true;
    clearTimeout(pending.timer);
    // A copy: a late acknowledgement changes the states, not the answer given.
    if (error === undefined) pending.resolve([...(pending.states as RecordOutcome[])]);
    else pending.reject(error);
  }
}

function recordBytes(record: KafkaRecord): number {
  return Buffer.byteLength(record.value) + (record.key === undefined ? 0 : Buffer.byteLength(record.key));
}

/** The batch's readings still queued, in produce requests of at most maxBytes (at least one reading each). */
function* chunks(batch: readonly Pending[], maxBytes: number): Generator<Entry[]> {
  let chunk: Entry[] = [];
  let bytes = 0;
  for (const owner of batch) {
    for (const [index, record] of owner.records.entries()) {
      if (owner.states[index] !== "queued") continue;
      const size = recordBytes(record);
      if (chunk.length > 0 && bytes + size > maxBytes) {
        yield chunk;
        chunk = [];
        bytes = 0;
      }
      chunk.push({ record, owner, index });
      bytes += size;
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** Entries grouped by their request, in order. */
function byOwner(entries: readonly Entry[]): Entry[][] {
  const groups = new Map<Pending, Entry[]>();
  for (const entry of entries) {
    const group = groups.get(entry.owner);
    if (group === undefined) groups.set(entry.owner, [entry]);
    else group.push(entry);
  }
  return [...groups.values()];
}
