"""A run cut into equal time buckets, for the plots: throughput, errors and latency over time."""

from zdtbench.collection import traffic


def timeline(samples, begin, end, width):
    """Per bucket of ``width`` seconds from ``begin`` (times relative to begin):
    t (bucket start), ok_per_s, errors {outcome class: count} (only classes seen),
    p50_ms / p99_ms of the ok requests that started in it (None when there were none)."""
    count = max(1, int((end - begin) / width + 0.999999))
    ok_latencies = [[] for _slot in range(count)]
    errors = [{} for _slot in range(count)]
    for sample in samples:
        slot = int((sample.start - begin) / width)
        if not 0 <= slot < count:
            continue
        if sample.outcome == traffic.OK:
            ok_latencies[slot].append(sample.latency)
        else:
            errors[slot][sample.outcome] = errors[slot].get(sample.outcome, 0) + 1
    buckets = []
    for slot in range(count):
        stats = traffic.latency_stats(ok_latencies[slot])
        # The last bucket may be cut short by the end of the load: its rate is over what it covers.
        covered = min(width, end - begin - slot * width)
        buckets.append(dict(t=round(slot * width, 3),
                            ok_per_s=round(len(ok_latencies[slot]) / covered, 1) if covered > 0 else 0.0,
                            errors=errors[slot], p50_ms=stats['p50'], p99_ms=stats['p99']))
    return buckets
