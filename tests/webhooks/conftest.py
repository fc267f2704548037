from tests.events.support import dispatch_requests, event_pipeline, fast_retries, receiver, worker  # noqa: F401
