"""Each enum is defined once: the GraphQL enum is the domain's own Enum class, exposed by Strawberry."""

from enum import Enum

import pytest

from saas.accounts.models import InvitationState
from saas.auth.permissions import Role
from saas.customers.models import CustomerKind, LifecycleStage
from saas.events.payloads import api_value
from saas.schema.builder import build_schema
from saas.webhooks.models import WebhookDeliveryStatus

DOMAIN_ENUMS: dict[str, type[Enum]] = {
    "Role": Role,
    "CustomerKind": CustomerKind,
    "LifecycleStage": LifecycleStage,
    "InvitationState": InvitationState,
    "WebhookDeliveryStatus": WebhookDeliveryStatus,
}


@pytest.mark.parametrize("graphql_name", sorted(DOMAIN_ENUMS))
def test_graphql_enum_is_the_domain_enum(graphql_name: str) -> None:
    definition = build_schema().get_type_by_name(graphql_name)
    assert definition is not None
    assert getattr(definition, "wrapped_cls", None) is DOMAIN_ENUMS[graphql_name]


@pytest.mark.parametrize("domain_enum", DOMAIN_ENUMS.values(), ids=DOMAIN_ENUMS)
def test_graphql_names_are_the_upper_cased_stored_values(domain_enum: type[Enum]) -> None:
    # The compiled reads write `upper(column)`; the resolver path writes the member's name.
    for member in domain_enum:
        assert member.name == str(member.value).upper()
        assert api_value(member) == member.name


def test_domain_enums_compare_equal_to_the_stored_text() -> None:
    assert Role.OWNER == "owner"
    assert CustomerKind("person") is CustomerKind.PERSON
    assert [stage.value for stage in LifecycleStage] == ["lead", "prospect", "customer", "churned"]
