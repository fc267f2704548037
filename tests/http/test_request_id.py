"""Request ids: a sane caller's id is kept; otherwise a fresh random UUID (version 4) in hex."""

from __future__ import annotations

import uuid

import pytest

from saas.http.request_id import choose_request_id, new_request_id


def test_new_ids_are_version_4_uuids_in_hex() -> None:
    made = [new_request_id() for _ in range(200)]
    assert len(set(made)) == 200
    for rid in made:
        parsed = uuid.UUID(hex=rid)
        assert parsed.hex == rid and len(rid) == 32
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


@pytest.mark.parametrize("incoming", ["abc-123.DEF:9_z", "x" * 64, "7"])
def test_sane_ids_are_kept(incoming: str) -> None:
    assert choose_request_id(incoming) == incoming


@pytest.mark.parametrize("incoming", [None, "", "has space", "x" * 65, "-leading", "semi;colon", "new\nline"])
def test_other_ids_are_replaced(incoming: str | None) -> None:
    chosen = choose_request_id(incoming)
    assert chosen != incoming and uuid.UUID(hex=chosen).version == 4
