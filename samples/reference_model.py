#!/usr/bin/env python3
"""Independent reference model of the Time Window Aggregation rules (docs/reference/contract.md,
section 3), used to cross-check meterflow.

This is NOT meterflow and shares no code with it: a small pure-stdlib Python
re-statement of the rules of the Time Window Aggregation template in ``final``
emit mode with the default per-series watermark, written from the platform's
rules only. It produces the expected output of the seed job
``jobs/meter_max_min.yaml`` on ``samples/meters.csv``, which is compared with
meterflow's output after sorting both by (timestamp, asset, point).

Rules modelled (seed job: latency 1d, threshold ``[0, 100)``, ``max`` and
``min`` over tumbling 10-minute windows):

* readings are processed in file (arrival) order;
* series = (asset, point); the watermark ``W`` of a series is the largest
  timestamp seen so far on it, advanced by every well-formed reading, also one
  outside the threshold;
* the threshold is applied first: a value outside ``[0, 100)`` is never
  aggregated and never counted as late;
* window ``[s, e)`` with ``s = floor(ts / 10 min) * 10 min`` on epoch ms,
  stamped at ``s``;
* with ``W`` the series watermark before the reading: ``W >= e + latency``
  means late beyond lateness (dropped); ``e <= W < e + latency`` late within
  lateness (accepted, window recomputed); otherwise on time;
* ``final`` mode: one row per (asset, output point, window start) holding the
  aggregate over every accepted valid reading; a window with no accepted valid
  value writes nothing. Arrival order among accepted readings cannot change a
  max or a min, so only the set of accepted readings matters.

Numbers are formatted like JavaScript ``String(x)`` (shortest round-trip,
integers without a fraction), timestamps as ``YYYY-MM-DDTHH:MM:SS.mmmZ``.

Usage::

    python3 samples/reference_model.py samples/meters.csv > samples/expected_meter_max_min.csv
    python3 samples/reference_model.py --stats samples/meters.csv
    python3 samples/reference_model.py --pipeline samples/meters.csv   # also ReadingDifference

``--pipeline`` adds the rows of ``jobs/meter_reading_difference.yaml`` (frequency
trigger every 10m, last_value, merge latency 0s, final mode) fed by the
window job's output: per asset, for each tick T (multiple of 10 min) from the
earliest to the latest window start with output, Max - Min of the latest
window start at or before T. All output is sorted by (timestamp, asset, point).
"""

import csv
import math
import sys
from datetime import datetime, timezone

WINDOW_MS = 10 * 60_000
LATENCY_MS = 24 * 3_600_000
LO, HI = 0.0, 100.0  # threshold [0, 100)
EVERY_MS = 10 * 60_000  # merge job trigger


def parse_ts(text):
    """RFC 3339 with Z/offset and optional fraction, or epoch milliseconds."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    delta = dt - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def fmt_ts(ms):
    dt = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def fmt_num(x):
    """JavaScript String(x) for finite doubles."""
    if x == 0:
        return "0"
    if x == int(x) and abs(x) < 1e21:
        return str(int(x))
    r = repr(x)  # shortest round-trip digits
    if "e" not in r and "E" not in r:
        return r
    # Re-layout the shortest digits with JavaScript's exponent thresholds.
    mant, exp = r.lower().split("e")
    exp = int(exp)
    sign = "-" if mant.startswith("-") else ""
    mant = mant.lstrip("-")
    if "." in mant:
        ip, fp = mant.split(".")
    else:
        ip, fp = mant, ""
    digits = (ip + fp).lstrip("0") or "0"
    point = exp + len(ip)  # value = 0.digits * 10^point
    if -6 < point <= 21:
        if point <= 0:
            return sign + "0." + "0" * (-point) + digits
        if point >= len(digits):
            return sign + digits + "0" * (point - len(digits))
        return sign + digits[:point] + "." + digits[point:]
    e = point - 1
    m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return sign + m + "e" + ("+" if e > 0 else "-") + str(abs(e))


def window_start(ts):
    return (ts // WINDOW_MS) * WINDOW_MS  # Python // is floor division


def run(path):
    """Replay the file; return (accepted aggregates, stats)."""
    wm = {}  # series -> watermark
    agg = {}  # (asset, window start) -> [max, min]
    st = {
        "rows": 0,
        "rows_per_asset": {},
        "out_of_threshold": 0,
        "out_of_threshold_kinds": {"negative": 0, "exactly_100": 0, "above_100": 0},
        "exactly_0": 0,
        "out_of_order": 0,  # ts < series watermark before it (any value)
        "out_of_order_valid": 0,
        "out_of_order_on_time": 0,  # valid, out of order, but W < e
        "late_within": 0,  # valid, e <= W < e + latency
        "late_beyond": 0,  # valid, W >= e + latency (dropped)
        "late_beyond_rows": [],
        "out_of_order_global": 0,  # ts < max ts of the whole file so far
        "windows_touched": {},  # asset -> set of window starts with any reading
    }
    gmax = None
    with open(path, newline="") as f:
        rd = csv.reader(f)
        header = next(rd)
        assert header == ["timestamp", "asset", "point", "value"], header
        for line_no, row in enumerate(rd, start=2):
            ts_text, asset, point, value_text = row
            ts = parse_ts(ts_text)
            v = float(value_text)
            st["rows"] += 1
            st["rows_per_asset"][asset] = st["rows_per_asset"].get(asset, 0) + 1
            if gmax is not None and ts < gmax:
                st["out_of_order_global"] += 1
            gmax = ts if gmax is None else max(gmax, ts)
            series = (asset, point)
            w = wm.get(series)
            wm[series] = ts if w is None else max(w, ts)
            s = window_start(ts)
            e = s + WINDOW_MS
            st["windows_touched"].setdefault(asset, set()).add(s)
            ooo = w is not None and ts < w
            if ooo:
                st["out_of_order"] += 1
            if point != "Reading":
                continue
            if v == 0:
                st["exactly_0"] += 1
            if not (LO <= v < HI):
                st["out_of_threshold"] += 1
                k = "negative" if v < 0 else ("exactly_100" if v == 100 else "above_100")
                st["out_of_threshold_kinds"][k] += 1
                continue
            if ooo:
                st["out_of_order_valid"] += 1
            if w is not None and w >= e + LATENCY_MS:
                st["late_beyond"] += 1
                st["late_beyond_rows"].append((line_no, ts_text, asset, value_text, fmt_ts(w)))
                continue
            if w is not None and w >= e:
                st["late_within"] += 1
            elif ooo:
                st["out_of_order_on_time"] += 1
            a = agg.get((asset, s))
            if a is None:
                agg[(asset, s)] = [v, v]
            else:
                a[0] = max(a[0], v)
                a[1] = min(a[1], v)
    st["watermarks"] = {k[0]: fmt_ts(v) for k, v in wm.items()}
    return agg, st


def window_rows(agg):
    rows = []
    for (asset, s), (mx, mn) in agg.items():
        rows.append((fmt_ts(s), asset, "MaxReading10Min", fmt_num(mx)))
        rows.append((fmt_ts(s), asset, "MinReading10Min", fmt_num(mn)))
    return rows


def difference_rows(agg):
    rows = []
    by_asset = {}
    for (asset, s), (mx, mn) in agg.items():
        by_asset.setdefault(asset, {})[s] = (mx, mn)
    for asset, wins in by_asset.items():
        starts = sorted(wins)
        first, last = starts[0], starts[-1]
        t = -(-first // EVERY_MS) * EVERY_MS  # first tick >= earliest operand ts
        j = -1
        while t <= last:
            while j + 1 < len(starts) and starts[j + 1] <= t:
                j += 1
            if j >= 0:
                mx, mn = wins[starts[j]]
                d = mx - mn
                if math.isfinite(d):
                    rows.append((fmt_ts(t), asset, "ReadingDifference", fmt_num(d)))
            t += EVERY_MS
    return rows


def main(argv):
    stats = "--stats" in argv
    pipeline = "--pipeline" in argv
    paths = [a for a in argv if not a.startswith("--")]
    if len(paths) != 1:
        sys.exit("usage: reference_model.py [--stats|--pipeline] INPUT.csv")
    agg, st = run(paths[0])
    if stats:
        windows_with_output = {}
        for asset, _ in agg:
            windows_with_output[asset] = windows_with_output.get(asset, 0) + 1
        out = dict(st)
        out["windows_touched"] = {a: len(s) for a, s in st["windows_touched"].items()}
        out["windows_with_output"] = windows_with_output
        out["window_rows"] = 2 * len(agg)
        out["difference_rows"] = len(difference_rows(agg))
        for k, v in out.items():
            if k == "late_beyond_rows":
                print(k + ":")
                for r in v:
                    print("   line %d: %s %s value %s (series W at arrival %s)" % r)
            else:
                print("%s: %s" % (k, v))
        return
    rows = window_rows(agg)
    if pipeline:
        rows += difference_rows(agg)
    rows.sort()
    w = sys.stdout
    w.write("timestamp,asset,point,value\n")
    for r in rows:
        w.write(",".join(r) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
