"""Prometheus metrics of one application, on its own registry (several apps may share a process)."""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest

OPERATION_LABEL_MAX_CHARS = 64
# Operation names come from clients: past this many distinct names, new ones are counted as
# "other" so that a client cannot grow the number of series without bound.
MAX_DISTINCT_OPERATIONS = 500
ANONYMOUS = "anonymous"
UNKNOWN = "unknown"
OTHER = "other"

DURATION_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _unobservable(metric: Counter | Histogram) -> ValueError:
    return ValueError(f"{metric._type} metric is missing label values")


class LabelledCounter(Counter):
    """prometheus' `Counter` whose `inc` checks that it may be counted inline.

    `Counter.inc` asks `_raise_if_not_observable`, which asks `_is_observable`: two calls per
    increment to find out whether the metric has label names but no label values (the labelled
    parent, which holds no value). The same condition is tested here, the same error raised;
    the increment goes to the same value. Exemplars and negative amounts take `Counter.inc`."""

    def inc(self, amount: float = 1, exemplar: dict[str, str] | None = None) -> None:
        if exemplar or amount < 0:
            super().inc(amount, exemplar)
            return
        if self._labelnames and not self._labelvalues:
            raise _unobservable(self)
        self._value.inc(amount)


class BisectHistogram(Histogram):
    """prometheus' `Histogram` whose `observe` finds the amount's bucket by bisection.

    `Histogram.observe` walks the upper bounds in Python until the first one at or above the
    amount; `bisect_left` over the same sorted list (the last bound is always +Inf) gives that
    index in C, so the same bucket and the sum are incremented, through the same values, and
    the exposition is the same. Whether it may be observed is tested inline (`LabelledCounter`).
    NaN (no bound is at or above it: no bucket) and exemplars take `Histogram.observe` itself."""

    def observe(self, amount: float, exemplar: dict[str, str] | None = None) -> None:
        if exemplar or amount != amount:  # an exemplar, or NaN
            super().observe(amount, exemplar)
            return
        if self._labelnames and not self._labelvalues:
            raise _unobservable(self)
        self._sum.inc(amount)
        self._buckets[bisect_left(self._upper_bounds, amount)].inc(1)


class Metrics:
    def __init__(self, max_distinct_operations: int = MAX_DISTINCT_OPERATIONS) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.graphql_requests = LabelledCounter(
            "graphql_requests_total",
            "GraphQL operations served, by operation name, type and outcome.",
            ["operation", "type", "outcome"],
            registry=self.registry,
        )
        self.graphql_duration = BisectHistogram(
            "graphql_request_duration_seconds",
            "Time to serve a GraphQL query or mutation, by operation name and type.",
            ["operation", "type"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.graphql_errors = LabelledCounter(
            "graphql_errors_total",
            "GraphQL errors returned, by operation name and error code.",
            ["operation", "code"],
            registry=self.registry,
        )
        self.http_requests = LabelledCounter(
            "http_requests_total",
            "HTTP requests served, by route and status code.",
            ["path", "status"],
            registry=self.registry,
        )
        self._max_distinct_operations = max_distinct_operations
        self._operations: set[str] = set()
        # The labelled children already asked for: `labels()` validates and locks on every call,
        # a dictionary look-up does not (the label sets are bounded, so is this).
        self._children: dict[tuple[Any, ...], Any] = {}

    def child(self, metric: Counter | Histogram, *labels: str) -> Any:
        """`metric.labels(*labels)`, kept: the same child object for the same labels."""
        key = (id(metric), *labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def count_http(self, path: str, status: int) -> None:
        """One HTTP request answered (`path`: a route of the application, or "other")."""
        self.child(self.http_requests, path, str(status)).inc()

    def operation_label(self, name: str | None) -> str:
        """The bounded label for an operation name (None: anonymous)."""
        if name is None:
            return ANONYMOUS
        label = name[:OPERATION_LABEL_MAX_CHARS]
        if label in self._operations:
            return label
        if len(self._operations) >= self._max_distinct_operations:
            return OTHER
        self._operations.add(label)
        return label

    def render(self) -> bytes:
        # The process-wide collectors (db_statements_total, Python's runtime) follow the app's own.
        return generate_latest(self.registry) + generate_latest(REGISTRY)
