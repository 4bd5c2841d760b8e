/**
 * The supervisor's loop on a scripted job (its Livy side is tested end to end in
 * comes-back.e2e.test.ts): when it restarts, how the backoff grows and resets, what it records,
 * and that an abort ends it at once, even during a backoff.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  judgeJob,
  liveSupervisor,
  processStart,
  supervise,
  supervisorFile,
  writeSupervisorRecord,
  type JobCheck,
  type SupervisedJob,
  type SupervisorRecord,
  type SupervisorTiming,
} from "../../src/job/supervisor.js";

const FAST: SupervisorTiming = { pollMs: 1, firstBackoffMs: 10, maxBackoffMs: 40, stableMs: 60_000 };

function record(): SupervisorRecord {
  return { pipeline: "p", pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), logFile: "log", restarts: 0 };
}

/** A job whose looks follow a script; `restart` outcomes too. Stops the loop when the script ends. */
function scripted(checks: JobCheck[], restarts: Array<number | Error>, controller: AbortController) {
  const calls: string[] = [];
  const job: SupervisedJob = {
    pipeline: "p",
    check: async () => {
      const next = checks.shift();
      if (next === undefined) {
        controller.abort();
        return { kind: "running", batchId: -1 };
      }
      calls.push(`check:${next.kind}`);
      return next;
    },
    restart: async () => {
      const next = restarts.shift() ?? new Error("no more restarts scripted");
      calls.push(`restart:${next instanceof Error ? "error" : next}`);
      if (next instanceof Error) throw next;
      return next;
    },
  };
  return { job, calls };
}

describe("supervise", () => {
  it("restarts a job that is down, and leaves a running one alone", async () => {
    const controller = new AbortController();
    const { job, calls } = scripted(
      [
        { kind: "running", batchId: 1 },
        { kind: "down", why: "batch 1 is dead" },
        { kind: "running", batchId: 2 },
      ],
      [2],
      controller,
    );
    const saved: SupervisorRecord[] = [];
    const log: string[] = [];
    await supervise(
      job,
      record(),
      (r) => saved.push(r),
      (l) => log.push(l),
      controller.signal,
      FAST,
    );
    expect(calls).toEqual(["check:running", "check:down", "restart:2", "check:running"]);
    expect(saved.at(-1)).toMatchObject({ restarts: 1, lastCause: "batch 1 is dead" });
    expect(log.join("\n")).toMatch(/not running: batch 1 is dead; restarting it in 0 s \(restart 1\)/);
    expect(log.join("\n")).toMatch(/restarted pipeline p as Livy batch 2/);
  });

  it("doubles the backoff while restarts fail, up to the cap, and records why", async () => {
    const controller = new AbortController();
    const down: JobCheck = { kind: "down", why: "dead" };
    const { job } = scripted([down, down, down, down], [new Error("Livy refused"), new Error("Livy refused"), new Error("Livy refused"), 9], controller);
    const waits: number[] = [];
    const saved: SupervisorRecord[] = [];
    await supervise(
      job,
      record(),
      (r) => saved.push(r),
      (l) => {
        const m = /restarting it in (\d+(?:\.\d+)?) s/.exec(l);
        if (m) waits.push(Number(m[1]));
      },
      controller.signal,
      { ...FAST, firstBackoffMs: 1000, maxBackoffMs: 4000, pollMs: 1 },
    ).catch(() => undefined);
    expect(waits).toEqual([1, 2, 4, 4]);
    expect(saved[0]!.lastCause).toContain("the restart failed: Livy refused");
    expect(saved.at(-1)!.restarts).toBe(1);
  }, 20_000);

  it("ends when the job ended normally (a stop it did not see), without restarting it", async () => {
    const controller = new AbortController();
    const { job, calls } = scripted(
      [
        { kind: "running", batchId: 1 },
        { kind: "finished", why: "Livy batch 1 ended normally" },
        { kind: "down", why: "x" },
      ],
      [2],
      controller,
    );
    const log: string[] = [];
    await supervise(
      job,
      record(),
      () => undefined,
      (l) => log.push(l),
      controller.signal,
      FAST,
    );
    expect(calls).toEqual(["check:running", "check:finished"]);
    expect(log.join("\n")).toMatch(/ended normally; nothing to restart, the supervisor ends/);
  });

  it("does nothing while it cannot tell whether the job runs, and says so once", async () => {
    const controller = new AbortController();
    const away: JobCheck = { kind: "unknown", why: "Livy does not answer (connection refused)" };
    const { job, calls } = scripted([away, away, away, { kind: "running", batchId: 3 }], [], controller);
    const log: string[] = [];
    await supervise(
      job,
      record(),
      () => undefined,
      (l) => log.push(l),
      controller.signal,
      FAST,
    );
    expect(calls.filter((c) => c.startsWith("restart"))).toEqual([]);
    expect(log.filter((l) => l.includes("cannot tell whether the job runs: Livy does not answer (connection refused); waiting"))).toHaveLength(1);
    expect(log.filter((l) => l.includes("the job's state is known again after"))).toHaveLength(1);
  });

  it("ends at once when aborted during a backoff, without restarting", async () => {
    const controller = new AbortController();
    const { job, calls } = scripted([{ kind: "down", why: "dead" }], [1], controller);
    const started = Date.now();
    setTimeout(() => controller.abort(), 50);
    await supervise(
      job,
      record(),
      () => undefined,
      () => undefined,
      controller.signal,
      { ...FAST, firstBackoffMs: 60_000, maxBackoffMs: 60_000 },
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(calls).toEqual(["check:down"]);
  });
});

describe("the supervisor record", () => {
  it("counts only a live process on this host", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "supervisor-"));
    writeSupervisorRecord(dir, record());
    expect(liveSupervisor(dir, "p")?.pid).toBe(process.pid);
    writeSupervisorRecord(dir, { ...record(), pid: 2 ** 22 + 12345 });
    expect(liveSupervisor(dir, "p"), "a dead pid").toBeUndefined();
    writeSupervisorRecord(dir, { ...record(), host: "another-host" });
    expect(liveSupervisor(dir, "p"), "another host's process").toBeUndefined();
    writeSupervisorRecord(dir, { ...record(), processStart: processStart(process.pid) });
    expect(liveSupervisor(dir, "p")?.pid, "the same process, by its start time").toBe(process.pid);
    writeSupervisorRecord(dir, { ...record(), processStart: "1" });
    expect(liveSupervisor(dir, "p"), "a recycled pid: another process started later").toBeUndefined();
    writeFileSync(supervisorFile(dir, "p"), "{not json");
    expect(liveSupervisor(dir, "p"), "an unreadable record").toBeUndefined();
  });
});

describe("judgeJob: what one look means", () => {
  const nothing = { runningBatch: undefined, stopped: false, lastBatch: undefined, heartbeatAgeMs: undefined };

  it("running while Livy runs a batch of it, whatever else is seen", () => {
    expect(judgeJob({ ...nothing, runningBatch: 4, stopped: true, heartbeatAgeMs: 1000 })).toEqual({ kind: "running", batchId: 4 });
  });

  it("finished after a stop, or when the last batch ended normally: nothing to restart", () => {
    expect(judgeJob({ ...nothing, stopped: true, lastBatch: { id: 3, state: "dead" } }).kind).toBe("finished");
    expect(judgeJob({ ...nothing, lastBatch: { id: 3, state: "success" } })).toEqual({ kind: "finished", why: "Livy batch 3 ended normally" });
  });

  it("down when the last batch died and no driver beats; in doubt while one still does", () => {
    expect(judgeJob({ ...nothing, lastBatch: { id: 3, state: "dead" } })).toEqual({ kind: "down" });
    expect(judgeJob({ ...nothing, lastBatch: { id: 3, state: "dead" }, heartbeatAgeMs: 45_000 }), "a stale heartbeat: a dead driver").toEqual({ kind: "down" });
    expect(judgeJob({ ...nothing, heartbeatAgeMs: 4_000 }).kind, "Livy forgot a driver that runs on").toBe("unknown");
    expect(judgeJob({ ...nothing, heartbeatAgeMs: -2_000 }).kind, "a clock stepped back counts as fresh").toBe("unknown");
    expect(judgeJob(nothing)).toEqual({ kind: "down" });
  });
});
