/** One start per pipeline at a time: a lock that names its process, taken over once that process is gone. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { acquireLock, FOREIGN_LOCK_MAX_AGE_MS, LockHeldError, lockFile } from "../../src/deploy/job-state.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "sensor-lock-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}

describe("acquireLock", () => {
  it("records this process and host, and releases", () => {
    const release = acquireLock(dir, "fresh");
    expect(JSON.parse(readFileSync(lockFile(dir, "fresh"), "utf8"))).toMatchObject({ pid: process.pid, host: os.hostname() });
    release();
    expect(existsSync(lockFile(dir, "fresh"))).toBe(false);
  });

  it("refuses while the owning process lives, naming it", () => {
    const release = acquireLock(dir, "busy");
    try {
      expect(() => acquireLock(dir, "busy")).toThrow(LockHeldError);
      expect(() => acquireLock(dir, "busy")).toThrow(`held by process ${process.pid} on ${os.hostname()}`);
      writeFileSync(lockFile(dir, "busy"), JSON.stringify({ pid: process.ppid, host: os.hostname(), since: "2026-03-01T10:00:00Z" }));
      expect(() => acquireLock(dir, "busy")).toThrow(LockHeldError);
    } finally {
      release();
    }
  });

  it("takes over at once the lock of a start that died (Ctrl-C, kill -9), in the old pid-only format too", () => {
    writeFileSync(lockFile(dir, "left"), JSON.stringify({ pid: deadPid(), host: os.hostname(), since: new Date().toISOString() }));
    acquireLock(dir, "left")();
    writeFileSync(lockFile(dir, "old"), `${deadPid()}\n`);
    acquireLock(dir, "old")();
  });

  it("cannot check a process on another host: its lock counts until it is 15 minutes old", () => {
    const file = lockFile(dir, "shared");
    writeFileSync(file, JSON.stringify({ pid: 1, host: "another-machine", since: new Date().toISOString() }));
    expect(() => acquireLock(dir, "shared", () => false)).toThrow("held by process 1 on another-machine");
    const old = (Date.now() - FOREIGN_LOCK_MAX_AGE_MS - 60_000) / 1000;
    utimesSync(file, old, old);
    acquireLock(dir, "shared")();
  });

  it("does not remove a lock another start took over meanwhile", () => {
    const release = acquireLock(dir, "taken");
    writeFileSync(lockFile(dir, "taken"), JSON.stringify({ pid: process.ppid, host: os.hostname() }));
    release();
    expect(existsSync(lockFile(dir, "taken"))).toBe(true);
  });
});
