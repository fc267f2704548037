"""Request ids: the caller's `X-Request-ID` when it is a sane short token, else a fresh one."""

from __future__ import annotations

import re
import uuid

REQUEST_ID_HEADER = "x-request-id"

# Ids go into logs and headers: accept only short tokens that cannot forge log lines or headers.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


def choose_request_id(incoming: str | None) -> str:
    if incoming and _SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex
