#!/usr/bin/env bash
# Times the Spark runner (spark/meterflow_spark.py) in local[2] against one `meterflow run` over the
# same generated file, checks that both give the same points, and prints the wall times. Needs
# Java 17 and spark/.venv (see docs/guides/spark.md or spark/run_tests.sh).
#
# usage: bench/spark.sh [DEVICES]   (default 1000: the 10M-row file; 200 gives 2M rows)
set -euo pipefail
cd "$(dirname "$0")/.."
devices="${1:-1000}"
data="bench/data/meters_${devices}dev.csv"
mkdir -p bench/data
if [[ ! -s "$data" ]]; then
  python3 bench/gen_meters.py "$devices" 1.7361111111 42 "$data.part"
  mv "$data.part" "$data"
fi
cargo build --release --locked
export PATH="$PWD/spark/.venv/bin:$PATH" PYSPARK_PYTHON="$PWD/spark/.venv/bin/python" SPARK_LOCAL_IP=127.0.0.1
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
rows=$(($(wc -l <"$data") - 1))

start=$(date +%s.%N)
target/release/meterflow run jobs/ --input "$data" -o "$out/one.csv" -q --threads 2
one=$(awk "BEGIN { print $(date +%s.%N) - $start }")

start=$(date +%s.%N)
spark-submit --master 'local[2]' --driver-memory 2g --conf spark.ui.enabled=false spark/meterflow_spark.py jobs/ \
  --input "$data" --binary target/release/meterflow --output "$out/spark" --partitions 2 -q 2>"$out/spark.log" ||
  { cat "$out/spark.log" >&2; exit 1; }
spark=$(awk "BEGIN { print $(date +%s.%N) - $start }")

tail -n +2 "$out/one.csv" | sort >"$out/one.sorted"
for f in "$out"/spark/part-*; do tail -n +2 "$f"; done | sort >"$out/spark.sorted"
cmp -s "$out/one.sorted" "$out/spark.sorted" || { echo "the runner's points differ from one run's" >&2; exit 1; }
printf 'rows %s  one meterflow run (--threads 2) %.1f s  Spark runner local[2], 2 partitions %.1f s  (points equal)\n' \
  "$rows" "$one" "$spark"
