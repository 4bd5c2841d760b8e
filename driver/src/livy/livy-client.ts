/**
 * A small typed client of the Apache Livy REST API, batches only.
 * https://livy.incubator.apache.org/docs/latest/rest-api.html
 *
 * Every call has a time-out; connection failures (Livy restarting, not yet up) are retried with
 * backoff; a request Livy rejects raises a LivyError carrying Livy's own message.
 */
import fetch, { FetchError, type RequestInit } from "node-fetch";

export type BatchState =
  | "not_started"
  | "starting"
  | "running"
  | "idle"
  | "busy"
  | "shutting_down"
  | "error"
  | "dead"
  | "killed"
  | "success"
  | "recovering";

/** States after which a batch never runs again. */
export const FINAL_STATES: readonly BatchState[] = ["error", "dead", "killed", "success"];

export interface Batch {
  readonly id: number;
  readonly name?: string | null;
  readonly state: BatchState;
  readonly appId: string | null;
  readonly appInfo: Readonly<Record<string, string | null>>;
  readonly log: readonly string[];
}

export interface BatchRequest {
  readonly file: string;
  readonly className?: string;
  readonly args?: readonly string[];
  readonly jars?: readonly string[];
  readonly files?: readonly string[];
  readonly conf?: Readonly<Record<string, string>>;
  readonly name?: string;
  readonly driverMemory?: string;
}

export interface LogPage {
  readonly id: number;
  readonly from: number;
  readonly total: number;
  readonly log: readonly string[];
}

export class LivyError extends Error {
  constructor(
    message: string,
    /** HTTP status, or undefined when Livy could not be reached. */
    readonly status: number | undefined,
    /** Livy's own message, when it sent one. */
    readonly livyMessage?: string,
  ) {
    super(message);
    this.name = "LivyError";
  }
}

export interface LivyClientOptions {
  readonly timeoutMs?: number;
  /** Attempts for a request that cannot connect. */
  readonly attempts?: number;
  readonly backoffMs?: number;
}

export class LivyClient {
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly backoffMs: number;

  constructor(url: string, options: LivyClientOptions = {}) {
    this.base = url.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.attempts = options.attempts ?? 4;
    this.backoffMs = options.backoffMs ?? 500;
  }

  get url(): string {
    return this.base;
  }

  submit(request: BatchRequest): Promise<Batch> {
    return this.call<Batch>("POST", "/batches", request);
  }

  batch(id: number): Promise<Batch> {
    return this.call<Batch>("GET", `/batches/${id}`);
  }

  async state(id: number): Promise<BatchState> {
    return (await this.call<{ id: number; state: BatchState }>("GET", `/batches/${id}/state`)).state;
  }

  log(id: number, from: number, size: number): Promise<LogPage> {
    return this.call<LogPage>("GET", `/batches/${id}/log?from=${from}&size=${size}`);
  }

  async list(): Promise<Batch[]> {
    const page = await this.call<{ sessions: Batch[] }>("GET", "/batches?from=0&size=1000");
    return page.sessions;
  }

  async delete(id: number): Promise<void> {
    await this.call<unknown>("DELETE", `/batches/${id}`);
  }

  /** The batch, or undefined when Livy no longer knows it (finished long ago, Livy restarted). */
  async find(id: number): Promise<Batch | undefined> {
    try {
      return await this.batch(id);
    } catch (error) {
      if (error instanceof LivyError && error.status === 404) return undefined;
      throw error;
    }
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = {
      method,
      headers: { "Content-Type": "application/json", "X-Requested-By": "sensor-streaming" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    };
    let backoff = this.backoffMs;
    for (let attempt = 1; ; attempt++) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), this.timeoutMs);
      try {
        const response = await fetch(`${this.base}${path}`, { ...init, signal: controller.signal });
        const text = await response.text();
        if (!response.ok) {
          const livyMessage = livyMessageOf(text);
          throw new LivyError(`Livy answered ${method} ${path} with HTTP ${response.status}: ${livyMessage}`, response.status, livyMessage);
        }
        return (text === "" ? {} : JSON.parse(text)) as T;
      } catch (error) {
        if (error instanceof LivyError) throw error;
        const reason = (error as Error).name === "AbortError" ? `no answer within ${this.timeoutMs / 1000} s` : (error as FetchError).message;
        // Only a request that never reached Livy is safe to repeat: a POST whose connection was
        // reset may already have created a batch, so it is retried only when refused outright.
        const retryable = method === "POST" ? ["ECONNREFUSED"] : ["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH"];
        const connectFailed = error instanceof FetchError && retryable.includes((error as FetchError).code ?? "");
        if (!connectFailed || attempt >= this.attempts) {
          throw new LivyError(`cannot reach Livy at ${this.base} (${method} ${path}): ${reason}`, undefined);
        }
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff *= 2;
      } finally {
        clearTimeout(timer);
      }
    }
  }
}

function livyMessageOf(text: string): string {
  try {
    const json = JSON.parse(text) as { msg?: string; message?: string };
    return json.msg ?? json.message ?? text.trim();
  } catch {
    return text.trim() || "(no message)";
  }
}
