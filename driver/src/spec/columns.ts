/**
 * Columns the pipeline adds beside the message fields and registry columns. Specs may refer
 * to them (e.g. `partitionBy: [event_date]`) but cannot declare fields with these names.
 */

/** Added to every valid reading, in this order (the raw output's trailing columns). */
export const READING_COLUMNS = {
  eventTime: "event_time",
  eventDate: "event_date",
  kafkaPartition: "kafka_partition",
  kafkaOffset: "kafka_offset",
  kafkaTimestamp: "kafka_timestamp",
} as const;

export const REJECTED_COLUMNS = {
  message: "message",
  reason: "reject_reason",
  kafkaDate: "kafka_date",
} as const;

export const WINDOW_COLUMNS = {
  start: "window_start",
  end: "window_end",
  readings: "readings",
  windowTag: "window",
} as const;

export const RESERVED_COLUMNS: readonly string[] = [...Object.values(READING_COLUMNS), ...Object.values(REJECTED_COLUMNS), ...Object.values(WINDOW_COLUMNS)];
