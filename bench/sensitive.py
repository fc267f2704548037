"""What sensitive fields cost in Python: sealing one value, and revealing a 50-customer page.

    python -m bench.sensitive [--rows 50] [--repeat 200]

No database: the page is the JSON a compiled read returns, each row holding one sealed custom
field with its place (as `saas.sensitive.rules.custom_fields_sql` selects it). Prints the median
time to seal a value, to mask the page (callers without `sensitive:read`: no decryption) and
to open it (callers with it), and the time to check a page without sensitive values.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable

import orjson

from saas.auth.permissions import ROLE_PERMISSIONS, Role
from saas.auth.principal import Principal
from saas.sensitive import keys
from saas.sensitive.envelope import FieldAddress, blind_index, mask, new_key, seal, stored
from saas.sensitive.reveal import holds_sensitive, reveal_document


def _median_us(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    tenant_id, data_key, index_key = uuid.uuid4(), new_key(), new_key()
    keys._unwrapped[(tenant_id, keys.DATA, 1)] = data_key  # as after the first read of a process

    def value(row_id: uuid.UUID) -> dict[str, object]:
        address = FieldAddress(tenant_id, "customers", "custom_fields.nationalId", row_id)
        sealed = stored(
            seal(data_key, 1, "AB1234567890", address),
            blind_index(index_key, "customers", "custom_fields.nationalId", "AB1234567890"),
            mask("AB1234567890"),
        )
        return {**sealed, "row": str(row_id), "table": "customers", "field": "custom_fields.nationalId"}

    rows = [uuid.uuid4() for _ in range(args.rows)]
    page = orjson.dumps(
        {"edges": [{"node": {"id": str(r), "name": "Acme", "customFields": {"nationalId": value(r)}}} for r in rows]}
    ).decode()
    plain = orjson.dumps(
        {"edges": [{"node": {"id": str(r), "name": "Acme", "customFields": {}}} for r in rows]}
    ).decode()

    def principal(role: Role) -> Principal:
        return Principal(
            user_id=uuid.uuid4(), tenant_id=tenant_id, membership_id=uuid.uuid4(), role=role,
            permissions=ROLE_PERMISSIONS[role], label="bench",
        )  # fmt: skip

    owner, sales = principal(Role.OWNER), principal(Role.SALES)
    print(f"seal one value:                  {_median_us(lambda: value(uuid.uuid4()), args.repeat):8.1f} µs")
    print(
        f"check a page without any ({args.rows} rows): {_median_us(lambda: holds_sensitive(plain), args.repeat):8.1f} µs"
    )
    print(
        f"mask a page ({args.rows} values):         {_median_us(lambda: reveal_document(page, sales), args.repeat):8.1f} µs"
    )
    print(
        f"open a page ({args.rows} values):         {_median_us(lambda: reveal_document(page, owner), args.repeat):8.1f} µs"
    )


if __name__ == "__main__":
    main()
