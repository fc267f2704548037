"""Webhook URLs never reach inside the network unless the deployment allows it; delivery errors are classes.

Internal addresses (loopback, link-local, private, shared, multicast, reserved, unspecified, in
IPv4 and IPv6, also inside IPv4-mapped, 6to4 and NAT64 addresses) are refused when a webhook is
created and again, after DNS resolution, each time a delivery is sent, to the address that was
checked. `WEBHOOK_ALLOW_PRIVATE_NETWORKS` allows them (these tests' local receivers need it).
"""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from ipaddress import ip_address
from typing import Any

import pytest
from sqlalchemy import func, select

from saas.events.dispatch import dispatch_pending
from saas.runtime import Runtime
from saas.webhooks import delivery
from saas.webhooks.models import Webhook, WebhookAttempt, WebhookDelivery
from tests.conftest import GraphQLClient
from tests.events.support import CREATE_WEBHOOK, SECRET, Receiver, create_customer, create_webhook, in_tenant

INTERNAL_URLS = [
    "http://127.0.0.1:8080/hook",
    "http://127.1/",
    "http://2130706433/",
    "http://localhost:8000/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://192.168.0.10:8443/",
    "http://100.100.100.200/latest/meta-data",  # shared address space (a cloud's metadata service)
    "http://0.0.0.0/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://[::1]/",
    "http://[::]/",
    "http://[fe80::1]/",
    "http://[fd00::1]/",
    "http://[ff02::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[2002:a9fe:a9fe::1]/",  # 6to4 around 169.254.169.254
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 around 169.254.169.254
]


def _create(client: GraphQLClient, url: str) -> dict[str, Any]:
    result = client.data(CREATE_WEBHOOK, {"input": {"url": url, "events": ["customer.created"], "secret": SECRET}})
    return dict(result["createWebhook"])


def _webhooks(runtime: Runtime, tenant_id: uuid.UUID) -> int:
    return in_tenant(runtime, tenant_id, lambda s: s.scalar(select(func.count()).select_from(Webhook)))


@pytest.fixture
def allow_private_networks(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime.settings, "webhook_allow_private_networks", True)


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_an_internal_address_is_refused_at_creation(
    owner: GraphQLClient, tenant: Any, runtime: Runtime, url: str
) -> None:
    result = _create(owner, url)
    assert result["webhook"] is None
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [(["input", "url"], "ADDRESS_NOT_ALLOWED")]
    assert _webhooks(runtime, tenant.id) == 0


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "gopher://example.com/", "ftp://example.com/x", "javascript:alert(1)", "//x/y"]
)
def test_a_scheme_other_than_http_is_refused(owner: GraphQLClient, tenant: Any, runtime: Runtime, url: str) -> None:
    result = _create(owner, url)
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [(["input", "url"], "INVALID")]
    assert _webhooks(runtime, tenant.id) == 0


@pytest.mark.parametrize("url", ["https://93.184.215.14/hook", "https://[2606:4700:4700::1111]/hook"])
def test_a_public_address_is_accepted(owner: GraphQLClient, url: str) -> None:
    assert _create(owner, url)["userErrors"] == []


def test_the_deployment_setting_allows_internal_addresses(owner: GraphQLClient, allow_private_networks: None) -> None:
    for url in ("http://127.0.0.1:8080/hook", "http://10.1.2.3/", "http://localhost/"):
        assert _create(owner, url)["userErrors"] == [], url


def test_the_setting_is_off_by_default_except_in_development() -> None:
    from saas.config import Settings

    assert Settings(SAAS_ENV="test").allow_private_networks is False
    assert Settings(SAAS_ENV="development").allow_private_networks is True
    assert Settings(SAAS_ENV="development", WEBHOOK_ALLOW_PRIVATE_NETWORKS="false").allow_private_networks is False
    assert Settings(SAAS_ENV="test", WEBHOOK_ALLOW_PRIVATE_NETWORKS="true").allow_private_networks is True


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.1", "169.254.169.254", "100.64.0.1", "::1", "fe80::1", "::ffff:10.0.0.1", "64:ff9b::a00:1"],
)
def test_internal_addresses(address: str) -> None:
    from saas import outbound

    assert outbound.is_internal(ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "::ffff:1.1.1.1"])
def test_public_addresses(address: str) -> None:
    from saas import outbound

    assert not outbound.is_internal(ip_address(address))


# -- at delivery time ------------------------------------------------------------------------


def _deliver_once(runtime: Runtime, tenant_id: uuid.UUID) -> WebhookAttempt:
    """Dispatch the tenant's pending event and make one attempt of its delivery; the attempt logged."""
    [delivery_id] = in_tenant(runtime, tenant_id, lambda s: dispatch_pending(s, tenant_id, runtime.plugins)).deliveries
    try:
        delivery.attempt_delivery(runtime.webhook_sender, runtime.engine, tenant_id, delivery_id)
    except delivery.DeliveryFailed:
        pass
    [attempt] = in_tenant(runtime, tenant_id, lambda s: list(s.scalars(select(WebhookAttempt))))
    [row] = in_tenant(runtime, tenant_id, lambda s: list(s.scalars(select(WebhookDelivery))))
    assert row.last_error == attempt.error
    return attempt


def _resolving(monkeypatch: pytest.MonkeyPatch, name: str, address: str) -> list[str]:
    """Make `name` resolve to `address` (as a DNS server under someone else's control would)."""
    from saas import outbound

    looked_up: list[str] = []
    real = outbound.resolve

    def resolve(host: str, port: int) -> list[Any]:
        looked_up.append(host)
        return [ip_address(address)] if host == name else real(host, port)

    monkeypatch.setattr(outbound, "resolve", resolve)
    return looked_up


def test_a_name_that_resolves_inside_at_delivery_time_is_refused(
    owner: GraphQLClient,
    tenant: Any,
    runtime: Runtime,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    dispatch_requests: list[uuid.UUID],
) -> None:
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    monkeypatch.setattr(runtime.settings, "webhook_allow_private_networks", False)
    create_webhook(owner, f"http://hooks.partner.example:{port}/hooks", ["customer.created"])  # resolves to nothing yet
    looked_up = _resolving(monkeypatch, "hooks.partner.example", "127.0.0.1")  # …and then inside
    create_customer(owner, "Rebound Ltd")
    attempt = _deliver_once(runtime, tenant.id)
    assert (attempt.status_code, attempt.error) == (None, "address not allowed")
    assert looked_up == ["hooks.partner.example"]
    assert receiver.count() == 0


def test_the_request_goes_to_the_address_that_was_checked(
    owner: GraphQLClient,
    tenant: Any,
    runtime: Runtime,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    dispatch_requests: list[uuid.UUID],
) -> None:
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    create_webhook(owner, f"http://hooks.partner.example:{port}/hooks", ["customer.created"])
    looked_up = _resolving(monkeypatch, "hooks.partner.example", "127.0.0.1")
    create_customer(owner, "Pinned Ltd")
    attempt = _deliver_once(runtime, tenant.id)
    assert (attempt.status_code, attempt.error) == (200, None)
    # One lookup, ours: the connection used its answer (the name resolves nowhere else).
    assert looked_up == ["hooks.partner.example"]
    [request] = receiver.received
    assert request.headers["host"] == f"hooks.partner.example:{port}"


def test_a_webhook_stored_while_allowed_is_refused_once_disallowed(
    owner: GraphQLClient,
    tenant: Any,
    runtime: Runtime,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    dispatch_requests: list[uuid.UUID],
) -> None:
    create_webhook(owner, receiver.url, ["customer.created"])
    monkeypatch.setattr(runtime.settings, "webhook_allow_private_networks", False)
    create_customer(owner, "Locked Out Ltd")
    attempt = _deliver_once(runtime, tenant.id)
    assert (attempt.status_code, attempt.error) == (None, "address not allowed")
    assert receiver.count() == 0


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        server.close()


def _closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    probe.close()
    return port


def test_delivery_errors_name_a_class_of_failure(
    owner: GraphQLClient,
    tenant: Any,
    runtime: Runtime,
    receiver: Receiver,
    silent_server: int,
    dispatch_requests: list[uuid.UUID],
    delivery_policy: Callable[[delivery.DeliveryPolicy], None],
) -> None:
    delivery_policy(delivery.DeliveryPolicy(timeout_seconds=0.5))
    receiver.statuses = [503]
    plain_port = receiver.url.rsplit(":", 1)[1]
    cases = [
        (receiver.url, "HTTP 503"),
        (f"http://127.0.0.1:{_closed_port()}/", "connection refused"),
        (f"http://127.0.0.1:{silent_server}/", "timeout"),
        (f"https://127.0.0.1:{plain_port}", "TLS error"),
        ("http://nothing-here.invalid/", "host not found"),
    ]
    for url, error in cases:
        webhook_id = create_webhook(owner, url, ["customer.created"])
        create_customer(owner, f"Failing {error}")
        attempt = _deliver_once(runtime, tenant.id)
        assert attempt.error == error, url
        assert "Errno" not in (attempt.error or "") and "known" not in (attempt.error or "")
        owner.data("mutation($id: ID!) { deleteWebhook(input: {id: $id}) { webhook { id } } }", {"id": webhook_id})
        in_tenant(runtime, tenant.id, lambda s: [s.delete(r) for r in s.scalars(select(WebhookDelivery))])
