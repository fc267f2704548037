from tests.events.support import delivery_policy, dispatch_requests, fast_retries, receiver, worker  # noqa: F401
