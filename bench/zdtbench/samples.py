"""The per-request record of the benchmark and its file format between processes.

A Sample is the part of the request engine's Result the benchmark needs: when the request
started (time.monotonic(), the same clock in every process of the machine), how long it took,
its outcome class (the engine's OUTCOMES), the HTTP status and the X-App-Version it was answered
with. It has the Result's field names, so the engine's summarize() takes Samples as they are.
"""

import collections
import json

Sample = collections.namedtuple('Sample', 'start latency outcome status version')


def from_result(result):
    """Sample of one request engine Result."""
    return Sample(result.start, result.latency, result.outcome, result.status, result.version)


def dump(samples, handle):
    """Write samples as one JSON document of rows (compact: a run holds ~10^5 of them)."""
    json.dump({'fields': list(Sample._fields), 'rows': [list(sample) for sample in samples]},
              handle, separators=(',', ':'))


def load(handle):
    """Samples written by dump()."""
    document = json.load(handle)
    if document.get('fields') != list(Sample._fields):
        raise ValueError('not a samples file (fields %r)' % document.get('fields'))
    return [Sample(*row) for row in document['rows']]


def merge(*groups):
    """One list of samples ordered by start time."""
    merged = [sample for group in groups for sample in group]
    merged.sort(key=lambda sample: sample.start)
    return merged
