package io.sensorstreaming.runner;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

/**
 * Watches the files of the plan's static (batch) sources, such as the sensor registry. The runner
 * reads a static source once into the driver (Runner.registerSources), so the queries hold a
 * snapshot that a file replaced under them cannot change half way (Spark itself would keep the file
 * listing of the query's start and read a replaced file with the old file's length). The runner
 * looks at the files now and then; when they changed, and stayed unchanged for one more look (so a
 * file being written is not read half way), it reads the sources again and restarts the queries
 * from their checkpoints.
 */
final class StaticInputs {
  /** How often the files are looked at. */
  static final long CHECK_MS = 10_000;

  private final Configuration conf;
  private final Map<String, String> paths = new LinkedHashMap<>();

  /** What the running queries read. */
  private Map<String, String> loaded;

  /** A change seen once, waiting for a second look. */
  private Map<String, String> pending;

  /** The change {@link #changed} reported, which a successful reload makes the loaded one. */
  private Map<String, String> reported;

  /** A change whose reload failed: not tried again until the files change once more. */
  private Map<String, String> refused;

  private long nextCheck;

  StaticInputs(Plan plan, Configuration conf) {
    this.conf = conf;
    for (JsonNode source : plan.sources) {
      if ("file".equals(source.path("kind").asText()))
        paths.put(Plan.text(source, "name"), Plan.text(source, "path"));
    }
    this.loaded = fingerprints();
    this.nextCheck = System.currentTimeMillis() + CHECK_MS;
  }

  boolean any() {
    return !paths.isEmpty();
  }

  /**
   * The sources whose files changed and held still since the last look, or an empty map. Called
   * from the supervisor's loop; looks at the files at most every {@link #CHECK_MS}.
   */
  Map<String, String> changed() {
    if (paths.isEmpty() || System.currentTimeMillis() < nextCheck) return Map.of();
    nextCheck = System.currentTimeMillis() + CHECK_MS;
    Map<String, String> now = fingerprints();
    if (now.equals(loaded) || now.equals(refused)) {
      pending = null;
      return Map.of();
    }
    if (!now.equals(pending)) {
      pending = now;
      return Map.of();
    }
    pending = null;
    reported = now;
    Map<String, String> changed = new LinkedHashMap<>();
    for (Map.Entry<String, String> entry : now.entrySet()) {
      if (!Objects.equals(entry.getValue(), loaded.get(entry.getKey())))
        changed.put(entry.getKey(), paths.get(entry.getKey()));
    }
    return changed;
  }

  /**
   * The queries now read the files as {@link #changed} saw them (not as they are now: a second
   * upload during the reload is a change still to come).
   */
  void reloaded() {
    loaded = reported;
    refused = null;
  }

  /** The files as reported do not fit the SQL: keep the old ones until the files change again. */
  void reloadRefused() {
    refused = reported;
  }

  private Map<String, String> fingerprints() {
    Map<String, String> prints = new LinkedHashMap<>();
    for (Map.Entry<String, String> entry : paths.entrySet())
      prints.put(entry.getKey(), fingerprint(entry.getValue()));
    return prints;
  }

  /** Every file under the path with its length and modification time; "missing" or the error. */
  private String fingerprint(String location) {
    try {
      Path path = new Path(location);
      FileSystem fs = path.getFileSystem(conf);
      if (!fs.exists(path)) return "missing";
      FileStatus status = fs.getFileStatus(path);
      if (status.isFile()) return status.getLen() + "@" + status.getModificationTime();
      Map<String, String> files = new TreeMap<>();
      RemoteIterator<LocatedFileStatus> all = fs.listFiles(path, true);
      while (all.hasNext()) {
        LocatedFileStatus file = all.next();
        String name = file.getPath().getName();
        if (name.startsWith(".") || name.startsWith("_")) continue;
        files.put(file.getPath().toString(), file.getLen() + "@" + file.getModificationTime());
      }
      return files.toString();
    } catch (IOException | RuntimeException e) {
      // Unreadable for now (e.g. HDFS restarting): not a change; the queries keep what they read.
      return loaded == null ? "unreadable" : loaded.getOrDefault(keyOf(location), "unreadable");
    }
  }

  private String keyOf(String location) {
    for (Map.Entry<String, String> entry : paths.entrySet())
      if (entry.getValue().equals(location)) return entry.getKey();
    return location;
  }
}
