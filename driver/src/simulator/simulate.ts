/**
 * Sends synthetic readings: every registered device at a steady rate, in real time, straight to
 * Kafka or, with `to`, through the ingestion proxy as real sensors do. Both get the same readings
 * for the same seed.
 */
import { Kafka, logLevel, type Producer } from "kafkajs";
import { ProxySender } from "./proxy-sender.js";
import { readingMessage, seededRandom, type RegistryDevice } from "./readings.js";

export interface SimulateOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  /** The ingestion proxy's URL: send through it instead of to Kafka (brokers and topic are then unused). */
  readonly to?: string;
  /** The proxy's bearer token, if it asks for one. */
  readonly token?: string;
  readonly devices: readonly RegistryDevice[];
  /** Readings per second over all devices. */
  readonly rate: number;
  /** Stop after this many seconds (undefined: until interrupted). */
  readonly durationSeconds: number | undefined;
  /** Share of messages that are deliberately bad (malformed, unregistered), to exercise the dead letters. */
  readonly badFraction: number;
  readonly seed: number;
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** Where the messages go. */
interface Destination {
  /** For log lines: "to live-data", "through http://.../stream". */
  readonly name: string;
  /** Resolves when every message is stored (Kafka) or answered for good (the proxy); returns how many the proxy refused. */
  send(messages: readonly string[]): Promise<{ refused: number }>;
  close(): Promise<void>;
}

export async function simulate(options: SimulateOptions): Promise<{ sent: number; bad: number; refused: number }> {
  const destination = options.to === undefined ? await kafkaDestination(options) : proxyDestination(options, options.to);
  const random = seededRandom(options.seed);
  const started = Date.now();
  let sent = 0;
  let bad = 0;
  let refused = 0;
  let lastReport = started;
  try {
    while (!options.signal?.aborted) {
      const elapsed = (Date.now() - started) / 1000;
      if (options.durationSeconds !== undefined && elapsed >= options.durationSeconds) break;
      const due = Math.floor(elapsed * options.rate) + 1 - sent - bad;
      const messages: string[] = [];
      for (let i = 0; i < Math.max(0, due); i++) {
        if (random() < options.badFraction) {
          messages.push(
            random() < 0.5
              ? "{broken json"
              : JSON.stringify(readingMessage({ institute: "?", devEui: "UNREGISTERED", profile: "iaq", classroom: "?" }, Date.now(), random)),
          );
          bad++;
        } else {
          const device = options.devices[Math.floor(random() * options.devices.length)]!;
          messages.push(JSON.stringify(readingMessage(device, Date.now(), random)));
          sent++;
        }
      }
      if (messages.length > 0) refused += (await destination.send(messages)).refused;
      if (Date.now() - lastReport >= 10_000) {
        options.log(`simulator: ${sent} readings and ${bad} bad messages sent ${destination.name} in ${Math.round(elapsed)} s${refusedText(options, refused)}`);
        lastReport = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await destination.close();
  }
  options.log(`simulator: done, ${sent} readings and ${bad} bad messages sent ${destination.name}${refusedText(options, refused)}`);
  return { sent, bad, refused };
}

function refusedText(options: SimulateOptions, refused: number): string {
  return options.to === undefined ? "" : ` (the proxy refused ${refused} as invalid)`;
}

async function kafkaDestination(options: SimulateOptions): Promise<Destination> {
  const kafka = new Kafka({ clientId: "sensor-streaming-simulator", brokers: [...options.brokers], logLevel: logLevel.ERROR });
  // Created up front (a no-op when it exists): producing to a missing topic only logs errors
  // until the broker's auto-creation catches up.
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic: options.topic }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  const producer: Producer = kafka.producer();
  await producer.connect();
  return {
    name: `to ${options.topic}`,
    send: async (messages) => {
      await producer.send({ topic: options.topic, messages: messages.map((value) => ({ value })) });
      return { refused: 0 };
    },
    close: () => producer.disconnect(),
  };
}

function proxyDestination(options: SimulateOptions, to: string): Destination {
  const sender = new ProxySender({ url: to, token: options.token, log: options.log, ...(options.signal === undefined ? {} : { signal: options.signal }) });
  return { name: `through ${sender.url}`, send: (messages) => sender.send(messages), close: async () => undefined };
}
