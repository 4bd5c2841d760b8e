/**
 * Readings the tests send, and an independent computation of what the pipeline must produce
 * from them: window membership, statistics and Pearson correlations, in plain TypeScript.
 */

export interface Device {
  readonly devEui: string;
  readonly institute: string;
  readonly profile: string;
  readonly classroom: string;
}

export interface Reading {
  readonly device: Device;
  readonly t: number;
  readonly temperature?: number;
  readonly co2?: number;
  readonly light_level?: number;
  readonly pir?: string;
}

export const DEVICES: readonly Device[] = [
  { devEui: "A1-IAQ", institute: "Institut A", profile: "iaq", classroom: "Aula 1" },
  { devEui: "A1-DOOR", institute: "Institut A", profile: "porta", classroom: "Aula 1" },
  { devEui: "A2-IAQ", institute: "Institut A", profile: "iaq", classroom: "Sala, gran=2" },
  { devEui: "B1-IAQ", institute: "Escola B", profile: "iaq", classroom: "Aula 1" },
  { devEui: "B1-WIN", institute: "Escola B", profile: "finestra", classroom: "Aula 1" },
];

export function registryCsv(): string {
  const quote = (s: string) => (/[",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return ["institute,DevEui,profile,classroom", ...DEVICES.map((d) => [d.institute, d.devEui, d.profile, d.classroom].map(quote).join(","))].join("\n") + "\n";
}

/** A deterministic generator, so a failing run can be repeated exactly. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Readings every `stepMs` per device between start and end, with a few values missing. */
export function generate(start: number, end: number, stepMs: number, seed: number): Reading[] {
  const next = random(seed);
  const out: Reading[] = [];
  DEVICES.forEach((device, d) => {
    for (let t = start + d * 1000; t < end; t += stepMs) {
      const iaq = device.profile === "iaq";
      const r: { -readonly [K in keyof Reading]: Reading[K] } = { device, t };
      if (iaq || next() < 0.3) r.temperature = Math.round((18 + next() * 8) * 100) / 100;
      if (iaq && next() < 0.9) r.co2 = Math.round((400 + next() * 900) * 10) / 10;
      if (next() < 0.8) r.light_level = Math.floor(next() * 800);
      if (device.profile !== "iaq") r.pir = next() < 0.5 ? "trigger" : 'idle "quoted" \\ back';
      out.push(r);
    }
  });
  return out.sort((a, b) => a.t - b.t);
}

export function message(r: Reading): string {
  const payload: Record<string, unknown> = {};
  if (r.temperature !== undefined) payload.temperature = r.temperature;
  if (r.co2 !== undefined) payload.co2 = r.co2;
  if (r.light_level !== undefined) payload.light_level = r.light_level;
  if (r.pir !== undefined) payload.pir = r.pir;
  return JSON.stringify({
    DevEui: r.device.devEui,
    deviceName: `${r.device.profile}-${r.device.devEui}`,
    GWInfo: [{ gwname: "gw-1", sendtime: r.t }],
    parsedPayload: payload,
  });
}

export interface WindowStats {
  readonly institute: string;
  readonly classroom: string;
  readonly end: number;
  readonly readings: number;
  readonly stats: Readonly<Record<string, number | undefined>>;
  readonly correlations: Readonly<Record<string, { r: number; n: number } | undefined>>;
}

const METRICS = ["temperature", "co2", "light_level"] as const;
export const PAIRS: ReadonlyArray<readonly [(typeof METRICS)[number], (typeof METRICS)[number]]> = [
  ["temperature", "co2"],
  ["temperature", "light_level"],
];

function sampleStddev(xs: readonly number[]): number | undefined {
  if (xs.length < 2) return undefined;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1));
}

function pearson(pairs: ReadonlyArray<readonly [number, number]>): number | undefined {
  if (pairs.length < 2) return undefined;
  const mx = pairs.reduce((a, [x]) => a + x, 0) / pairs.length;
  const my = pairs.reduce((a, [, y]) => a + y, 0) / pairs.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const [x, y] of pairs) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
    syy += (y - my) ** 2;
  }
  if (sxx === 0 || syy === 0) return undefined;
  return sxy / Math.sqrt(sxx * syy);
}

/** Every window (size, slide) that closed by `watermark`, per institute and classroom. */
export function expectedWindows(readings: readonly Reading[], sizeMs: number, slideMs: number, watermark: number): WindowStats[] {
  const groups = new Map<string, Reading[]>();
  for (const r of readings) {
    const firstStart = Math.floor(r.t / slideMs) * slideMs - sizeMs + slideMs;
    for (let start = firstStart; start <= r.t; start += slideMs) {
      if (start + sizeMs > watermark) continue;
      const key = JSON.stringify([r.device.institute, r.device.classroom, start + sizeMs]);
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
  }
  return [...groups].map(([key, rs]) => {
    const [institute, classroom, end] = JSON.parse(key) as [string, string, number];
    const stats: Record<string, number | undefined> = {};
    for (const m of METRICS) {
      const xs = rs.map((r) => r[m]).filter((x): x is number => x !== undefined);
      stats[`${m}_count`] = xs.length;
      if (xs.length > 0) {
        stats[`${m}_mean`] = xs.reduce((a, b) => a + b, 0) / xs.length;
        stats[`${m}_min`] = Math.min(...xs);
        stats[`${m}_max`] = Math.max(...xs);
      }
      stats[`${m}_stddev`] = sampleStddev(xs);
    }
    const correlations: Record<string, { r: number; n: number } | undefined> = {};
    for (const [a, b] of PAIRS) {
      const pairs = rs.filter((r) => r[a] !== undefined && r[b] !== undefined).map((r) => [r[a]!, r[b]!] as const);
      const r = pearson(pairs);
      correlations[`${a}__${b}`] = r === undefined ? undefined : { r, n: pairs.length };
    }
    return { institute, classroom, end, readings: rs.length, stats, correlations };
  });
}
