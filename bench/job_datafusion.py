#!/usr/bin/env python3
"""Apache DataFusion: per (device, 10-min epoch-aligned tumbling window) max/min of value in [0,100).
usage: job_datafusion.py INPUT.csv OUTPUT.csv [threads]
Batch semantics: every row counts (no lateness cut-off). Output sorted by window_start, device,
byte for byte DuckDB's text (bench/job_duckdb.py). Windows are formatted after grouping."""
import sys, time
import datafusion
import pyarrow as pa
from datafusion import SessionConfig, SessionContext

t0 = time.perf_counter()
inp, out = sys.argv[1], sys.argv[2]
config = SessionConfig()
if len(sys.argv) > 3:
    config = config.with_target_partitions(int(sys.argv[3]))
ctx = SessionContext(config)
schema = pa.schema([("timestamp", pa.string()), ("device", pa.string()), ("point", pa.string()), ("value", pa.float64())])
ctx.register_csv("meters", inp, schema=schema, has_header=True)
ctx.sql("""
SELECT to_char("window", '%Y-%m-%dT%H:%M:%S.000Z') AS window_start, device, max, min
FROM (
  SELECT date_bin(INTERVAL '10 minutes', to_timestamp_millis("timestamp"), TIMESTAMP '1970-01-01T00:00:00') AS "window",
         device, max(value) AS max, min(value) AS min
  FROM meters
  WHERE value >= 0 AND value < 100
  GROUP BY 1, 2
)
ORDER BY "window", device
""").write_csv(out, with_header=True)
sys.stderr.write(f"datafusion {datafusion.__version__} in-tool {time.perf_counter()-t0:.3f}s\n")
