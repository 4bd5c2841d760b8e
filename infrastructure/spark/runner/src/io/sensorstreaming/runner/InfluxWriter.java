package io.sensorstreaming.runner;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.zip.GZIPOutputStream;

/**
 * Posts line-protocol text to InfluxDB: batches of `batchLines`, gzip, retries with exponential
 * backoff on connection errors, time-outs, 429 and 5xx. Any other status fails the micro-batch
 * loudly with InfluxDB's own message; Spark then stops the query, and a restart replays the
 * batch from the checkpoint. Replays are harmless: a point is keyed by series and timestamp, so
 * writing it again overwrites it with the same values.
 * https://docs.influxdata.com/influxdb/v1/guides/write_data/
 * https://docs.influxdata.com/influxdb/v2/write-data/best-practices/optimize-writes/
 */
final class InfluxWriter {
  static final int MAX_ATTEMPTS = 6;
  private static final Duration FIRST_BACKOFF = Duration.ofMillis(500);

  private final String sink;
  private final URI writeUrl;
  private final String authorization;
  private final int batchLines;
  private final boolean gzip;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  InfluxWriter(String sink, String writeUrl, String token, int batchLines, boolean gzip) {
    this.sink = sink;
    this.writeUrl = URI.create(writeUrl);
    this.authorization = token == null ? null : "Token " + token;
    this.batchLines = batchLines;
    this.gzip = gzip;
  }

  /** Writes every line; returns how many were written. */
  long write(Iterator<String> lines, long batchId) throws IOException, InterruptedException {
    long written = 0;
    List<String> chunk = new ArrayList<>(batchLines);
    while (lines.hasNext()) {
      chunk.add(lines.next());
      if (chunk.size() == batchLines) {
        post(chunk, batchId);
        written += chunk.size();
        chunk.clear();
      }
    }
    if (!chunk.isEmpty()) {
      post(chunk, batchId);
      written += chunk.size();
    }
    return written;
  }

  private void post(List<String> chunk, long batchId) throws IOException, InterruptedException {
    byte[] body = encode(String.join("\n", chunk));
    Duration backoff = FIRST_BACKOFF;
    for (int attempt = 1; ; attempt++) {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(writeUrl)
              .timeout(Duration.ofSeconds(30))
              .header("Content-Type", "text/plain; charset=utf-8")
              .POST(HttpRequest.BodyPublishers.ofByteArray(body));
      if (gzip) request.header("Content-Encoding", "gzip");
      if (authorization != null) request.header("Authorization", authorization);
      String failure;
      try {
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        int status = response.statusCode();
        if (status / 100 == 2) return;
        failure = "HTTP " + status + ": " + response.body().trim();
        if (status != 429 && status / 100 != 5) {
          throw new IOException(
              "InfluxDB refused the write of sink " + sink + " (batch " + batchId + ", " + chunk.size()
                  + " lines) with " + failure + "; first line: " + chunk.get(0));
        }
      } catch (IOException e) {
        // Refused, reset, timed out, or closed before answering (InfluxDB restarting): retry.
        // A write InfluxDB refused is thrown by the block above, outside send().
        if (e.getMessage() != null && e.getMessage().startsWith("InfluxDB refused")) throw e;
        failure = e.getClass().getSimpleName() + ": " + e.getMessage();
      }
      if (attempt >= MAX_ATTEMPTS) {
        throw new IOException(
            "InfluxDB write of sink " + sink + " failed " + attempt + " times (" + writeUrl.getHost() + ":"
                + writeUrl.getPort() + "), last: " + failure);
      }
      Events.emit("influx-retry", "detail", sink + " attempt " + attempt + ": " + failure);
      Thread.sleep(backoff.toMillis());
      backoff = backoff.multipliedBy(2);
    }
  }

  private byte[] encode(String text) throws IOException {
    byte[] raw = text.getBytes(StandardCharsets.UTF_8);
    if (!gzip) return raw;
    ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length / 4 + 64);
    try (GZIPOutputStream zip = new GZIPOutputStream(out)) {
      zip.write(raw);
    }
    return out.toByteArray();
  }
}
