import { describe, expect, it } from "vitest";
import { fromMilliseconds, parseDuration, type DurationResult } from "../../src/spec/duration.js";

const UNIT_LIST = "allowed: milliseconds, seconds, minutes, hours, days";

function ok(result: DurationResult): { ms: number; text: string } {
  if (!result.ok) throw new Error(`expected a duration, got problem: ${result.problem}`);
  return { ms: result.duration.ms, text: result.duration.text };
}

function problem(result: DurationResult): { problem: string; hint: string } {
  if (result.ok) throw new Error(`expected a problem, got ${result.duration.text}`);
  return { problem: result.problem, hint: result.hint };
}

describe("parseDuration", () => {
  it.each([
    ["5 minutes", 300_000, "5 minutes"],
    ["1 minute", 60_000, "1 minute"],
    ["90 s", 90_000, "90 seconds"],
    ["120 seconds", 120_000, "2 minutes"],
    ["60 min", 3_600_000, "1 hour"],
    ["24 hours", 86_400_000, "1 day"],
    ["2 d", 172_800_000, "2 days"],
    ["1500 ms", 1_500, "1500 milliseconds"],
    ["1000 milliseconds", 1_000, "1 second"],
    ["30 sec", 30_000, "30 seconds"],
    ["1 h", 3_600_000, "1 hour"],
  ])("parses %j as %d ms, canonical %j", (text, ms, canonical) => {
    expect(ok(parseDuration(text))).toEqual({ ms, text: canonical });
  });

  it("accepts surrounding blanks, no blank before the unit, and any letter case", () => {
    expect(ok(parseDuration("  15 m  "))).toEqual({ ms: 900_000, text: "15 minutes" });
    expect(ok(parseDuration("5minutes"))).toEqual({ ms: 300_000, text: "5 minutes" });
    expect(ok(parseDuration("5 MINUTES"))).toEqual({ ms: 300_000, text: "5 minutes" });
  });

  it('rejects a misspelt unit with a did-you-mean: "5 minuts" -> "minutes"', () => {
    expect(problem(parseDuration("5 minuts"))).toEqual({
      problem: '"minuts" is not a time unit',
      hint: `did you mean "minutes"? ${UNIT_LIST}`,
    });
  });

  it("lists the units without a suggestion when nothing is close", () => {
    expect(problem(parseDuration("3 fortnights"))).toEqual({
      problem: '"fortnights" is not a time unit',
      hint: UNIT_LIST,
    });
  });

  it('rejects "0 seconds": a duration must be longer than zero', () => {
    const p = problem(parseDuration("0 seconds"));
    expect(p.problem).toBe("a duration must be longer than zero");
    expect(p.hint).toContain('"30 seconds"');
  });

  it.each(["", "minutes", "5", "1.5 minutes", "-5 seconds", "5 minutes 30 seconds", "five minutes"])("rejects %j as not a duration", (text) => {
    const p = problem(parseDuration(text));
    expect(p.problem).toBe(`"${text}" is not a duration`);
    expect(p.hint).toBe('write a whole number and a unit, e.g. "30 seconds", "5 minutes", "1 hour"');
  });
});

describe("fromMilliseconds", () => {
  it.each([
    [1, "1 millisecond"],
    [2, "2 milliseconds"],
    [1_000, "1 second"],
    [90_000, "90 seconds"],
    [120_000, "2 minutes"],
    [3_600_000, "1 hour"],
    [5_400_000, "90 minutes"],
    [86_400_000, "1 day"],
    [172_800_000, "2 days"],
    [90_061_001, "90061001 milliseconds"],
  ])("%d ms -> %j (largest exact unit)", (ms, text) => {
    expect(fromMilliseconds(ms)).toEqual({ ms, text });
  });

  it("round-trips through parseDuration", () => {
    for (const ms of [1, 999, 1_000, 61_000, 3_600_000, 7_200_000, 86_400_000]) {
      const { text } = fromMilliseconds(ms);
      expect(ok(parseDuration(text))).toEqual({ ms, text });
    }
  });
});
