"""A customer created by a background job reaches live `customerEvents` subscribers of its tenant only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from saas.plugin_api.testing import GraphQLClient
from tests.customers.live import customer_named, event, subscriber
from tests.jobs import sample_jobs


def test_a_customer_created_by_a_job_reaches_the_tenants_subscriber_and_no_other(
    runtime: Any,
    graphql_engine: Any,
    tenant: Any,
    other_tenant: Any,
    owner: GraphQLClient,
    other_owner: GraphQLClient,
    run_jobs: Callable[..., None],
) -> None:
    with (
        subscriber(runtime, graphql_engine, tenant.id, str(owner.token)) as mine,
        subscriber(runtime, graphql_engine, other_tenant.id, str(other_owner.token)) as theirs,
    ):
        sample_jobs.create_customer.send(tenant.id, "Made By A Job Ltd")
        run_jobs()
        created = customer_named(runtime, tenant.id, "Made By A Job Ltd")
        assert mine.next_event() == event("customer.created", created)

        # The other tenant's subscriber hears its own tenant's job, and nothing before it.
        sample_jobs.create_customer.send(other_tenant.id, "Their Job Ltd")
        run_jobs()
        assert theirs.next_event() == event(
            "customer.created", customer_named(runtime, other_tenant.id, "Their Job Ltd")
        )
