"""List arguments of customers: the filter input and the orderings."""

from __future__ import annotations

from enum import Enum

import strawberry

from saas.custom_fields.graphql.types import CustomFieldFilterInput
from saas.custom_fields.rules import custom_field_filter
from saas.customers.models import LifecycleStage
from saas.customers.rules import CustomerFilter
from saas.schema.relay import decode_id


@strawberry.enum
class CustomerOrder(Enum):
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"
    CREATED_AT_ASC = "CREATED_AT_ASC"
    CREATED_AT_DESC = "CREATED_AT_DESC"
    UPDATED_AT_ASC = "UPDATED_AT_ASC"
    UPDATED_AT_DESC = "UPDATED_AT_DESC"


@strawberry.enum
class DeletedState(Enum):
    ACTIVE = "active"
    DELETED = "deleted"
    ALL = "all"


@strawberry.input
class CustomerFilterInput:
    search: str | None = strawberry.field(default=None, description="Part of the name, case-insensitive.")
    owner_id: strawberry.ID | None = None
    unowned: bool | None = strawberry.field(default=None, description="True: only the public pool.")
    tag: str | None = None
    lifecycle_stage: LifecycleStage | None = None
    state: DeletedState = DeletedState.ACTIVE
    custom_field: CustomFieldFilterInput | None = strawberry.field(
        default=None, description="Customers whose custom field `key` has the value `equals`."
    )

    def to_rule(self) -> CustomerFilter:
        return CustomerFilter(
            search=self.search,
            owner_id=decode_id(self.owner_id, "Member") if self.owner_id else None,
            unowned=self.unowned,
            tag=self.tag,
            lifecycle_stage=self.lifecycle_stage,
            include_deleted=self.state is DeletedState.ALL,
            only_deleted=self.state is DeletedState.DELETED,
            custom_field=(
                custom_field_filter(self.custom_field.key, self.custom_field.equals) if self.custom_field else None
            ),
        )
