/** The proxy's Prometheus metrics (GET /metrics), on a registry of its own. */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { WriteOutcome } from "./group-commit-writer.js";

export class ProxyMetrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: "sensor_proxy_http_requests_total",
    help: "HTTP requests answered, by method, route and status code.",
    labelNames: ["method", "route", "status"] as const,
    registers: [this.registry],
  });

  readonly inFlight = new Gauge({
    name: "sensor_proxy_http_requests_in_flight",
    help: "HTTP requests being handled now.",
    registers: [this.registry],
  });

  readonly accepted = new Counter({
    name: "sensor_proxy_readings_accepted_total",
    help: "Readings Kafka acknowledged (accepted in a 200 or 207 answer).",
    registers: [this.registry],
  });

  readonly rejected = new Counter({
    name: "sensor_proxy_readings_rejected_total",
    help: "Readings refused, as invalid or by Kafka (record-too-large, record-refused), by the code of their first reason.",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });

  readonly unacknowledged = new Counter({
    name: "sensor_proxy_readings_unacknowledged_total",
    help: "Valid readings Kafka did not acknowledge in time or failed to write (answered 503, or not-written or unacknowledged in a 207).",
    registers: [this.registry],
  });

  readonly lateAcknowledged = new Counter({
    name: "sensor_proxy_readings_acknowledged_after_503_total",
    help:
      "Readings Kafka acknowledged after their request was answered without them (503, or unacknowledged in a 207); " +
      "a client that sends them again stores them twice.",
    registers: [this.registry],
  });

  readonly kafkaWrite = new Histogram({
    name: "sensor_proxy_kafka_write_duration_seconds",
    help: "Time from a produce request to Kafka's answer (acks=-1), by outcome: acknowledged, refused (the records), failed.",
    labelNames: ["outcome"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly kafkaWriteRecords = new Histogram({
    name: "sensor_proxy_kafka_write_readings",
    help: "Readings per produce request (requests that arrive while one is in flight go together in the next).",
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
    registers: [this.registry],
  });

  readonly kafkaUp = new Gauge({
    name: "sensor_proxy_kafka_up",
    help: "1 when Kafka answered the last health check or write (acknowledged or refused the records), 0 when it did not or no producer is connected.",
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** A produce request's outcome; a send that could not start (no producer connected) is no produce request but says Kafka is down. */
  recordWrite(records: number, seconds: number, outcome: WriteOutcome): void {
    this.kafkaUp.set(outcome === "acknowledged" || outcome === "refused" ? 1 : 0);
    if (outcome === "not-sent") return;
    this.kafkaWrite.observe({ outcome }, seconds);
    this.kafkaWriteRecords.observe(records);
  }
}
