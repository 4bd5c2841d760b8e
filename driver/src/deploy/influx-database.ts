/**
 * What a plan needs to exist in InfluxDB before its job starts. InfluxDB 1.x refuses writes to a
 * database that does not exist (the runner would wait for it without end), and CREATE DATABASE is
 * idempotent, so `start` creates it. An InfluxDB 2 bucket is created with the cluster
 * (infrastructure/), not by a job: nothing is done for it.
 * https://docs.influxdata.com/influxdb/v1/query_language/manage-database/#create-database
 */
import type { PlanJson } from "../emit/plan-json.js";

/** An InfluxQL identifier: double quotes, with `"` and `\` escaped by a backslash. */
export function influxqlIdentifier(name: string): string {
  return `"${name.replace(/["\\]/g, "\\$&")}"`;
}

export interface DatabaseTarget {
  readonly baseUrl: string;
  readonly database: string;
}

/** The InfluxDB 1.x databases the plan's sinks write to (`.../write?db=NAME`). */
export function influxDatabases(plan: PlanJson): DatabaseTarget[] {
  const out = new Map<string, DatabaseTarget>();
  for (const sink of plan.sinks) {
    if (sink.kind !== "influx-lines") continue;
    const url = new URL(sink.influx.writeUrl);
    const database = url.searchParams.get("db");
    if (!url.pathname.endsWith("/write") || database === null) continue;
    const baseUrl = `${url.origin}${url.pathname.slice(0, -"/write".length)}`;
    out.set(`${baseUrl} ${database}`, { baseUrl, database });
  }
  return [...out.values()];
}

/**
 * Creates each database; returns one line per database saying what happened. Never throws for
 * InfluxDB's sake: a database that cannot be created now is waited for by the runner, which
 * reports it, and the job starts all the same.
 */
export async function prepareInfluxDatabases(plan: PlanJson, timeoutMs = 5_000): Promise<string[]> {
  const said: string[] = [];
  for (const { baseUrl, database } of influxDatabases(plan)) {
    const statement = `CREATE DATABASE ${influxqlIdentifier(database)}`;
    try {
      const response = await fetch(`${baseUrl}/query`, { method: "POST", body: new URLSearchParams({ q: statement }), signal: AbortSignal.timeout(timeoutMs) });
      const body = (await response.text()).trim();
      // InfluxDB 1.x answers 200 with the error in the body (e.g. "invalid name").
      if (!response.ok || body.includes('"error"'))
        said.push(`InfluxDB at ${baseUrl} refused ${statement}: HTTP ${response.status} ${body.slice(0, 200)}; the job waits until the database exists`);
      else said.push(`InfluxDB database ${database} at ${baseUrl} is ready`);
    } catch (error) {
      said.push(`could not reach InfluxDB at ${baseUrl} to create database ${database} (${(error as Error).message}); the job waits for it`);
    }
  }
  return said;
}
