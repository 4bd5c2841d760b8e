import { describe, expect, it } from "vitest";
import { allowedHint, closest, editDistance } from "../../src/spec/did-you-mean.js";

describe("editDistance", () => {
  it.each([
    ["", "", 0],
    ["", "abc", 3],
    ["abc", "", 3],
    ["abc", "abc", 0],
    ["kitten", "sitting", 3],
    ["flaw", "lawn", 2],
    ["minuts", "minutes", 1],
    ["watermrak", "watermark", 2],
    ["ab", "ba", 2],
  ])("editDistance(%j, %j) = %d", (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });

  it("is case-sensitive (closest lowercases, not editDistance)", () => {
    expect(editDistance("A", "a")).toBe(1);
  });
});

describe("closest", () => {
  const keys = ["kafka", "fields", "eventTime", "watermark"];

  it("finds the nearest candidate within the limit", () => {
    expect(closest("watermrak", keys)).toBe("watermark");
    expect(closest("feilds", keys)).toBe("fields");
  });

  it("compares without case but returns the candidate's spelling", () => {
    expect(closest("EVENTTIME", keys)).toBe("eventTime");
    expect(closest("eventtime", keys)).toBe("eventTime");
  });

  it("returns undefined when nothing is within max(2, len/3) edits", () => {
    expect(closest("registry", keys)).toBeUndefined();
    // "ab": limit 2; "xyzw" is 4 away.
    expect(closest("ab", ["xyzw"])).toBeUndefined();
    // 9 letters: limit 3.
    expect(closest("abcdefghi", ["abcxyzghi"])).toBe("abcxyzghi");
    expect(closest("abcdefghi", ["abxxyzghi"])).toBeUndefined();
  });

  it("keeps the first of equally close candidates", () => {
    expect(closest("cat", ["bat", "hat"])).toBe("bat");
  });

  it("returns undefined for no candidates", () => {
    expect(closest("x", [])).toBeUndefined();
  });
});

describe("allowedHint", () => {
  it("suggests and lists", () => {
    expect(allowedHint("minuts", ["milliseconds", "seconds", "minutes", "hours", "days"])).toBe(
      'did you mean "minutes"? allowed: milliseconds, seconds, minutes, hours, days',
    );
  });

  it("only lists when nothing is close", () => {
    expect(allowedHint("parquetfile", ["csv", "json"])).toBe("allowed: csv, json");
  });

  it("suggests the exact candidate for a case-only difference", () => {
    expect(allowedHint("CSV", ["csv", "json"])).toBe('did you mean "csv"? allowed: csv, json');
  });
});
