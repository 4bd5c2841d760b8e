package io.sensorstreaming.runner;

import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A file whose appearance asks the job to stop gracefully. Through Hadoop's FileSystem it can
 * live on the local disk (file:) or on HDFS, wherever the driver can write it.
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

  /** Removed once the stop it asked for is done, so the next run does not stop at once. */
  void clear() throws IOException {
    if (fs.exists(path)) fs.delete(path, false);
  }

  @Override
  public String toString() {
    return path.toString();
  }
}
