package io.sensorstreaming.runner;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPOutputStream;

/**
 * Posts line-protocol text to InfluxDB in batches of `batchLines` (gzip) and never gives up on a
 * point InfluxDB may still take, so an InfluxDB outage costs nothing but time:
 *
 * <ul>
 *   <li>Connection errors, time-outs, 429, 5xx, and 401/403/404 (a token or database being fixed)
 *       are waited out: retried without a limit on the total time, with capped exponential backoff
 *       and jitter, and an {@code influx-waiting} event with the real cause on every attempt. The
 *       micro-batch waits, so its query's checkpoint does not advance; the other queries go on.
 *   <li>Any other 4xx means InfluxDB refuses something in the chunk (a point outside the retention
 *       policy, a field type conflict, an unparseable line). InfluxDB 1.x writes the good points of
 *       such a chunk and names only the first bad one, so the chunk is split in halves until each
 *       refused line stands alone; those are returned as {@link Refusal}s for the dead-letter
 *       output and the batch goes on.
 * </ul>
 *
 * Writing a point twice is harmless (a point is keyed by series and timestamp; the second write
 * overwrites it with the same values), which is what makes both replays and the halving safe.
 * https://docs.influxdata.com/influxdb/v1/guides/write_data/#http-response-summary
 * https://docs.influxdata.com/influxdb/v2/write-data/troubleshoot/
 */
final class InfluxWriter {
  static final Duration FIRST_BACKOFF = Duration.ofMillis(500);
  static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

  /** A server asking for a longer pause than this is still asked again after it. */
  static final Duration MAX_RETRY_AFTER = Duration.ofMinutes(5);

  /** A line InfluxDB refused, with its status and message. */
  record Refusal(String line, int status, String reason) {}

  /** What one micro-batch's write did. */
  record Outcome(long written, List<Refusal> refused) {}

  private final String sink;
  private final URI writeUrl;
  private final String authorization;
  private final int batchLines;
  private final boolean gzip;
  private final HttpClient http;

  InfluxWriter(String sink, String writeUrl, String token, int batchLines, boolean gzip) {
    this.sink = sink;
    this.writeUrl = URI.create(writeUrl);
    this.authorization = token == null ? null : "Token " + token;
    this.batchLines = batchLines;
    this.gzip = gzip;
    this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  }

  /** Writes every line; returns how many InfluxDB took and which it refused. */
  Outcome write(Iterator<String> lines) throws IOException, InterruptedException {
    long written = 0;
    List<Refusal> refused = new ArrayList<>();
    List<String> chunk = new ArrayList<>(batchLines);
    while (lines.hasNext()) {
      chunk.add(lines.next());
      if (chunk.size() == batchLines) {
        written += writeChunk(chunk, refused);
        chunk = new ArrayList<>(batchLines);
      }
    }
    if (!chunk.isEmpty()) written += writeChunk(chunk, refused);
    return new Outcome(written, refused);
  }

  /** Writes a chunk, halving it around refused lines; returns how many lines were taken. */
  private long writeChunk(List<String> chunk, List<Refusal> refused)
      throws IOException, InterruptedException {
    Answer answer = postUntilAnswered(chunk);
    if (answer.accepted()) return chunk.size();
    if (chunk.size() == 1 || answer.droppedAll(chunk.size())) {
      // InfluxDB 1.x counts the points it dropped: all of them means no halving can save one.
      for (String line : chunk) refused.add(new Refusal(line, answer.status, answer.body));
      return 0;
    }
    int half = chunk.size() / 2;
    return writeChunk(chunk.subList(0, half), refused)
        + writeChunk(chunk.subList(half, chunk.size()), refused);
  }

  /**
   * InfluxDB's final word on a chunk: accepted (2xx) or refused (a 4xx that waiting cannot fix).
   */
  private record Answer(int status, String body) {
    private static final Pattern DROPPED = Pattern.compile("dropped=(\\d+)");

    boolean accepted() {
      return status / 100 == 2;
    }

    /** "partial write: ... dropped=N" with N the whole chunk (a field type conflict, say). */
    boolean droppedAll(int lines) {
      Matcher m = DROPPED.matcher(body);
      return m.find() && Long.parseLong(m.group(1)) >= lines;
    }
  }

  /** Statuses that a running, correctly configured InfluxDB would not answer for good. */
  static boolean worthWaiting(int status) {
    return status == 429
        || status / 100 == 5
        || status == 401
        || status == 403
        || status == 404
        || status == 408;
  }

  private Answer postUntilAnswered(List<String> chunk) throws IOException, InterruptedException {
    byte[] body = encode(String.join("\n", chunk));
    Instant since = null;
    long backoff = FIRST_BACKOFF.toMillis();
    for (int attempt = 1; ; attempt++) {
      String cause;
      long retryAfter = 0;
      try {
        HttpResponse<String> response =
            http.send(request(body), HttpResponse.BodyHandlers.ofString());
        int status = response.statusCode();
        if (status / 100 == 2 || !worthWaiting(status)) {
          if (since != null) recovered(since, attempt);
          return new Answer(status, response.body().trim());
        }
        cause = "HTTP " + status + ": " + response.body().trim();
        retryAfter = retryAfterMillis(response);
      } catch (IOException e) {
        // Refused, reset, timed out, or closed before answering (InfluxDB restarting).
        cause = describe(e);
      }
      if (since == null) since = Instant.now();
      // Half the backoff plus a random part of the other half ("equal jitter"), so sinks that
      // failed together do not retry together, and no wait exceeds MAX_BACKOFF.
      long wait =
          Math.max(
              backoff / 2 + ThreadLocalRandom.current().nextLong(backoff / 2 + 1),
              Math.min(retryAfter, MAX_RETRY_AFTER.toMillis()));
      waiting(since, attempt, cause, wait);
      pause(wait, cause);
      backoff = Math.min(backoff * 2, MAX_BACKOFF.toMillis());
    }
  }

  /**
   * Set when the job stops: a write still waiting for InfluxDB gives up at once instead of holding
   * the graceful stop. Its micro-batch is not committed, so the next start writes it again.
   */
  private static volatile boolean stopping;

  static void stopWaiting() {
    stopping = true;
  }

  private static void pause(long millis, String cause) throws IOException, InterruptedException {
    long until = System.currentTimeMillis() + millis;
    for (long left = millis; ; left = until - System.currentTimeMillis()) {
      if (stopping)
        throw new IOException(
            "the job is stopping while this write waits for InfluxDB ("
                + cause
                + "); the next start writes it again");
      if (left <= 0) return;
      Thread.sleep(Math.min(200, left));
    }
  }

  /** A Retry-After header in seconds (InfluxDB 2 sends it with 429 and 503), or 0. */
  private static long retryAfterMillis(HttpResponse<?> response) {
    try {
      return response
          .headers()
          .firstValue("Retry-After")
          .map(v -> Long.parseLong(v.trim()) * 1000)
          .orElse(0L);
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private HttpRequest request(byte[] body) {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(writeUrl)
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "text/plain; charset=utf-8")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (gzip) request.header("Content-Encoding", "gzip");
    if (authorization != null) request.header("Authorization", authorization);
    return request.build();
  }

  private void waiting(Instant since, int attempt, String cause, long retryInMs) {
    Events.influxWaiting(
        sink, since, attempt, cause, retryInMs, writeUrl.getHost() + ":" + writeUrl.getPort());
  }

  private void recovered(Instant since, int attempts) {
    Events.influxRecovered(
        sink, since, Duration.between(since, Instant.now()).toMillis(), attempts);
  }

  /**
   * The real cause of an I/O error: Java's HttpClient throws a ConnectException without a message
   * when the connection is refused, so the chain is followed and class names stand in for absent
   * messages.
   */
  static String describe(Throwable error) {
    StringBuilder out = new StringBuilder();
    for (Throwable t = error;
        t != null && out.length() < 500;
        t = t.getCause() == t ? null : t.getCause()) {
      String message = t.getMessage();
      String part =
          t.getClass().getSimpleName()
              + (message == null || message.isBlank() ? "" : ": " + message);
      if (out.indexOf(part) >= 0) continue;
      if (out.length() > 0) out.append(" <- ");
      out.append(part);
    }
    if (error instanceof java.net.ConnectException && out.indexOf(":") < 0)
      out.append(" (connection refused: is InfluxDB running?)");
    return out.toString();
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
