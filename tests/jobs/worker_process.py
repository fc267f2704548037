"""A worker in its own process, for the tests that kill one: `python -m tests.jobs.worker_process`.

Reads DATABASE_URL, REDIS_URL and SAAS_JOBS_NAMESPACE; runs the sample jobs until SIGTERM.
"""

from __future__ import annotations

import os
import signal
import threading

from saas.config import Settings
from saas.jobs.broker import setup
from saas.jobs.worker import run_worker
from saas.plugin_host.host import PluginHost
from saas.runtime import create_runtime
from tests.jobs import sample_jobs


def main() -> None:
    settings = Settings(SAAS_ENV="test", LOG_JSON=False)
    assert settings.database_url and settings.redis_url
    runtime = create_runtime(settings, settings.database_url, settings.redis_url, plugins=PluginHost())
    sample_jobs.configure(settings.redis_url)
    broker = setup(runtime, namespace=os.environ["SAAS_JOBS_NAMESPACE"])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    run_worker(broker, stop, threads=1)


if __name__ == "__main__":
    main()
