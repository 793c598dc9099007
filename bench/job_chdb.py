#!/usr/bin/env python3
"""chdb (embedded ClickHouse): per (device, 10-min epoch-aligned tumbling window) max/min of value in [0,100).
usage: job_chdb.py INPUT.csv OUTPUT.csv [threads]
Batch semantics: every row counts (no lateness cut-off). Output sorted by window_start, device,
byte for byte DuckDB's text (bench/job_duckdb.py): ClickHouse writes a whole double without a
fraction ("48") where DuckDB writes "48.0", so the aggregates are formatted here (the values are
in [0,100), never in exponent form), and strings are written unquoted.
Timestamps are read as text and parsed in the query: faster here than a DateTime64 column read
with best-effort parsing. Windows are formatted after grouping (250k rows, not 10M)."""
import sys, time
import chdb

t0 = time.perf_counter()
inp, out = sys.argv[1], sys.argv[2]
threads = f", max_threads={int(sys.argv[3])}" if len(sys.argv) > 3 else ""
chdb.query(f"""
SELECT formatDateTime(window, '%Y-%m-%dT%H:%i:%S.000Z', 'UTC') AS window_start, device,
       if(position(toString(max), '.') = 0, toString(max) || '.0', toString(max)) AS max,
       if(position(toString(min), '.') = 0, toString(min) || '.0', toString(min)) AS min
FROM (
  SELECT toStartOfInterval(parseDateTime64BestEffort(timestamp, 3, 'UTC'), INTERVAL 10 MINUTE) AS window,
         device, max(value) AS max, min(value) AS min
  FROM file('{inp}', 'CSVWithNames', 'timestamp String, device String, point String, value Float64')
  WHERE value >= 0 AND value < 100
  GROUP BY window, device
)
ORDER BY window, device
INTO OUTFILE '{out}' TRUNCATE
FORMAT CustomSeparatedWithNames
SETTINGS format_custom_escaping_rule='Raw', format_custom_field_delimiter=','{threads}
""")
sys.stderr.write(f"chdb {chdb.__version__} in-tool {time.perf_counter()-t0:.3f}s\n")
