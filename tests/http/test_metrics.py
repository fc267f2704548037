"""Metric labels stay bounded whatever operation names clients send; the duration histogram
exposes what prometheus' own does."""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from saas.http.metrics import (
    ANONYMOUS,
    DURATION_BUCKETS,
    OPERATION_LABEL_MAX_CHARS,
    OTHER,
    BisectHistogram,
    LabelledCounter,
    Metrics,
)


def test_anonymous_and_clipped_names() -> None:
    metrics = Metrics()
    assert metrics.operation_label(None) == ANONYMOUS
    assert metrics.operation_label("x" * 500) == "x" * OPERATION_LABEL_MAX_CHARS


def test_distinct_names_are_bounded() -> None:
    metrics = Metrics(max_distinct_operations=2)
    assert metrics.operation_label("A") == "A"
    assert metrics.operation_label("B") == "B"
    assert metrics.operation_label("C") == OTHER
    assert metrics.operation_label("A") == "A"  # names seen before keep their label


def exposition(registry: CollectorRegistry) -> list[str]:
    """The text format's lines but the creation times (a clock reading each)."""
    return [line for line in generate_latest(registry).decode().splitlines() if "_created" not in line]


def test_the_duration_histogram_exposes_what_prometheus_histogram_does() -> None:
    """`BisectHistogram` finds the bucket by bisection: every bound exactly, between bounds, below
    the first, past the last, zero, negative, infinite and NaN amounts land where prometheus'
    `Histogram` puts them, per label set, in the same exposition."""
    amounts = [*DURATION_BUCKETS, *(b * 0.999 for b in DURATION_BUCKETS), *(b * 1.001 for b in DURATION_BUCKETS)]
    amounts += [0.0, -1.0, 1e-9, 11.0, 1e9, math.inf, -math.inf, math.nan]
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    for cls, registry in ((BisectHistogram, ours), (Histogram, theirs)):
        histogram = cls("duration_seconds", "Durations.", ["operation"], buckets=DURATION_BUCKETS, registry=registry)
        for i, amount in enumerate(amounts):
            histogram.labels("A" if i % 3 else "B").observe(amount)
        histogram.labels("C").observe(0.3, {"trace_id": "abc"})  # with an exemplar: prometheus' own path
    assert exposition(ours) == exposition(theirs)
    assert 'duration_seconds_bucket{le="0.0025",operation="B"}' in "\n".join(exposition(ours))


def test_the_operations_duration_reaches_metrics_by_its_bucket() -> None:
    """Through `Metrics.child` as the operation record observes: counts per bucket, cumulative."""
    metrics = Metrics()
    for duration in (0.001, 0.0025, 0.003, 0.2, 20.0):
        metrics.child(metrics.graphql_duration, "Op", "query").observe(duration)
    text = metrics.render().decode()
    for le, count in (("0.0025", 2), ("0.005", 3), ("0.1", 3), ("0.25", 4), ("10.0", 4), ("+Inf", 5)):
        assert f'graphql_request_duration_seconds_bucket{{le="{le}",operation="Op",type="query"}} {count}.0' in text
    assert 'graphql_request_duration_seconds_count{operation="Op",type="query"} 5.0' in text
    with pytest.raises(ValueError, match="missing label values"):
        metrics.graphql_duration.observe(0.1)  # the labelled parent is not observable, as before


def test_the_counters_expose_what_prometheus_counter_does() -> None:
    """`LabelledCounter` tests inline whether it may count: the same values, the same refusals."""
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    for cls, registry in ((LabelledCounter, ours), (Counter, theirs)):
        counter = cls("served_total", "Served.", ["path", "status"], registry=registry)
        for i, amount in enumerate([1, 1, 2.5, 0, 1, math.inf]):
            counter.labels("/graphql", "200" if i % 2 else "400").inc(amount)
        counter.labels("/graphql", "500").inc(1, {"trace_id": "abc"})
        with pytest.raises(ValueError, match="counter metric is missing label values"):
            counter.inc()
        with pytest.raises(ValueError, match="non-negative"):
            counter.labels("/graphql", "200").inc(-1)
    assert exposition(ours) == exposition(theirs)
