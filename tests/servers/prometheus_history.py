#!/usr/bin/env python3
"""Deterministic usage history for the Prometheus integration tests (tests/it/usage_prometheus.rs).

Writes OpenMetrics files, one per day, for `promtool tsdb create-blocks-from openmetrics`:
8 days at 1-minute resolution ending at DATA_END (2026-01-05T00:00:00Z), namespace "shop":

  Deployment web, 2 pods x containers app + proxy, plus pod-level (container="") series and a
    pause container ("POD") on the first pod. app on web-...-abcde uses 0.2 cores, 0.8 while
    the hour (UTC) is 14; everything else is flat.
  StatefulSet db, pods db-0 and db-1, container postgres.
  DaemonSet agent, pod agent-x7k2p: CPU per container, memory only pod-level.
  Deployment fresh: the last 50 minutes only (10 points at a 5m step).
  A recording-rule-style gauge attune:container_cpu_usage:rate5m for web's app over the last day.

And in namespace "mall" (tests/it/controller_recommend_loop.rs): Deployment web, 2 pods x app,
  0.1 cores and 300Mi flat.

CPU is a counter (container_cpu_usage_seconds_total, so rate() works); memory a gauge
(container_memory_working_set_bytes). Every rate is constant over 5-minute-aligned spans and a
binary fraction times 60 per minute, so rate() over 5m windows at 5m-aligned instants returns
exactly these numbers (checked: Prometheus 2.42 computes increase x (1/300), which for 0.3 cores
gives 0.30000000000000004; every rate here survives it). The expected values are stated
independently in the Rust test.

Usage: prometheus_history.py OUT_DIR   (writes OUT_DIR/day-N.om)
"""
import os
import sys

DATA_END = 1767571200  # 2026-01-05T00:00:00Z; the tests use it as "now"
DAYS = 8
DATA_START = DATA_END - DAYS * 86400
MI = 1 << 20
NS = "shop"
MALL = "mall"
W1, W2 = "web-5d9c7b8f6d-abcde", "web-5d9c7b8f6d-fghij"


def spiky(base, peak):
    """Cores during the minute that starts at t - 60: peak while that minute is in hour 14 UTC."""
    return lambda t: peak if ((t - 60) // 3600) % 24 == 14 else base


def flat(value):
    return lambda t: value


def pod_sum(*rates):
    return lambda t: sum(rate(t) for rate in rates)


# (pod, container, cores per minute at sample time t, first sample time)
CPU = [
    (W1, "app", spiky(0.2, 0.8), DATA_START),
    (W1, "proxy", flat(0.05), DATA_START),
    (W1, "", pod_sum(spiky(0.2, 0.8), flat(0.05)), DATA_START),
    (W2, "app", flat(0.1), DATA_START),
    (W2, "proxy", flat(0.0625), DATA_START),
    ("db-0", "postgres", flat(0.5), DATA_START),
    ("db-1", "postgres", flat(0.25), DATA_START),
    ("agent-x7k2p", "agent", flat(0.125), DATA_START),
    ("fresh-6b7c8d9e5f-qrstu", "app", flat(0.25), DATA_END - 50 * 60),
]
# (pod, container, bytes, first sample time)
MEMORY = [
    (W1, "app", 300 * MI, DATA_START),
    (W1, "proxy", 64 * MI, DATA_START),
    (W1, "", 400 * MI, DATA_START),
    (W1, "POD", 1 * MI, DATA_START),
    (W2, "app", 256 * MI, DATA_START),
    (W2, "proxy", 80 * MI, DATA_START),
    ("db-0", "postgres", 1024 * MI, DATA_START),
    ("db-1", "postgres", 512 * MI, DATA_START),
    ("agent-x7k2p", "", 128 * MI, DATA_START),
    ("fresh-6b7c8d9e5f-qrstu", "app", 200 * MI, DATA_END - 45 * 60),
]
# The 5-minute rate, as a recording rule would store it, sampled each minute.
RECORDED = [
    (W1, "app", lambda t: 0.8 if 14 * 3600 + 300 <= t % 86400 <= 15 * 3600 else 0.2),
    (W2, "app", flat(0.1)),
]
RECORDED_START = DATA_END - 86400
M1, M2 = "web-7c8d9e5f6a-klmno", "web-7c8d9e5f6a-pqrst"
CPU_MALL = [(M1, "app", flat(0.1), DATA_START), (M2, "app", flat(0.1), DATA_START)]
MEMORY_MALL = [(M1, "app", 300 * MI, DATA_START), (M2, "app", 300 * MI, DATA_START)]


def labels(pod, container, ns=NS):
    return f'{{namespace="{ns}",pod="{pod}",container="{container}"}}'


def minutes(start, end):
    """Sample times in [start, end), clipped to the data range (DATA_END is included)."""
    t = max(start, DATA_START)
    stop = min(end, DATA_END + 1)
    while t < stop:
        yield t
        t += 60


def write_day(path, day_start, day_end, counters):
    with open(path, "w") as out:
        out.write("# TYPE container_cpu_usage_seconds counter\n")
        cpu = [(NS, *c) for c in CPU] + [(MALL, *c) for c in CPU_MALL]
        for i, (ns, pod, container, rate, first) in enumerate(cpu):
            name = "container_cpu_usage_seconds_total" + labels(pod, container, ns)
            for t in minutes(max(first, day_start), day_end):
                if t > first:
                    counters[i] += rate(t) * 60
                out.write(f"{name} {counters[i]!r} {t}\n")
        out.write("# TYPE container_memory_working_set_bytes gauge\n")
        memory = [(NS, *m) for m in MEMORY] + [(MALL, *m) for m in MEMORY_MALL]
        for ns, pod, container, value, first in memory:
            name = "container_memory_working_set_bytes" + labels(pod, container, ns)
            for t in minutes(max(first, day_start), day_end):
                out.write(f"{name} {value} {t}\n")
        out.write("# TYPE attune:container_cpu_usage:rate5m gauge\n")
        for pod, container, rate in RECORDED:
            name = "attune:container_cpu_usage:rate5m" + labels(pod, container)
            for t in minutes(max(RECORDED_START, day_start), day_end):
                out.write(f"{name} {rate(t)!r} {t}\n")
        out.write("# EOF\n")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: prometheus_history.py OUT_DIR")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    counters = [0.0] * (len(CPU) + len(CPU_MALL))
    for day in range(DAYS):
        day_start = DATA_START + day * 86400
        # The last day also holds DATA_END itself.
        day_end = day_start + 86400 + (1 if day == DAYS - 1 else 0)
        write_day(os.path.join(out_dir, f"day-{day}.om"), day_start, day_end, counters)


if __name__ == "__main__":
    main()
