#!/usr/bin/env bash
# Benchmarks meterflow against DuckDB and Polars: generates the input (bench/data/, not committed),
# builds the release binary, installs DuckDB and Polars into bench/.venv, then runs bench/bench.py,
# which times every tool in alternating rounds and writes the figures into bench/RESULTS.md.
#
# usage: bench/run.sh [--runs N] [--with-100m]
#   --runs N      rounds of every tool (default 5); the figures are medians
#   --with-100m   also pipe 10M and 100M generated rows into meterflow's stdin and compare peak
#                 memory (adds several minutes: the Python generator is the bottleneck)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --with-100m) extra+=(--with-100m); shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

mkdir -p bench/data
if [[ ! -s bench/data/meters_10m.csv ]]; then
  python3 bench/gen_meters.py 1000 1.7361111111 42 bench/data/meters_10m.csv.part
  mv bench/data/meters_10m.csv.part bench/data/meters_10m.csv
fi

cargo build --release --locked

if [[ ! -x bench/.venv/bin/python ]]; then
  python3 -m venv bench/.venv
fi
bench/.venv/bin/pip install --quiet --disable-pip-version-check -r bench/requirements.txt

bench/.venv/bin/python bench/bench.py --runs "$runs" "${extra[@]}"
