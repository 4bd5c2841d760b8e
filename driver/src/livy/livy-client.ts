/**
 * A small typed client of the Apache Livy REST API, batches only.
 * https://livy.incubator.apache.org/docs/latest/rest-api.html
 *
 * Every call has a time-out; reads are retried with backoff while Livy is away or failing (not
 * yet up, restarting, a 503 from a proxy); a request Livy rejects raises a LivyError carrying
 * Livy's own message, never its HTML error page.
 */
import fetch, { FetchError, type RequestInit } from "node-fetch";

export type BatchState = "not_started" | "starting" | "running" | "idle" | "busy" | "shutting_down" | "error" | "dead" | "killed" | "success" | "recovering";

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
    /** HTTP status, or undefined when Livy could not be reached or gave no usable answer. */
    readonly status: number | undefined,
    /** Livy's own message, when it sent one (HTML stripped, cut to a readable length). */
    readonly livyMessage?: string,
    /** The network error's code (ECONNREFUSED, ECONNRESET, ...), when there was one. */
    readonly code?: string,
  ) {
    super(message);
    this.name = "LivyError";
  }

  /** Livy is away or failing (no answer, or HTTP 5xx), rather than refusing what was asked. */
  get unavailable(): boolean {
    return this.status === undefined || this.status >= 500;
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

  /**
   * Retries what is safe to repeat: a read (GET) whenever Livy is away or failing (no answer,
   * reset, HTTP 5xx while Livy restarts); other requests only when they never reached Livy. A
   * POST whose connection was reset may already have created a batch, so it is retried only when
   * refused outright.
   */
  private retryable(method: string, error: LivyError): boolean {
    if (method === "GET") return error.unavailable;
    const codes = method === "POST" ? ["ECONNREFUSED"] : ["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH"];
    return error.status === undefined && codes.includes(error.code ?? "");
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let backoff = this.backoffMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once<T>(method, path, body);
      } catch (error) {
        if (!(error instanceof LivyError) || !this.retryable(method, error) || attempt >= this.attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff *= 2;
      }
    }
  }

  private async once<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = {
      method,
      headers: { "Content-Type": "application/json", "X-Requested-By": "sensor-streaming" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    };
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    let text: string;
    let status: number;
    try {
      const response = await fetch(`${this.base}${path}`, { ...init, signal: controller.signal });
      text = await response.text();
      status = response.status;
      if (!response.ok) {
        const livyMessage = shortMessage(text);
        throw new LivyError(
          `Livy answered ${method} ${path} with HTTP ${status}${response.statusText ? ` ${response.statusText}` : ""}: ${livyMessage}`,
          status,
          livyMessage,
        );
      }
    } catch (error) {
      if (error instanceof LivyError) throw error;
      const reason = (error as Error).name === "AbortError" ? `no answer within ${this.timeoutMs / 1000} s` : (error as Error).message;
      throw new LivyError(
        `cannot reach Livy at ${this.base} (${method} ${path}): ${reason}`,
        undefined,
        undefined,
        error instanceof FetchError ? error.code : undefined,
      );
    } finally {
      clearTimeout(timer);
    }
    try {
      return (text === "" ? {} : JSON.parse(text)) as T;
    } catch {
      // A proxy in front of Livy can answer with its own page: not Livy's answer.
      throw new LivyError(`Livy at ${this.base} answered ${method} ${path} (HTTP ${status}) with something other than JSON: ${shortMessage(text)}`, undefined);
    }
  }
}

const MAX_MESSAGE = 500;

/**
 * Livy's own message for the user: the `msg` of its JSON error, or the text of an HTML error page
 * (Jetty's, a proxy's) without its markup, whitespace collapsed and cut to a readable length.
 */
export function shortMessage(text: string): string {
  let plain = text;
  try {
    const json = JSON.parse(text) as { msg?: unknown; message?: unknown };
    plain = String(json.msg ?? json.message ?? text);
  } catch {
    if (/<\/?[a-z!][^>]*>/i.test(text)) plain = htmlText(text);
  }
  plain = plain.replace(/\s+/g, " ").trim();
  if (plain === "") return "(no message)";
  return plain.length > MAX_MESSAGE ? `${plain.slice(0, MAX_MESSAGE - 1)}…` : plain;
}

const ENTITIES: Readonly<Record<string, string>> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " ", "#39": "'" };

function htmlText(html: string): string {
  return html
    .replace(/<(head|script|style)\b[\s\S]*?<\/\1\s*>/gi, " ")
    .replace(/<[^>]*>/g, " ")
    .replace(/&(amp|lt|gt|quot|apos|nbsp|#39);/g, (_, name: string) => ENTITIES[name] ?? " ");
}
