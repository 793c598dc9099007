#!/bin/sh
# Paired, alternating runs of two meterflow binaries on the seed pipeline (or the job files in
# JOBS): per run the wall seconds, CPU seconds (user + system) and peak RSS from /usr/bin/time,
# then the medians.
#   bench/pairs.sh BASE_BINARY NEW_BINARY INPUT PAIRS [extra run flags...]
#   JOBS=bench/jobs/point_merge_if.yaml bench/pairs.sh ...
set -eu
base=$1 new=$2 input=$3 pairs=$4
shift 4
jobs=${JOBS:-"jobs/meter_max_min.yaml jobs/meter_reading_difference.yaml"}
out=$(mktemp -d)
for i in $(seq "$pairs"); do
    for which in base new; do
        bin=$base
        [ "$which" = new ] && bin=$new
        /usr/bin/time -f "$which %e %U %S %M" -a -o "$out/times" \
            "$bin" run $jobs -i "$input" -o "$out/$which.csv" -q "$@"
    done
    cmp -s "$out/base.csv" "$out/new.csv" || { echo "outputs differ" >&2; exit 1; }
done
python3 - "$out/times" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
for which in ("base", "new"):
    r = [x for x in rows if x[0] == which]
    wall = statistics.median(float(x[1]) for x in r)
    cpu = statistics.median(float(x[2]) + float(x[3]) for x in r)
    rss = statistics.median(int(x[4]) for x in r) / 1024
    print(f"{which}: wall {wall:.2f} s, cpu {cpu:.2f} s, peak RSS {rss:.0f} MiB (medians of {len(r)})")
PY
rm -r "$out"
