/** The cluster suite's setup: the stack's cluster mode (HDFS, Spark standalone, Livy on it). */
import { setupStack } from "./global-setup.js";

export default function setup(): Promise<() => void> {
  return setupStack("cluster");
}
