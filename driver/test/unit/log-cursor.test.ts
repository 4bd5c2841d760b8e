import { describe, expect, it } from "vitest";
import { LogCursor, sections } from "../../src/livy/log-cursor.js";

describe("LogCursor (Livy's batch log: a stdout and a stderr section, each capped)", () => {
  it("splits the sections", () => {
    expect([...sections(["stdout: ", "a", "b", "\nstderr: ", "x"])]).toEqual([
      ["stdout", ["a", "b"]],
      ["stderr", ["x"]],
    ]);
  });

  it("returns only new lines when stdout grows and pushes stderr down the list", () => {
    const cursor = new LogCursor();
    expect(cursor.next(["stdout: ", "a", "\nstderr: ", "x"])).toEqual(["a", "x"]);
    expect(cursor.next(["stdout: ", "a", "b", "c", "\nstderr: ", "x", "y"])).toEqual(["b", "c", "y"]);
    expect(cursor.next(["stdout: ", "a", "b", "c", "\nstderr: ", "x", "y"])).toEqual([]);
  });

  it("continues after the last line seen when the oldest lines were dropped", () => {
    const cursor = new LogCursor();
    cursor.next(["stdout: ", "1", "2", "3"]);
    expect(cursor.next(["stdout: ", "3", "4", "5"])).toEqual(["4", "5"]);
    expect(cursor.next(["stdout: ", "9", "10", "11"])).toEqual(["9", "10", "11"]);
  });
});
