/** InfluxDB 1.x HTTP API: just what the tests need to set up and read back. */
import { influxqlIdentifier } from "../../../src/deploy/influx-database.js";

export { influxqlIdentifier };

export interface Series {
  readonly columns: readonly string[];
  readonly values: ReadonlyArray<ReadonlyArray<string | number | null>>;
}

export async function influxQuery(url: string, db: string | undefined, q: string): Promise<Series | undefined> {
  const params = new URLSearchParams({ q, epoch: "ms" });
  if (db !== undefined) params.set("db", db);
  const response = await fetch(`${url}/query`, { method: "POST", body: params });
  const body = (await response.json()) as { results?: Array<{ error?: string; series?: Series[] }>; error?: string };
  const error = body.error ?? body.results?.[0]?.error;
  if (!response.ok || error !== undefined) throw new Error(`InfluxDB query "${q}" failed: ${error ?? response.status}`);
  return body.results?.[0]?.series?.[0];
}

/** Rows as objects keyed by column (tags and fields alike), `time` in epoch ms. */
export async function influxPoints(url: string, db: string, measurement: string): Promise<Array<Record<string, string | number | null>>> {
  const series = await influxQuery(url, db, `SELECT * FROM ${influxqlIdentifier(measurement)}`);
  if (series === undefined) return [];
  return series.values.map((row) => Object.fromEntries(series.columns.map((c, i) => [c, row[i] ?? null])));
}

export async function recreateDatabase(url: string, db: string): Promise<void> {
  await influxQuery(url, undefined, `DROP DATABASE ${influxqlIdentifier(db)}`);
  await influxQuery(url, undefined, `CREATE DATABASE ${influxqlIdentifier(db)}`);
}
