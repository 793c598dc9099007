#!/usr/bin/env bash
# Rows per second into a local PostgreSQL: the seed pipeline (jobs/) over the 10M-row benchmark
# input, written to /dev/null as CSV (the baseline), then into an empty table, then again into the
# full table (a rerun: every row meets its equal and nothing is rewritten). Starts a throwaway
# server (initdb in a temporary directory as the `postgres` user when run as root, 127.0.0.1,
# port 5449, default durability settings: fsync on) and stops it at the end.
#
# usage: bench/pg.sh [INPUT.csv] [BATCH]   (default bench/data/meters_10m.csv, made by bench/run.sh's
#        generator when missing; BATCH rows per transaction, default meterflow's 10000)
set -euo pipefail
cd "$(dirname "$0")/.."

input="${1:-bench/data/meters_10m.csv}"
batch="${2:-10000}"
port=5449
if [[ ! -s "$input" ]]; then
  mkdir -p "$(dirname "$input")"
  python3 bench/gen_meters.py 1000 1.7361111111 42 "$input.part"
  mv "$input.part" "$input"
fi

bin=$(dirname "$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
[[ -x "$bin/initdb" ]] || { echo "bench/pg.sh: no PostgreSQL server binaries (install postgresql)" >&2; exit 1; }
cargo build --release --locked

dir=$(mktemp -d /tmp/meterflow-pg-bench.XXXXXX)
as_pg=()
if [[ $(id -u) == 0 ]]; then
  chown postgres: "$dir"
  as_pg=(runuser -u postgres --)
fi
password=bench-password
echo "$password" > "$dir/pw"
[[ ${#as_pg[@]} -gt 0 ]] && chown postgres: "$dir/pw"
stop() { "${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap stop EXIT
"${as_pg[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A scram-sha-256 --pwfile "$dir/pw" -E UTF8 >/dev/null
"${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir" start >/dev/null

export PGPASSWORD=$password
uri="postgresql://postgres@127.0.0.1:$port/postgres?table=points&batch=$batch"
mf=target/release/meterflow

timed() {
  local start end
  start=$(date +%s.%N)
  "$@"
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}

rows=$($mf run jobs/ -i "$input" -q | tail -n +2 | wc -l)
csv=$(timed $mf run jobs/ -i "$input" -q -o /dev/null)
first=$(timed $mf run jobs/ -i "$input" -q -o "$uri")
rerun=$(timed $mf run jobs/ -i "$input" -q -o "$uri")
stored=$(psql -h 127.0.0.1 -p $port -U postgres -At -c "SELECT count(*) FROM points" postgres)
size=$(psql -h 127.0.0.1 -p $port -U postgres -At -c "SELECT pg_size_pretty(pg_total_relation_size('points'))" postgres)

echo "input: $input; output rows: $rows; batch: $batch rows; table rows: $stored ($size)"
printf 'CSV to /dev/null:   %6.2f s\n' "$csv"
printf 'into empty table:   %6.2f s  %8.0f rows/s\n' "$first" "$(echo "$rows / $first" | bc -l)"
printf 'rerun (no change):  %6.2f s  %8.0f rows/s\n' "$rerun" "$(echo "$rows / $rerun" | bc -l)"
