/**
 * Sends the simulator's messages through the ingestion proxy, as a gateway does: readings as JSON
 * arrays to POST /stream, and each message that is not JSON on its own (the proxy answers 400).
 * A 503 is waited out (Retry-After) and the same request sent again, and so are the readings a
 * 207 says were not written or not acknowledged (only those), so that every reading the simulator
 * counts as sent was acknowledged by Kafka (an unacknowledged one sent again may be stored twice).
 */

export interface ProxySenderOptions {
  /** The proxy's URL; a URL without a path gets /stream. */
  readonly url: string;
  readonly token: string | undefined;
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** The proxy refused the simulator itself (a bad token, a request it cannot take). */
export class ProxySendError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = "ProxySendError";
  }
}

/** Readings per request: a batch of 100 to 500 is what gateways send, far below the body limit. */
export const READINGS_PER_REQUEST = 500;
/** How long the proxy may stay unreachable before the simulator gives up. */
const UNREACHABLE_LIMIT_MS = 60_000;

export function streamUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.pathname === "" || parsed.pathname === "/") parsed.pathname = "/stream";
  return parsed.toString();
}

export class ProxySender {
  readonly url: string;
  private waitingSince: number | undefined;

  constructor(private readonly options: ProxySenderOptions) {
    this.url = streamUrl(options.url);
  }

  /** Sends the messages; returns how many the proxy refused as invalid. */
  async send(messages: readonly string[]): Promise<{ refused: number }> {
    const readings: string[] = [];
    let refused = 0;
    for (const message of messages) {
      if (isJson(message)) readings.push(message);
      else refused += (await this.post(message, 1)).refused;
    }
    for (let i = 0; i < readings.length; i += READINGS_PER_REQUEST) {
      let batch = readings.slice(i, i + READINGS_PER_REQUEST);
      while (batch.length > 0) {
        const answer = await this.post(`[${batch.join(",")}]`, batch.length);
        refused += answer.refused;
        if (answer.again.length > 0)
          await this.waitAndRetry(`the proxy did not get ${answer.again.length} of ${batch.length} readings into Kafka`, answer.retryAfter);
        batch = answer.again.map((index) => batch[index]!);
      }
    }
    return { refused };
  }

  /** Posts one body until it is answered for good; returns the readings refused, and the indexes of those to send again. */
  private async post(body: string, readings: number): Promise<{ refused: number; again: number[]; retryAfter: number }> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.options.token !== undefined) headers.authorization = `Bearer ${this.options.token}`;
    for (;;) {
      if (this.options.signal?.aborted) return { refused: 0, again: [], retryAfter: 0 };
      let response: Response;
      try {
        response = await fetch(this.url, { method: "POST", headers, body });
      } catch (error) {
        await this.waitAndRetry(`cannot reach the proxy at ${this.url}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}`, 1);
        continue;
      }
      const text = await response.text();
      if (response.status === 503 || response.status === 429) {
        await this.waitAndRetry(`the proxy answers ${response.status} (${messageOf(text)})`, Number(response.headers.get("retry-after")) || 1);
        continue;
      }
      const answer = resultsOf(text);
      if (answer !== undefined && [200, 207, 400, 413, 422].includes(response.status)) {
        const again = answer.results.filter((r) => r.status === "not-written" || r.status === "unacknowledged").map((r) => r.index);
        if (again.length === 0) this.waitingSince = undefined;
        return { refused: answer.rejected, again, retryAfter: answer.retryAfter ?? 1 };
      }
      this.waitingSince = undefined;
      if (response.status === 400) return { refused: readings, again: [], retryAfter: 0 };
      if (response.status === 401) {
        throw new ProxySendError(`the proxy at ${this.url} refused the simulator (401: ${messageOf(text)})`, "set PROXY_TOKEN to one of the proxy's tokens");
      }
      throw new ProxySendError(`the proxy at ${this.url} answered ${response.status}: ${messageOf(text)}`, "see the proxy's log");
    }
  }

  private async waitAndRetry(why: string, seconds: number): Promise<void> {
    const now = Date.now();
    if (this.waitingSince === undefined) {
      this.waitingSince = now;
      this.options.log(`simulator: ${why}; sending again every ${seconds} s until it takes the readings`);
    } else if (now - this.waitingSince > UNREACHABLE_LIMIT_MS && why.startsWith("cannot reach")) {
      throw new ProxySendError(`${why} (for ${Math.round((now - this.waitingSince) / 1000)} s)`, "is the proxy running? sensor-streaming proxy --help");
    }
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.options.signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, seconds * 1000);
      this.options.signal?.addEventListener("abort", done, { once: true });
    });
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The per-reading answer of POST /stream, when the body is one. */
function resultsOf(text: string): { rejected: number; retryAfter?: number; results: Array<{ index: number; status: string }> } | undefined {
  try {
    const body = JSON.parse(text) as { rejected?: unknown; results?: unknown };
    return typeof body.rejected === "number" && Array.isArray(body.results) ? (body as ReturnType<typeof resultsOf>) : undefined;
  } catch {
    return undefined;
  }
}

function messageOf(text: string): string {
  try {
    return (JSON.parse(text) as { message?: string }).message ?? text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}
