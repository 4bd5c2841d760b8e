#!/usr/bin/env python3
"""Where the CPU of a benchmark run went: the samples of a Java Flight Recorder file
(`npm run bench -- --jfr FILE`) put into categories by the innermost frame that names one, split
into task threads (Spark's executors) and the driver's own threads.

Usage: python3 bench/jfr-breakdown.py FILE.jfr     (needs the JDK's `jfr` tool on PATH)
"""
import collections
import json
import re
import subprocess
import sys

CATEGORIES = [
    ("json-parse", r"JacksonParser|JsonToStructs|jackson"),
    ("kafka-read", r"KafkaDataConsumer|kafka\.clients|KafkaRecordToRow|InternalKafkaConsumer"),
    ("parquet-write", r"parquet|ParquetOutputWriter|FileFormatDataWriter|SnappyCompressor|snappy"),
    ("regex", r"java\.util\.regex|RegExpReplace|RLike|regexp"),
    ("state-store", r"StateStore|HDFSBackedStateStore|StateStoreSaveExec|StreamingAggregation"),
    ("shuffle", r"ShuffleWriter|ShuffleExternalSorter|ShuffleBlockFetcher|BlockStoreShuffleReader|ShuffleReader"),
    ("sort", r"UnsafeExternalSorter|UnsafeInMemorySorter|RadixSort|TimSort|UnsafeExternalRowSorter"),
    ("influx-writer", r"InfluxWriter|GZIPOutputStream|Deflater|HttpClient"),
    ("utf8/strings", r"UTF8String|StringLatin1|String\.|UTF_8"),
    ("hash-agg", r"hashAgg|HashAggregate|UnsafeFixedWidthAggregationMap|BytesToBytesMap|RowBasedKeyValueBatch"),
    ("expand", r"expand_"),
    ("codegen/compile", r"janino|CodeGenerator|codehaus"),
    ("serialization", r"ObjectOutputStream|ObjectInputStream|JavaSerializer|KryoSerializer"),
]


def main() -> None:
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0 if len(sys.argv) == 2 else 64)
    printed = subprocess.run(
        ["jfr", "print", "--json", "--stack-depth", "128", "--events", "jdk.ExecutionSample", sys.argv[1]],
        capture_output=True, text=True, check=True,
    ).stdout
    events = json.loads(printed)["recording"]["events"]
    counts: collections.Counter[str] = collections.Counter()
    for event in events:
        values = event["values"]
        thread = values["sampledThread"]["javaName"] or ""
        frames = values["stackTrace"]["frames"] if values.get("stackTrace") else []
        names = [f["method"]["type"]["name"].replace("/", ".") + "." + f["method"]["name"] for f in frames]
        category = next((c for name in names for c, pattern in CATEGORIES if re.search(pattern, name)), "other")
        counts[("task " if "Executor task launch" in thread else "driver ") + category] += 1
    total = sum(counts.values())
    print(f"{total} samples")
    for key, n in counts.most_common():
        print(f"{100 * n / total:5.1f}% {key}")


if __name__ == "__main__":
    main()
