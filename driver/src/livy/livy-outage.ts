/**
 * How long Livy has been away, for a view that keeps going while Livy blinks (a restart, a 503
 * from a proxy, a reset connection): the job runs on in Spark meanwhile, so one failed read must
 * not end the view; only an outage longer than the limit does.
 */
import type { LivyError } from "./livy-client.js";

/** The foreground view gives up after Livy stayed away this long. */
export const LIVY_OUTAGE_LIMIT_MS = 2 * 60_000;

export class LivyOutage {
  private started: number | undefined;
  private last = "";

  constructor(
    readonly limitMs: number = LIVY_OUTAGE_LIMIT_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a read that failed because Livy is away or failing. */
  failed(error: LivyError): void {
    this.started ??= this.now();
    this.last = error.message;
  }

  recovered(): void {
    this.started = undefined;
    this.last = "";
  }

  /** When the outage began, or undefined while Livy answers. */
  get since(): Date | undefined {
    return this.started === undefined ? undefined : new Date(this.started);
  }

  get cause(): string {
    return this.last;
  }

  get exceeded(): boolean {
    return this.started !== undefined && this.now() - this.started > this.limitMs;
  }
}
