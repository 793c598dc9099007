#!/bin/sh
# Reading a file through a pipe against reading it by name: paired, alternating runs of the seed
# pipeline, `cat INPUT | meterflow run ...` and `meterflow run ... -i INPUT`, with the wall and CPU
# seconds (user + system of the whole command, `cat` included) and peak RSS from /usr/bin/time;
# the medians, and the median of the per-pair wall ratios. Outputs are compared with `cmp`.
#   bench/pipe.sh BINARY INPUT PAIRS [extra run flags...]
set -eu
bin=$1 input=$2 pairs=$3
shift 3
jobs="jobs/meter_max_min.yaml jobs/meter_reading_difference.yaml"
out=$(mktemp -d)
for i in $(seq "$pairs"); do
    /usr/bin/time -f "file %e %U %S %M" -a -o "$out/times" \
        "$bin" run $jobs -i "$input" -o "$out/file.csv" -q "$@"
    /usr/bin/time -f "pipe %e %U %S %M" -a -o "$out/times" \
        sh -c 'cat "$1" | "$2" run $3 -o "$4" -q' sh "$input" "$bin" "$jobs" "$out/pipe.csv"
    cmp -s "$out/file.csv" "$out/pipe.csv" || { echo "outputs differ" >&2; exit 1; }
done
python3 - "$out/times" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
walls = {}
for which in ("file", "pipe"):
    r = [x for x in rows if x[0] == which]
    walls[which] = [float(x[1]) for x in r]
    wall = statistics.median(walls[which])
    cpu = statistics.median(float(x[2]) + float(x[3]) for x in r)
    rss = statistics.median(int(x[4]) for x in r) / 1024
    print(f"{which}: wall {wall:.2f} s, cpu {cpu:.2f} s, peak RSS {rss:.0f} MiB (medians of {len(r)})")
ratios = [p / f for f, p in zip(walls["file"], walls["pipe"])]
print(f"pipe / file wall: {statistics.median(walls['pipe']) / statistics.median(walls['file']):.2f} (median of per-pair ratios {statistics.median(ratios):.2f})")
PY
rm -r "$out"
