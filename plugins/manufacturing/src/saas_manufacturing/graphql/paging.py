"""Turning a service's keyset page into a Relay connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from saas.plugin_api import PageInfo, encode_cursor
from saas_manufacturing.service.common import Page


def connection(
    page: Page,
    connection_type: type,
    edge_type: type,
    to_node: Callable[[Any], Any],
    sort_key: Callable[[Any], list[Any]],
    after: str | None,
) -> Any:
    edges = [edge_type(node=to_node(row), cursor=encode_cursor(sort_key(row))) for row in page.rows]
    return connection_type(
        edges=edges,
        page_info=PageInfo.of(edges, has_next_page=page.has_next_page, has_previous_page=after is not None),
        total_count=page.total_count,
    )
