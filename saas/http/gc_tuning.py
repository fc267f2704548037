"""The garbage collector of a serving process: the application's objects frozen, collections rarer.

A worker builds its application once (schemas, compiled caches, the plugins' contributions: a few
hundred thousand long-lived objects) and then serves requests whose objects mostly die young,
freed by reference counting. With CPython's defaults every 700 net container allocations start a
young collection (several per request), and every so often a full collection walks every object
of the process, the application's included: a pause of several milliseconds that lands in some
request's latency (the p99 tail).

`tune_for_serving`, called by the server's application factory (`saas.cli.create_asgi_app`) once
the application is built, moves every object alive then into the permanent generation
(`gc.freeze`: never scanned again, and forked workers share their pages) and raises the young
generation's threshold so that collections run less often. Cycles are still collected; only the
objects of the start-up are left out. Tests and tools that build many applications in one process
do not call it (frozen objects are never freed).
"""

from __future__ import annotations

import gc

# Young collections every 20,000 net allocations instead of 700; the older generations' ratios
# stay CPython's, so a full collection still follows ten middle ones.
SERVING_THRESHOLDS = (20_000, 10, 10)


def tune_for_serving() -> None:
    """Collect once, freeze what is alive (the application), and raise the young threshold."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVING_THRESHOLDS)
