/**
 * Synthetic LoRaWAN readings in the real deployment's message shape (DESIGN.md "Message shape"),
 * for demos, benchmarks and smoke runs. Each registry profile sends the subset its devices send.
 */

export interface RegistryDevice {
  readonly institute: string;
  readonly devEui: string;
  readonly profile: string;
  readonly classroom: string;
}

/** Parses the registry CSV (`institute,DevEui,profile,classroom`, quoted fields allowed). */
export function parseRegistryCsv(text: string): RegistryDevice[] {
  const rows = text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== "")
    .map(splitCsvLine);
  const header = rows.shift()?.map((h) => h.trim()) ?? [];
  const column = (name: string): number => {
    const index = header.indexOf(name);
    if (index < 0) throw new Error(`the registry has no "${name}" column (header: ${header.join(",")})`);
    return index;
  };
  const [institute, devEui, profile, classroom] = ["institute", "DevEui", "profile", "classroom"].map(column) as [number, number, number, number];
  return rows.map((r) => ({ institute: r[institute]!, devEui: r[devEui]!, profile: r[profile]!, classroom: r[classroom]! }));
}

function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      out.push(field);
      field = "";
    } else field += c;
  }
  out.push(field);
  return out;
}

export type Random = () => number;

export function seededRandom(seed: number): Random {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** One reading of `device` at `time` (epoch ms), as the network server's HTTP integration sends it. */
export function readingMessage(device: RegistryDevice, time: number, random: Random): Record<string, unknown> {
  const payload: Record<string, unknown> = { battery: round(60 + random() * 40, 1), battery_voltage: round(3 + random() * 0.6, 3) };
  switch (device.profile) {
    case "iaq":
      Object.assign(payload, {
        temperature: round(18 + random() * 8, 2),
        humidity: round(30 + random() * 40, 1),
        co2: Math.round(400 + random() * 1200),
        tvoc: Math.round(random() * 500),
        pressure: round(990 + random() * 40, 1),
        light_level: Math.floor(random() * 1000),
        pir: random() < 0.5 ? "trigger" : "idle",
      });
      break;
    case "porta":
      Object.assign(payload, {
        door_status: random() < 0.3 ? 1 : 0,
        door_open_times: Math.floor(random() * 50),
        last_open_minutes: Math.floor(random() * 120),
        alarm: random() < 0.02 ? 1 : 0,
      });
      break;
    default:
      Object.assign(payload, { door_status: random() < 0.2 ? 1 : 0, temperature: round(15 + random() * 10, 2) });
  }
  return {
    DevEui: device.devEui,
    deviceName: `${device.profile}-${device.classroom}`,
    GWInfo: [{ gwname: "gateway-1", sendtime: time }],
    parsedPayload: payload,
  };
}
