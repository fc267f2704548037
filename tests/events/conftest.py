from tests.events.support import delivery_policy, dispatch_requests, event_pipeline, fast_retries, receiver, worker  # noqa: F401
