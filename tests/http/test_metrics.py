"""Metric labels stay bounded whatever operation names clients send."""

from __future__ import annotations

from saas.http.metrics import ANONYMOUS, OPERATION_LABEL_MAX_CHARS, OTHER, Metrics


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
