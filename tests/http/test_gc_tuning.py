"""The serving process's garbage collector (saas/http/gc_tuning.py): start-up objects frozen, rarer young collections."""

from __future__ import annotations

import gc
import weakref

from saas.http.gc_tuning import SERVING_THRESHOLDS, tune_for_serving


class _Box:
    pass


def test_tune_for_serving_freezes_the_living_objects_and_raises_the_threshold() -> None:
    before = gc.get_threshold()
    alive = _Box()
    try:
        tune_for_serving()
        assert gc.get_threshold() == SERVING_THRESHOLDS
        assert gc.get_freeze_count() > 0
        # A frozen object is still freed by reference counting ...
        gone = weakref.ref(alive)
        del alive
        assert gone() is None
        # ... and a cycle made after start-up is still collected.
        young = _Box()
        young.cycle = young  # type: ignore[attr-defined]
        collected = weakref.ref(young)
        del young
        gc.collect()
        assert collected() is None
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
