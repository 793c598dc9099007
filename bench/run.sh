#!/usr/bin/env bash
# Benchmarks meterflow against its peers (DuckDB, Polars, chdb, DataFusion): generates the inputs
# (bench/data/, not committed), builds the release binary, installs the peers into bench/.venv, then
# runs bench/bench.py, which checks every peer byte-identical to DuckDB on the 100k-row file (and
# stops if one differs), times every tool in alternating rounds on the 10M-row file and writes the
# figures into bench/RESULTS.md.
#
# usage: bench/run.sh [--runs N] [--peers LIST] [--with-100m]
#   --runs N       rounds of every tool (default 5); the figures are medians
#   --peers LIST   comma-separated peers to time, of duckdb,polars,chdb,datafusion (default all)
#   --with-100m    also pipe 10M and 100M generated rows into meterflow's stdin and compare peak
#                  memory (adds several minutes: the Python generator is the bottleneck)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --peers) extra+=(--peers "$2"); shift 2 ;;
    --with-100m) extra+=(--with-100m); shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

# Debian package names of what the script needs beyond Rust and Python.
need=()
[[ -x /usr/bin/time ]] || need+=(time)
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
if [[ ${#need[@]} -gt 0 ]]; then
  echo "installing ${need[*]} with apt-get" >&2
  apt-get update -qq && apt-get install -y -qq "${need[@]}"
fi

# generate NAME DEVICES DAYS: bench/data/NAME, unless it is already there.
generate() {
  if [[ ! -s bench/data/$1 ]]; then
    python3 bench/gen_meters.py "$2" "$3" 42 "bench/data/$1.part"
    mv "bench/data/$1.part" "bench/data/$1"
  fi
}
mkdir -p bench/data
generate meters_10m.csv 1000 1.7361111111
# 100 meters over 1000 readings (about 4 hours, 2,500 windows): the file the peers' outputs are
# checked on before anything is timed.
generate meters_100k.csv 100 0.1736111111

cargo build --release --locked

if [[ ! -x bench/.venv/bin/python ]]; then
  python3 -m venv bench/.venv
fi
bench/.venv/bin/pip install --quiet --disable-pip-version-check -r bench/requirements.txt

bench/.venv/bin/python bench/bench.py --runs "$runs" "${extra[@]}"
