package io.sensorstreaming.runner;

import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A file whose appearance asks the job to stop gracefully. Through Hadoop's FileSystem it can live
 * on the local disk (file:) or on HDFS, wherever the driver can write it.
 */
final class StopMarker {
  private final Path path;
  private final FileSystem fs;

  StopMarker(String location, Configuration conf) throws IOException {
    this.path = new Path(location);
    this.fs = path.getFileSystem(conf);
  }

  boolean present() {
    try {
      return fs.exists(path);
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Writes the heartbeat beside the marker ({@code <marker>.alive}: the time, this host and pid). A
   * supervisor that finds no job in Livy but a fresh heartbeat knows the driver still runs unseen
   * (Livy itself was restarted) and does not start a second one on the same checkpoints.
   */
  void heartbeat() {
    Path alive = new Path(path + ".alive");
    try (org.apache.hadoop.fs.FSDataOutputStream out = fs.create(alive, true)) {
      out.write(
          (java.time.Instant.now()
                  + " "
                  + java.lang.management.ManagementFactory.getRuntimeMXBean().getName()
                  + "\n")
              .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    } catch (IOException e) {
      // Best effort: a missing heartbeat only makes a supervisor less careful, never wrong.
    }
  }

  void clearHeartbeat() {
    try {
      fs.delete(new Path(path + ".alive"), false);
    } catch (IOException e) {
      // Best effort, as above.
    }
  }

  /** Removed once the stop it asked for is done, so the next run does not stop at once. */
  void clear() throws IOException {
    if (fs.exists(path)) fs.delete(path, false);
  }

  @Override
  public String toString() {
    return path.toString();
  }
}
