#!/usr/bin/env python3
"""Generate meterflow's bundled example input, ``samples/meters.csv``.

Usage (from the repository root)::

    python3 samples/generate.py > samples/meters.csv

What it makes
-------------
A long-format CSV (header ``timestamp,asset,point,value``) of electricity meter
readings for three meters (``meter-001``, ``meter-002``, ``meter-003``), point
``Reading``, every 15 seconds for two days starting 2024-03-01T00:00:00Z.
Each meter has a fixed phase offset (0 ms, 250 ms, 733 ms) so that
millisecond timestamps appear, and ``meter-001`` (offset 0) has readings that
fall exactly on 10-minute window boundaries. Timestamps are written as
``YYYY-MM-DDTHH:MM:SS.mmmZ``; values have exactly three decimals.

Values follow a plausible daily load curve (night base load, morning and
evening peaks, autocorrelated noise), mostly inside ``[0, 100)``, plus a few
deliberate outliers that the seed job's threshold ``[0, 100)`` must handle:
negative values, values of exactly ``100.000`` (excluded: half-open bound),
values above 100, and values of exactly ``0.000`` (included: closed bound).
``meter-002`` is offline for 40 minutes on the first afternoon, so some of its
10-minute windows are empty (no output row; the merge job carries values
forward with ``last_value``).

Why the arrival order is not sorted
-----------------------------------
The file order is the arrival order that meterflow replays. It is mostly in
event-time order (meters interleaved), but:

* about 0.5% of the rows arrive 20 s to 5 min late (they appear later in the
  file); with the seed job's ``latency: 1d`` they are on time or late within
  lateness;
* a few rows arrive 1 to 6 hours late (their window has closed but not
  expired: accepted and the window "computed again");
* eight rows arrive more than one day late: four are inserted in the file
  1 day + 30 min to 1 day + 6 h after their event time, four are appended at
  the end of the file. Each is late by more than 1 day + 10 minutes relative
  to the data around it, so the seed job (latency 1d, 10-minute windows)
  drops them as late beyond lateness. They carry conspicuous valid values
  (99.9xx or 0.0xx) so that wrongly accepting one changes the max or min.

Every reading appears exactly once (the arrival order is a permutation of the
event-time order), so there are no duplicate (asset, timestamp) pairs.

The output is deterministic: a fixed seed, the stdlib ``random`` module, no
dependence on the clock or the environment. Exact counts are in
``samples/README.md``; they are computed by ``samples/reference_model.py``.
"""

import math
import random
import sys
from datetime import datetime, timezone

SEED = 20240301
START_MS = 1709251200000  # 2024-03-01T00:00:00Z
STEP_MS = 15_000
DAYS = 2
STEPS = DAYS * 86_400_000 // STEP_MS  # 11,520 readings per meter before the gap
MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR

# (asset, phase offset in ms, base load, morning peak, evening peak, noise sd)
METERS = [
    ("meter-001", 0, 18.0, 35.0, 50.0, 2.5),
    ("meter-002", 250, 30.0, 25.0, 40.0, 3.0),
    ("meter-003", 733, 6.0, 30.0, 45.0, 2.0),
]

# meter-002 is offline from 13:05 to 13:45 on 2024-03-01 (no readings at all).
GAP_ASSET = "meter-002"
GAP_FROM_MS = START_MS + 13 * HOUR + 5 * MINUTE
GAP_TO_MS = START_MS + 13 * HOUR + 45 * MINUTE

N_NEGATIVE = 8
N_EXACT_100 = 6
N_ABOVE_100 = 7
N_EXACT_0 = 6
OUT_OF_ORDER_FRACTION = 0.005
N_HOURS_LATE = 6
N_VERY_LATE_INSERTED = 4
N_VERY_LATE_APPENDED = 4


def fmt_ts(ms):
    dt = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def fmt_value(v):
    s = "%.3f" % v
    if s == "-0.000":  # never write a negative zero
        s = "0.000"
    return s


def load_curve(hour, base, morning, evening):
    """Daily shape: night base load, a morning peak near 07:30, a midday
    plateau and an evening peak near 19:00."""
    m = morning * math.exp(-(((hour - 7.5) / 1.6) ** 2))
    e = evening * math.exp(-(((hour - 19.0) / 2.2) ** 2))
    mid = 0.35 * morning * math.exp(-(((hour - 13.0) / 3.0) ** 2))
    return base + m + e + mid


def make_readings(rng):
    """Return the readings in event-time order as dicts."""
    per_meter = []
    for idx, (asset, offset, base, morning, evening, sd) in enumerate(METERS):
        rows = []
        noise = 0.0
        day_factor = [1.0 + rng.uniform(-0.08, 0.08) for _ in range(DAYS)]
        for i in range(STEPS):
            ts = START_MS + i * STEP_MS + offset
            if asset == GAP_ASSET and GAP_FROM_MS <= ts < GAP_TO_MS:
                continue
            hour = ((ts - START_MS) % DAY) / HOUR
            day = (ts - START_MS) // DAY
            noise = 0.97 * noise + rng.gauss(0.0, sd * 0.25)
            v = load_curve(hour, base, morning, evening) * day_factor[day] + noise
            v = min(max(v, 0.5), 97.5)
            rows.append({"ts": ts, "asset": asset, "meter": idx, "value": round(v, 3)})
        per_meter.append(rows)
    readings = [r for rows in per_meter for r in rows]
    readings.sort(key=lambda r: (r["ts"], r["meter"]))
    for seq, r in enumerate(readings):
        r["seq"] = seq
        r["arrival"] = r["ts"]
    return readings


def main():
    rng = random.Random(SEED)
    readings = make_readings(rng)
    n = len(readings)
    end_ms = START_MS + DAYS * DAY

    # Disjoint sets of rows for each kind of anomaly.
    pool = list(range(n))
    rng.shuffle(pool)

    def take(k, pred=lambda r: True):
        chosen = []
        rest = []
        for i in pool:
            if len(chosen) < k and pred(readings[i]):
                chosen.append(i)
            else:
                rest.append(i)
        pool[:] = rest
        if len(chosen) < k:
            raise SystemExit("not enough candidate rows")
        return chosen

    # Very late rows: event time on day 1, early enough that window end + 1 day
    # is well before the data they arrive next to.
    inserted = take(
        N_VERY_LATE_INSERTED,
        lambda r: r["ts"] < START_MS + 17 * HOUR,
    )
    appended = take(
        N_VERY_LATE_APPENDED,
        lambda r: r["ts"] < START_MS + 22 * HOUR,
    )
    for k, i in enumerate(inserted + appended):
        r = readings[i]
        # conspicuous but valid values: a wrongly accepted one shows up.
        if k % 2 == 0:
            r["value"] = round(99.9 + rng.randint(1, 98) / 1000.0, 3)
        else:
            r["value"] = round(rng.randint(1, 98) / 1000.0, 3)
    for i in inserted:
        r = readings[i]
        delay = DAY + 30 * MINUTE + rng.randint(0, 330 * MINUTE)
        r["arrival"] = r["ts"] + delay
        assert r["arrival"] < end_ms - HOUR
    for k, i in enumerate(appended):
        readings[i]["arrival"] = end_ms + DAY + k  # after everything else

    # Rows late by hours: window closed but not expired (late within lateness).
    for i in take(N_HOURS_LATE, lambda r: r["ts"] < end_ms - 7 * HOUR):
        r = readings[i]
        r["arrival"] = r["ts"] + rng.randint(HOUR, 6 * HOUR)

    # Rows out of order by 20 s to 5 min.
    for i in take(round(n * OUT_OF_ORDER_FRACTION)):
        r = readings[i]
        r["arrival"] = r["ts"] + rng.randint(20_000, 5 * MINUTE)

    # Value outliers, on rows that arrive in event-time order (the pool holds
    # only rows not chosen above).
    for i in take(N_NEGATIVE):
        readings[i]["value"] = -round(rng.uniform(0.001, 12.0), 3)
    for i in take(N_EXACT_100):
        readings[i]["value"] = 100.0
    for i in take(N_ABOVE_100):
        readings[i]["value"] = round(rng.uniform(100.001, 180.0), 3)
    for i in take(N_EXACT_0):
        readings[i]["value"] = 0.0

    readings.sort(key=lambda r: (r["arrival"], r["seq"]))

    out = sys.stdout
    out.write("timestamp,asset,point,value\n")
    for r in readings:
        out.write("%s,%s,Reading,%s\n" % (fmt_ts(r["ts"]), r["asset"], fmt_value(r["value"])))


if __name__ == "__main__":
    main()
