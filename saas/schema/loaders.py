"""Per-request DataLoaders: a nested field costs one statement per level, whatever the page size.

Every domain, core or plugin, declares a loader as a name and a batch function; this module is
the one place that caches it on the request, runs the batch on the request's tenant-bound
session and puts the results in key order.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar, overload

from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from saas.schema.context import RequestContext

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@overload
def request_loader(
    context: RequestContext, name: str, batch: Callable[[Session, list[K]], Mapping[K, V]]
) -> DataLoader[K, V | None]: ...


@overload
def request_loader(
    context: RequestContext,
    name: str,
    batch: Callable[[Session, list[K]], Mapping[K, V]],
    *,
    missing: Callable[[], V],
) -> DataLoader[K, V]: ...


def request_loader(
    context: RequestContext,
    name: str,
    batch: Callable[[Session, list[K]], Mapping[K, Any]],
    *,
    missing: Callable[[], Any] | None = None,
) -> DataLoader[K, Any]:
    """The request's DataLoader called `name`, made from `batch` on its first use in the request.

    `batch(session, keys)` returns what it found as a mapping from key to value; the loader
    answers each `load(key)` with that value, or with `missing()` (None without `missing`;
    `missing=list` for one-to-many loaders) for a key the mapping lacks. Guarantees:

    - **One batch per level.** The keys loaded in one turn of the event loop (the fields of a
      page of parents) reach one `batch` call, so a nested field costs one statement whatever
      the page size (DataLoader batching).
    - **Tenant-bound.** The batch runs through `context.read`: on the request's session, bound to
      the caller's tenant, with row-level security and the ORM tenant criteria; another tenant's
      keys are simply not found and load as missing.
    - **Key order.** Results follow the order of the keys, not of the rows, because they are
      looked up in the mapping by key.
    - **Cached per request.** The loader lives in `context.loaders` under `name` until the request
      ends, so a key loaded twice in a request is read once, and nothing is shared between
      requests (or tenants). A name means one loader: the batch of its first use serves the
      request, so plugins prefix their names (`mfg.products`, `loyalty.points`).
    """
    loader: DataLoader[K, Any] | None = context.loaders.get(name)
    if loader is None:

        async def load(keys: list[K]) -> list[Any]:
            found = await context.read(batch, keys)
            return [found[key] if key in found else (missing() if missing else None) for key in keys]

        loader = context.loaders[name] = DataLoader(load_fn=load)
    return loader
