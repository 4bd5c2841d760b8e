/** Sends messages to a topic of the local stack's Kafka and returns their offsets, in order. */
import { Kafka, logLevel } from "kafkajs";

export async function produce(brokers: string, topic: string, values: readonly string[]): Promise<string[]> {
  const kafka = new Kafka({ clientId: "e2e-producer", brokers: [brokers], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    const [result] = await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) });
    return values.map((_, i) => String(BigInt(result!.baseOffset!) + BigInt(i)));
  } finally {
    await producer.disconnect();
  }
}
