/**
 * Durations as people write them in the spec ("5 minutes", "30 s", "1 hour"), normalised to
 * milliseconds and to the interval text Spark accepts in `window()` and `withWatermark()`.
 */
import { allowedHint } from "./did-you-mean.js";

export interface Duration {
  readonly ms: number;
  /** Canonical text, e.g. "5 minutes"; what the generated SQL and plan use. */
  readonly text: string;
}

const UNITS: Readonly<Record<string, { ms: number; name: string }>> = {
  ms: { ms: 1, name: "milliseconds" },
  millisecond: { ms: 1, name: "milliseconds" },
  milliseconds: { ms: 1, name: "milliseconds" },
  s: { ms: 1000, name: "seconds" },
  sec: { ms: 1000, name: "seconds" },
  second: { ms: 1000, name: "seconds" },
  seconds: { ms: 1000, name: "seconds" },
  m: { ms: 60_000, name: "minutes" },
  min: { ms: 60_000, name: "minutes" },
  minute: { ms: 60_000, name: "minutes" },
  minutes: { ms: 60_000, name: "minutes" },
  h: { ms: 3_600_000, name: "hours" },
  hour: { ms: 3_600_000, name: "hours" },
  hours: { ms: 3_600_000, name: "hours" },
  d: { ms: 86_400_000, name: "days" },
  day: { ms: 86_400_000, name: "days" },
  days: { ms: 86_400_000, name: "days" },
};

const CANONICAL_UNITS = ["milliseconds", "seconds", "minutes", "hours", "days"];

export type DurationResult = { ok: true; duration: Duration } | { ok: false; problem: string; hint: string };

export function parseDuration(text: string): DurationResult {
  const match = /^\s*(\d+)\s*([A-Za-z]+)\s*$/.exec(text);
  const example = 'write a whole number and a unit, e.g. "30 seconds", "5 minutes", "1 hour"';
  if (match === null) return { ok: false, problem: `"${text}" is not a duration`, hint: example };
  const amount = Number(match[1]);
  const unitWord = match[2]!;
  const unit = UNITS[unitWord.toLowerCase()];
  if (unit === undefined) {
    return { ok: false, problem: `"${unitWord}" is not a time unit`, hint: allowedHint(unitWord, CANONICAL_UNITS) };
  }
  if (amount === 0) return { ok: false, problem: "a duration must be longer than zero", hint: example };
  return { ok: true, duration: fromMilliseconds(amount * unit.ms) };
}

/** The largest unit that divides the duration exactly keeps the text short and exact. */
export function fromMilliseconds(ms: number): Duration {
  const ladder: Array<[number, string]> = [
    [86_400_000, "day"],
    [3_600_000, "hour"],
    [60_000, "minute"],
    [1000, "second"],
    [1, "millisecond"],
  ];
  for (const [size, name] of ladder) {
    if (ms % size === 0) {
      const count = ms / size;
      return { ms, text: `${count} ${name}${count === 1 ? "" : "s"}` };
    }
  }
  throw new Error(`unreachable: ${ms} ms`);
}
