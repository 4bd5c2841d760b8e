/** Sends synthetic readings to Kafka: every registered device at a steady rate, in real time. */
import { Kafka, logLevel, type Producer } from "kafkajs";
import { readingMessage, seededRandom, type RegistryDevice } from "./readings.js";

export interface SimulateOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
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

export async function simulate(options: SimulateOptions): Promise<{ sent: number; bad: number }> {
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
  const random = seededRandom(options.seed);
  const started = Date.now();
  let sent = 0;
  let bad = 0;
  let lastReport = started;
  try {
    while (!options.signal?.aborted) {
      const elapsed = (Date.now() - started) / 1000;
      if (options.durationSeconds !== undefined && elapsed >= options.durationSeconds) break;
      const due = Math.floor(elapsed * options.rate) + 1 - sent - bad;
      const messages: string[] = [];
      for (let i = 0; i < Math.max(0, due); i++) {
        if (random() < options.badFraction) {
          messages.push(random() < 0.5 ? "{broken json" : JSON.stringify(readingMessage({ institute: "?", devEui: "UNREGISTERED", profile: "iaq", classroom: "?" }, Date.now(), random)));
          bad++;
        } else {
          const device = options.devices[Math.floor(random() * options.devices.length)]!;
          messages.push(JSON.stringify(readingMessage(device, Date.now(), random)));
          sent++;
        }
      }
      if (messages.length > 0) await producer.send({ topic: options.topic, messages: messages.map((value) => ({ value })) });
      if (Date.now() - lastReport >= 10_000) {
        options.log(`simulator: ${sent} readings and ${bad} bad messages sent to ${options.topic} in ${Math.round(elapsed)} s`);
        lastReport = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await producer.disconnect();
  }
  options.log(`simulator: done, ${sent} readings and ${bad} bad messages sent to ${options.topic}`);
  return { sent, bad };
}
