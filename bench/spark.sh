#!/usr/bin/env bash
# Measures the Spark runner (spark/meterflow_spark.py) in local[2], its data paths, against one
# `meterflow run` over the same generated file, in alternating rounds: wall time and CPU time of
# each whole process tree (bench/tree_time.py: the JVM, the Python driver and workers, every
# meterflow process), and checks in every round that every path gives exactly one run's points and
# late rows (as sorted rows). Each path also runs on the file's first 1000 rows: its fixed cost,
# from which the cost per row follows. Prints medians, CPU per input row, the processor and the
# load. The runner runs as documented (docs/guides/spark.md): spark/submit --master 'local[2]', a
# 2 GiB driver, the default partitions; spark/submit is spark-submit with the JVM's start options
# and a class-data archive, which it records on its first run: here an untimed run over the 1000-row
# file records it into a fresh folder first (spark/submit also compiles the native path's jar there).
# Needs a Java 17 JDK and spark/.venv (spark/run_tests.sh installs both).
#
# usage: bench/spark.sh [--runs N] [--paths "native jvm"] [--plain] [--java-options OPTS] [DEVICES]
#   DEVICES   meters in the generated file (default 1000: the 10M-row file of bench/run.sh;
#             200 gives 2M rows)
#   --runs N  rounds (default 3); the figures are medians
#   --paths   the data paths to time (default native and jvm, the Spark SQL path; python takes
#             minutes on 10M rows)
#   --plain   plain spark-submit instead of spark/submit: no archive, no JVM options (the native
#             path's jar still compiled by spark/native/build and given with --jars)
#   --java-options OPTS  more options for the Spark runs' JVM (--driver-java-options), e.g.
#             "-XX:+UseSerialGC"
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3
paths="native jvm"
plain=0
java_opts=
devices=1000
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --paths) paths="$2"; shift 2 ;;
    --plain) plain=1; shift ;;
    --java-options) java_opts="$2"; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bench/spark.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    *) devices="$1"; shift ;;
  esac
done

# The same generator call as bench/run.sh, so 1000 devices is its 10M-row file.
data="bench/data/meters_${devices}dev.csv"
[[ "$devices" == 1000 ]] && data=bench/data/meters_10m.csv
mkdir -p bench/data
if [[ ! -s "$data" ]]; then
  python3 bench/gen_meters.py "$devices" 1.7361111111 42 "$data.part"
  mv "$data.part" "$data"
fi
cargo build --release --locked
[[ -x spark/.venv/bin/spark-submit ]] || { echo "bench/spark.sh: no spark/.venv: run spark/run_tests.sh first" >&2; exit 1; }
export PATH="$PWD/spark/.venv/bin:$PATH" PYSPARK_PYTHON="$PWD/spark/.venv/bin/python" SPARK_LOCAL_IP=127.0.0.1
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
rows=$(($(wc -l <"$data") - 1))
head -n 1001 "$data" >"$out/small.csv"

one() {
  python3 bench/tree_time.py "$out/time" target/release/meterflow run jobs/ --input "$data" \
    -o "$out/one.csv" --late-output "$out/one.late.csv" -q
}
java_options=()
[[ -n "$java_opts" ]] && java_options=(--driver-java-options "$java_opts")
if [[ $plain == 1 ]]; then
  home=$(python -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
  java_options+=(--jars "$(spark/native/build "$home" "$out/cache")")
fi
# spark PATH [small]: the runner on the file (checked against one run) or on its first 1000 rows.
spark() {
  local input="$data"
  [[ $# -gt 1 ]] && input="$out/small.csv"
  rm -rf "$out/$1"
  python3 bench/tree_time.py "$out/time" "$submit" --master 'local[2]' --driver-memory 2g \
    "${java_options[@]}" --conf spark.ui.enabled=false spark/meterflow_spark.py jobs/ --input "$input" \
    --data-path "$1" --binary target/release/meterflow --output "$out/$1/points" --late-output "$out/$1/late" -q \
    2>"$out/$1.log" || { cat "$out/$1.log" >&2; exit 1; }
  [[ $# -gt 1 ]] && return
  for kind in points late; do
    for f in "$out/$1/$kind"/part-*; do tail -n +2 "$f"; done | LC_ALL=C sort >"$out/$1.$kind.sorted"
  done
  cmp -s "$out/one.points.sorted" "$out/$1.points.sorted" || { echo "the $1 path's points differ from one run's" >&2; exit 1; }
  cmp -s "$out/one.late.sorted" "$out/$1.late.sorted" || { echo "the $1 path's late rows differ from one run's" >&2; exit 1; }
}

submit=spark/submit
if [[ $plain == 1 ]]; then
  submit=spark-submit
else
  # spark/submit records the archive on its first run, which is not timed.
  export METERFLOW_SPARK_CACHE="$out/cache"
  spark jvm small
  [[ -n $(ls "$out/cache") ]] || { echo "bench/spark.sh: spark/submit recorded no class-data archive" >&2; exit 1; }
fi
one
tail -n +2 "$out/one.csv" | LC_ALL=C sort >"$out/one.points.sorted"
tail -n +2 "$out/one.late.csv" | LC_ALL=C sort >"$out/one.late.sorted"
# Each round times every contender once, the order rotated from round to round.
contenders=(one)
for p in $paths; do contenders+=("$p" "$p-1000"); done
for ((r = 0; r < runs; r++)); do
  for ((k = 0; k < ${#contenders[@]}; k++)); do
    c="${contenders[$(((k + r) % ${#contenders[@]}))]}"
    case "$c" in
      one) one ;;
      *-1000) spark "${c%-1000}" small ;;
      *) spark "$c" ;;
    esac
    read -r wall user sys _ <"$out/time"
    echo "$c $wall $user $sys $(cut -d' ' -f1 /proc/loadavg)" >>"$out/times"
    echo "round $((r + 1)) $c: wall $wall s, CPU $(awk "BEGIN { print $user + $sys }") s" >&2
  done
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
one_wall=$(awk '$1 == "one" { print $2 }' "$out/times" | median)
echo "processor: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load average during the runs: $(awk '{ print $5 }' "$out/times" | sort -n | sed -n '1p;$p' | paste -sd- -)"
echo "input: $data, $rows rows; $runs rounds, medians; points and late rows of every Spark run equal one run's"
[[ $plain == 0 ]] && echo "Spark runs through spark/submit (a class-data archive, -XX:CompileThresholdScaling=10)"
[[ -n "$java_opts" ]] && echo "Spark runs with the JVM options $java_opts"
printf '%-36s %9s %9s %12s %14s\n' "" "wall s" "CPU s" "CPU us/row" "wall / one run"
for c in "${contenders[@]}"; do
  wall=$(awk -v c="$c" '$1 == c { print $2 }' "$out/times" | median)
  cpu=$(awk -v c="$c" '$1 == c { print $3 + $4 }' "$out/times" | median)
  case "$c" in
    one) name="one meterflow run" n=$rows ;;
    *-1000) name="Spark runner, ${c%-1000} path, 1000 rows" n=1000 ;;
    *) name="Spark runner, $c path" n=$rows ;;
  esac
  printf '%-36s %9.2f %9.2f %12.3f %13.1fx\n' "$name" "$wall" "$cpu" "$(awk "BEGIN { print $cpu / $n * 1e6 }")" \
    "$(awk "BEGIN { print $wall / $one_wall }")"
done
# The cost of a row beyond the fixed cost: the difference between the file and its first 1000 rows.
for p in $paths; do
  awk -v p="$p" -v n="$rows" '
    $1 == p { w[++a] = $2; c[a] = $3 + $4 } $1 == p "-1000" { ws[++b] = $2; cs[b] = $3 + $4 }
    function med(v, k,   i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
                                    return (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2 }
    END { printf "%s path: fixed cost %.1f s CPU, %.1f s wall; per row beyond it %.3f us CPU, %.3f us wall\n",
          p, med(cs, b), med(ws, b), (med(c, a) - med(cs, b)) / (n - 1000) * 1e6, (med(w, a) - med(ws, b)) / (n - 1000) * 1e6 }' \
    "$out/times"
done
