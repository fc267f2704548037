"""`seal_secret` and `post_signed`: a plugin's signed message, as webhooks are signed, through the
guarded client (internal addresses refused unless the deployment allows them)."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import orjson

from saas.jobs.registry import JobContext
from saas.plugin_api import post_signed
from saas.webhooks.delivery import WebhookSender
from saas.webhooks.signing import verify_signature


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[bytes, dict[str, str]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append((body, dict(self.headers)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _ctx(sender: WebhookSender) -> JobContext:
    return JobContext(uuid.uuid4(), None, "m", webhook_sender=sender)  # type: ignore[arg-type]


def test_a_signed_message_reaches_an_allowed_endpoint(settings: Any) -> None:
    sender = WebhookSender(settings.model_copy(update={"webhook_allow_private_networks": True}))
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    sealed = sender.box.encrypt("s3cret")
    url = f"http://127.0.0.1:{server.server_port}/in"
    failure = post_signed(
        _ctx(sender),
        url,
        sealed_secret=sealed,
        event_type="x.sent",
        message_id="m-1",
        occurred_at=datetime.now(UTC),
        data={"a": "1"},
    )
    thread.join(5)
    server.server_close()
    assert failure is None
    body, headers = _Receiver.received[-1]
    assert orjson.loads(body)["event"]["data"] == {"a": "1"} and headers["X-Saas-Delivery"] == "m-1"
    assert verify_signature("s3cret", body, headers["X-Saas-Signature"])


def test_internal_addresses_are_refused_by_default(settings: Any) -> None:
    sender = WebhookSender(settings.model_copy(update={"webhook_allow_private_networks": False}))
    sealed = sender.box.encrypt("s3cret")
    failure = post_signed(
        _ctx(sender),
        "http://127.0.0.1:9/in",
        sealed_secret=sealed,
        event_type="x",
        message_id="m",
        occurred_at=datetime.now(UTC),
        data={},
    )
    assert failure == "address not allowed"
