"""The domain events the plugin emits (outbox → plugins' `saas_handle_event` and webhooks), and their data.

Every change of a rating table, policy or claim, and every trained churn model, emits one of
these in the transaction of the change. The data carries the entities as the plugin's GraphQL
API returns them (`api_object` of the `Ins…` types). Payload builders import the GraphQL types
when called: the types import the services.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from saas.plugin_api import api_object, emit_event, node_ref

if TYPE_CHECKING:
    from saas_insurance import models

RATING_TABLE_SET = "ins.rating_table.set"
POLICY_ISSUED = "ins.policy.issued"
POLICY_RENEWED = "ins.policy.renewed"
POLICY_CANCELLED = "ins.policy.cancelled"
POLICY_EXPIRED = "ins.policy.expired"
CLAIM_REPORTED = "ins.claim.reported"
CLAIM_RESERVE_SET = "ins.claim.reserve_set"
CLAIM_APPROVED = "ins.claim.approved"
CLAIM_DENIED = "ins.claim.denied"
CLAIM_PAID = "ins.claim.paid"
CLAIM_CLOSED = "ins.claim.closed"
CHURN_MODEL_TRAINED = "ins.churn_model.trained"

# Declared through `saas_event_types`; docs/api.md documents each with an example.
EVENT_TYPES = [
    RATING_TABLE_SET,
    POLICY_ISSUED,
    POLICY_RENEWED,
    POLICY_CANCELLED,
    POLICY_EXPIRED,
    CLAIM_REPORTED,
    CLAIM_RESERVE_SET,
    CLAIM_APPROVED,
    CLAIM_DENIED,
    CLAIM_PAID,
    CLAIM_CLOSED,
    CHURN_MODEL_TRAINED,
]


def rating_table(table: models.RatingTable) -> dict[str, Any]:
    from saas_insurance.graphql.types import RatingTable

    return api_object(RatingTable.from_model(table))


def rating_table_set(session: Session, table: models.RatingTable) -> None:
    emit_event(session, RATING_TABLE_SET, {"ratingTable": rating_table(table)})


def policy(row: models.Policy) -> dict[str, Any]:
    from saas_insurance.graphql.types import Policy

    return api_object(Policy.from_model(row), customer=node_ref("Customer", row.customer_id))


def policy_changed(session: Session, event_type: str, row: models.Policy, **extra: Any) -> None:
    emit_event(session, event_type, {"policy": policy(row), **extra})


def claim_changed(session: Session, event_type: str, row: models.Claim, **extra: Any) -> None:
    from saas_insurance.graphql.types import Claim

    shaped = api_object(Claim.from_model(row), policy=node_ref("InsPolicy", row.policy_id))
    emit_event(session, event_type, {"claim": shaped, **extra})


def churn_model_trained(session: Session, row: models.ChurnModel) -> None:
    from saas_insurance.graphql.types import ChurnModel

    emit_event(session, CHURN_MODEL_TRAINED, {"churnModel": api_object(ChurnModel.from_model(row))})
