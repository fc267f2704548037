"""Request ids: the caller's `X-Request-ID` when it is a sane short token, else a fresh one."""

from __future__ import annotations

import os
import re

REQUEST_ID_HEADER = "x-request-id"

# Ids go into logs and headers: accept only short tokens that cannot forge log lines or headers.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


def new_request_id() -> str:
    """A random (version 4) UUID as 32 hex digits, as `uuid.uuid4().hex`, without building a `UUID`."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # the version, 4
    raw[8] = raw[8] & 0x3F | 0x80  # the variant, RFC 4122
    return raw.hex()


def choose_request_id(incoming: str | None) -> str:
    if incoming and _SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return new_request_id()
