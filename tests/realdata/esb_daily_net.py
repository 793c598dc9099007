#!/usr/bin/env python3
"""Daily net energy (import - export, kWh) per local day in Ireland of an ESB Networks HDF export,
computed independently of meterflow for tests/realdata.rs.

The export stamps each half hour with its *end*, in Europe/Dublin local time without an offset,
newest row first. On the fall-back night each local end time of the repeated hour appears twice per
series: newest first, the first occurrence is the later instant (fold=1, GMT), the second the
earlier (fold=0, IST). Each half hour belongs to the local day in which it starts (its end minus 30
minutes). A day's net is written when both series have a reading in it, stamped with the UTC
instant of that day's local midnight, as meterflow's local-day windows and ticks are.

Usage: esb_daily_net.py FILE  ->  CSV rows timestamp,asset,point,value on stdout.
"""

import csv
import math
import sys
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

DUBLIN = ZoneInfo("Europe/Dublin")
SERIES = {"Active Import Interval (kWh)": "import", "Active Export Interval (kWh)": "export"}


def main(path):
    seen = defaultdict(int)  # (asset, series, local text) -> occurrences so far
    days = defaultdict(lambda: defaultdict(list))  # (asset, local date) -> series -> values
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            asset, series = row["MPRN"], SERIES[row["Read Type"]]
            text = row["Read Date and End Time"]
            naive = datetime.strptime(text, "%d-%m-%Y %H:%M")
            key = (asset, series, text)
            seen[key] += 1
            local = naive.replace(tzinfo=DUBLIN)
            if local.replace(fold=0).utcoffset() != local.replace(fold=1).utcoffset():
                # A repeated local time: newest first, the first row is the later instant.
                local = local.replace(fold=1 if seen[key] == 1 else 0)
            end = local.astimezone(timezone.utc)
            start = end - timedelta(minutes=30)
            day = start.astimezone(DUBLIN).date()
            days[(asset, day)][series].append(float(row["Read Value"]))
    for (asset, day), by_series in sorted(days.items()):
        if "import" not in by_series or "export" not in by_series:
            continue
        net = math.fsum(by_series["import"]) - math.fsum(by_series["export"])
        midnight = datetime(day.year, day.month, day.day, tzinfo=DUBLIN).astimezone(timezone.utc)
        stamp = midnight.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        print(f"{stamp},{asset},NetKWh1d,{net!r}")


if __name__ == "__main__":
    main(sys.argv[1])
