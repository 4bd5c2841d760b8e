/**
 * source.eventTime.notBefore and maxAhead: their defaults, their limits, and the units an event
 * time field can be read in.
 */
import { describe, expect, it } from "vitest";
import { buildPlan } from "../../src/plan/build-plan.js";
import { at, BASE_SPEC, check, edit, expectDiagnostics, expectOnly, expectValid } from "./spec-fixture.js";

const LIMITS = "    notBefore: 2000-01-01\n    maxAhead: 2 minutes\n";
const WITHOUT_LIMITS = edit(BASE_SPEC, LIMITS, "");

function withLimits(limits: string): string {
  return edit(BASE_SPEC, LIMITS, limits);
}

describe("source.eventTime limits", () => {
  it("default to 2000-01-01 and, for maxAhead, the watermark", () => {
    const eventTime = expectValid(WITHOUT_LIMITS).source.eventTime;
    expect(eventTime.notBefore.value).toEqual({ text: "2000-01-01", ms: Date.UTC(2000, 0, 1) });
    expect(eventTime.maxAhead).toBeUndefined();
    const rules = buildPlan(expectValid(WITHOUT_LIMITS), "spec.yaml").views.flatMap((v) => (v.body.kind === "join-registry" ? v.body.rejectRules : []));
    const rule = rules.find((r) => r.kind === "event-time-ahead");
    expect(rule).toMatchObject({ maxAhead: { ms: 120_000 } });
  });

  it("maxAhead beyond the watermark, which would close every classroom's windows early", () => {
    const text = withLimits("    notBefore: 2000-01-01\n    maxAhead: 1 day\n");
    expectOnly(text, {
      code: "bad-value",
      at: at(text, "maxAhead: 1 day", "1 day"),
      message:
        "source.eventTime.maxAhead 1 day is more than the watermark (2 minutes): " +
        "one reading that far ahead would move the watermark past every classroom's open windows, " +
        "and their on-time readings would be dropped as late",
      hint: "write at most 2 minutes (or leave it out: it defaults to the watermark), or raise source.watermark",
    });
  });

  it("take a date and a duration as written", () => {
    const eventTime = expectValid(withLimits("    notBefore: 2023-06-30\n    maxAhead: 90 s\n")).source.eventTime;
    expect(eventTime.notBefore.value).toEqual({ text: "2023-06-30", ms: Date.UTC(2023, 5, 30) });
    expect(eventTime.maxAhead?.value).toEqual({ ms: 90_000, text: "90 seconds" });
  });

  it("notBefore that is not a calendar date", () => {
    const text = withLimits("    notBefore: 2023-02-30\n    maxAhead: 2 minutes\n");
    expectOnly(text, {
      code: "bad-value",
      at: at(text, "notBefore: 2023-02-30", "2023-02-30"),
      message: 'source.eventTime.notBefore "2023-02-30" is not a date',
      hint: "write a date from 1678-01-01 to 2261-12-31 as YYYY-MM-DD (InfluxDB stores times from 1677-09-21 to 2262-04-11)",
    });
  });

  it("notBefore in another format", () => {
    const text = withLimits("    notBefore: 1.1.2000\n    maxAhead: 2 minutes\n");
    expectOnly(text, { code: "bad-value", at: at(text, "notBefore: 1.1.2000", "1.1.2000"), message: 'source.eventTime.notBefore "1.1.2000" is not a date' });
  });

  it("notBefore outside the times InfluxDB can store", () => {
    const text = withLimits("    notBefore: 1600-01-01\n    maxAhead: 2 minutes\n");
    expectOnly(text, {
      code: "bad-value",
      at: at(text, "notBefore: 1600-01-01", "1600-01-01"),
      message: "source.eventTime.notBefore 1600-01-01 is out of range",
      hint: ["from 1678-01-01 to 2261-12-31"],
    });
  });

  it("notBefore written as a number", () => {
    const text = withLimits("    notBefore: 20000101\n    maxAhead: 2 minutes\n");
    expectOnly(text, {
      code: "wrong-type",
      at: at(text, "notBefore: 20000101", "20000101"),
      message: 'source.eventTime.notBefore must be a date such as "2000-01-01", found number 20000101',
    });
  });

  it("maxAhead that is not a duration", () => {
    const text = withLimits("    notBefore: 2000-01-01\n    maxAhead: a day\n");
    expectOnly(text, { code: "bad-duration", at: at(text, "maxAhead: a day", "a day"), message: 'source.eventTime.maxAhead: "a day" is not a duration' });
  });

  it("maxAhead longer than 36500 days", () => {
    const text = withLimits("    notBefore: 2000-01-01\n    maxAhead: 36501 days\n");
    expectOnly(text, {
      code: "bad-value",
      at: at(text, "maxAhead: 36501 days", "36501 days"),
      message: "source.eventTime.maxAhead 36501 days is more than 36500 days",
      hint: 'write at most 36500 days, e.g. "1 day"',
    });
  });

  it("a bad limit and a bad unit are reported together", () => {
    let text = withLimits("    notBefore: 2000-13-01\n    maxAhead: 2 minutes\n");
    text = edit(text, "unit: milliseconds", "unit: millis");
    expectDiagnostics(check(text).diagnostics, [
      { code: "bad-value", at: at(text, "unit: millis", "millis"), message: 'source.eventTime.unit "millis" is not allowed' },
      { code: "bad-value", at: at(text, "notBefore: 2000-13-01", "2000-13-01"), message: 'source.eventTime.notBefore "2000-13-01" is not a date' },
    ]);
  });
});

describe("source.eventTime units and field types", () => {
  const asType = (type: string): string => edit(BASE_SPEC, '"$.GWInfo[0].sendtime", type: long', `"$.GWInfo[0].sendtime", type: ${type}`);

  it("an int cannot hold milliseconds after January 1970", () => {
    const text = asType("int");
    expectOnly(text, {
      code: "bad-value",
      at: at(text, "unit: milliseconds", "milliseconds"),
      message: 'event time unit "milliseconds" needs a long or double field: an int holds at most 2147483647 milliseconds, which is still January 1970',
      hint: 'declare "sent_at" with type: long',
    });
  });

  it("nor microseconds", () => {
    const text = edit(asType("int"), "unit: milliseconds", "unit: microseconds");
    expectOnly(text, { code: "bad-value", at: at(text, "unit: microseconds", "microseconds"), message: ['"microseconds" needs a long or double field'] });
  });

  it("an int holds seconds until 2038, a double holds any epoch unit", () => {
    expectValid(edit(asType("int"), "unit: milliseconds", "unit: seconds"));
    expectValid(asType("double"));
    expectValid(edit(asType("double"), "unit: milliseconds", "unit: microseconds"));
  });
});
