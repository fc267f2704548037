"""The pipeline: the tenant's stages (defaults made on first use), opportunities and their moves."""

from __future__ import annotations

import functools
import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple, cast

from sqlalchemy import and_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from saas.accounts.models import Membership
from saas.accounts.ownership import may_own_for
from saas.audit.log import change_record, json_safe, snapshot, snapshot_of
from saas.auth.permissions import DEALS_READ, DEALS_WRITE, PIPELINE_MANAGE, Role, require
from saas.auth.principal import Principal
from saas.custom_fields.models import CustomFieldEntity
from saas.custom_fields.validation import validate_custom_fields
from saas.customers.rules import SqlCondition, customer_visibility
from saas.db.prepared_writes import PreparedWrite
from saas.db.records import NewRecord
from saas.deals import rules
from saas.deals.errors import DealErrorCode
from saas.deals.graphql.types import DealSettings as DealSettingsType
from saas.deals.graphql.types import Opportunity as OpportunityType
from saas.deals.graphql.types import PipelineStage as PipelineStageType
from saas.deals.models import DealSettings, Opportunity, PipelineStage, StageChange, StageKind
from saas.deals.service.common import (
    check_amount,
    check_currency,
    check_date,
    check_version,
    check_version_of,
    flush,
    invalid,
    now,
    record,
    require_visible,
)
from saas.errors import ConflictError, FieldError, InputInvalid, UserErrorCode
from saas.events.outbox import VersionedUpdate, emit_event
from saas.events.payloads import api_object, node_ref
from saas.tenancy.session import CrossTenantWrite, bound_tenant
from saas.validation import Checker, camel_case

DEFAULT_STAGES: tuple[tuple[str, str, StageKind], ...] = (
    ("Needs discovery", "10", StageKind.OPEN),
    ("Proposal", "30", StageKind.OPEN),
    ("Negotiation", "60", StageKind.OPEN),
    ("Won", "100", StageKind.WON),
    ("Lost", "0", StageKind.LOST),
)
MAX_STAGES = 50
MAX_REASON = 1000


def ensure_pipeline(session: Session) -> None:
    """The tenant's settings row and default stages, made once (the first caller in a race makes
    them; the others wait on its row, then find it). One statement when they exist."""
    tenant_id = bound_tenant(session)
    made = session.execute(
        insert(DealSettings).values(tenant_id=tenant_id).on_conflict_do_nothing().returning(DealSettings.tenant_id)
    ).first()
    if made is None:
        return
    for position, (name, probability, kind) in enumerate(DEFAULT_STAGES, start=1):
        session.add(
            PipelineStage(
                id=uuid.uuid4(), name=name, probability=Decimal(probability), kind=kind.value, position=position
            )
        )
    session.flush()


def get_settings(session: Session, principal: Principal) -> DealSettings:
    require(principal.permissions, DEALS_READ)
    ensure_pipeline(session)
    settings = session.scalars(select(DealSettings)).one()
    return settings


def update_settings(session: Session, principal: Principal, data: dict[str, Any]) -> DealSettings:
    require(principal.permissions, PIPELINE_MANAGE)
    roles = data.get("invoice_approver_roles")
    if not roles:
        raise invalid(["invoiceApproverRoles"], UserErrorCode.REQUIRED, "invoiceApproverRoles needs at least one role")
    names = sorted({Role(role).value for role in roles}, key=[r.value for r in Role].index)
    ensure_pipeline(session)
    settings = session.scalars(select(DealSettings).with_for_update()).one()
    before = snapshot(settings)
    settings.invoice_approver_roles = names
    settings.updated_at = now()
    flush(session)
    record(
        session, principal, "deal_settings.updated", settings, before,
        {"dealSettings": api_object(DealSettingsType.from_model(settings))},
    )  # fmt: skip
    return settings


def _probability(check: Checker) -> None:
    value = check.data.get("probability")
    if value is None:
        if "probability" in check.data:
            check.fail("probability", UserErrorCode.REQUIRED, "probability is required")
        return
    try:
        probability = Decimal(str(value))
        valid = (
            probability.is_finite() and 0 <= probability <= 100 and probability == probability.quantize(Decimal("0.01"))
        )
    except (InvalidOperation, ValueError):
        valid = False
    if not valid or isinstance(value, float):
        check.fail("probability", UserErrorCode.INVALID, "probability must be a percentage from 0 to 100, two decimals")
        return
    check.clean["probability"] = probability.quantize(Decimal("0.01"))


def _check_stage(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    check = Checker(data)
    check.text("name", required=creating or "name" in data, max_length=100)
    if creating and data.get("probability") is None:
        check.fail("probability", UserErrorCode.REQUIRED, "probability is required")
    else:
        _probability(check)
    if creating:
        kind = data.get("kind")
        if kind is None:
            check.fail("kind", UserErrorCode.REQUIRED, "kind is required")
        else:
            check.clean["kind"] = StageKind(kind).value
    if data.get("position") is not None:
        if not 1 <= int(data["position"]) <= 1000:
            check.fail("position", UserErrorCode.INVALID, "position must be from 1 to 1000")
        else:
            check.clean["position"] = int(data["position"])
    elif "position" in data and not creating:
        check.fail("position", UserErrorCode.REQUIRED, "position must not be null")
    return check.done()


def _name_taken() -> FieldError:
    return FieldError(["input", "name"], UserErrorCode.TAKEN, "Another stage has this name")


def _check_name_free(session: Session, name: str, stage_id: uuid.UUID | None = None) -> None:
    query = select(PipelineStage.id).where(func.lower(PipelineStage.name) == name.lower())
    if stage_id is not None:
        query = query.where(PipelineStage.id != stage_id)
    if session.scalar(query) is not None:
        raise InputInvalid([_name_taken()])


def _stage_event(session: Session, principal: Principal, action: str, stage: PipelineStage, before: Any) -> None:
    record(
        session, principal, action, stage, before, {"pipelineStage": api_object(PipelineStageType.from_model(stage))}
    )


def list_stages(session: Session, principal: Principal) -> list[PipelineStage]:
    require(principal.permissions, DEALS_READ)
    ensure_pipeline(session)
    return list(session.scalars(select(PipelineStage).order_by(PipelineStage.position, PipelineStage.created_at)))


def create_stage(session: Session, principal: Principal, data: dict[str, Any]) -> PipelineStage:
    require(principal.permissions, PIPELINE_MANAGE)
    clean = _check_stage(data, creating=True)
    ensure_pipeline(session)
    if (session.scalar(select(func.count()).select_from(PipelineStage)) or 0) >= MAX_STAGES:
        raise invalid(["name"], UserErrorCode.INVALID, f"A pipeline has at most {MAX_STAGES} stages")
    _check_name_free(session, clean["name"])
    if "position" not in clean:
        clean["position"] = min(1000, (session.scalar(select(func.max(PipelineStage.position))) or 0) + 1)
    stage = PipelineStage(id=uuid.uuid4(), **clean)
    session.add(stage)
    flush(session, {"uq_pipeline_stages_tenant_name": _name_taken()})
    session.refresh(stage)
    _stage_event(session, principal, "pipeline_stage.created", stage, None)
    return stage


def update_stage(
    session: Session, principal: Principal, stage_id: uuid.UUID, version: int, data: dict[str, Any]
) -> PipelineStage:
    """Name, probability and position change; the kind stays (opportunities' statuses follow it)."""
    require(principal.permissions, PIPELINE_MANAGE)
    clean = _check_stage(data, creating=False)
    stage = require_visible(session, principal, PipelineStage, stage_id, rules.stage_conditions, "id", lock=True)
    check_version(stage, version)
    if "name" in clean:
        _check_name_free(session, clean["name"], stage.id)
    before = snapshot(stage)
    for key, value in clean.items():
        setattr(stage, key, value)
    stage.updated_at = now()
    flush(session, {"uq_pipeline_stages_tenant_name": _name_taken()})
    _stage_event(session, principal, "pipeline_stage.updated", stage, before)
    return stage


def _opportunity_payload(row: Opportunity, **extra: Any) -> dict[str, Any]:
    return {"opportunity": _opportunity_api(row), **{camel_case(key): value for key, value in extra.items()}}


def _opportunity_api(row: Opportunity) -> dict[str, Any]:
    """An opportunity as its events carry it: the API's plain fields and its references."""
    return _shown_api(OpportunityType.from_model(row))


def _shown_api(shown: OpportunityType, stage: dict[str, str] | None = None) -> dict[str, Any]:
    """`_opportunity_api` of the opportunity's GraphQL object (`OpportunityType.from_model`), for a
    caller that keeps the object (a move answers its mutation with it): `api_object`'s plain
    fields, then its references (`node_ref`: already as the API writes them, so what
    `api_object`'s related values give), from the object's own copies of the row's ids; `stage`,
    when given, is the reference to its stage the caller has made already (a move's `toStage`)."""
    shaped = api_object(shown)
    shaped["customer"] = node_ref("Customer", shown.customer_id)
    shaped["owner"] = node_ref("Member", shown.owner_id)
    shaped["stage"] = stage if stage is not None else node_ref("PipelineStage", shown.stage_id)
    return shaped


def _check_opportunity(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    check = Checker(data)
    check.text("name", required=creating or "name" in data, max_length=200)
    if creating or "amount" in data:
        check_amount(check, "amount", positive=False)
    if creating or "currency" in data:
        check_currency(check)
    check_date(check, "expected_close_on")
    check.passthrough("owner_id")
    check.json_object("custom_fields", max_bytes=20_000)
    return check.done()


def _check_owner(session: Session, principal: Principal, owner_id: uuid.UUID | None) -> None:
    if owner_id is None:
        return
    if not may_own_for(session, principal, owner_id):
        raise invalid(
            ["ownerId"],
            UserErrorCode.INVALID,
            "Sales reps can only own opportunities themselves (managers: or their teams' members)",
        )
    owner = session.get(Membership, (principal.tenant_id, owner_id))
    if owner is None or not owner.is_active:
        raise invalid(["ownerId"], UserErrorCode.NOT_FOUND, "No such member")


def _stage(session: Session, principal: Principal, stage_id: uuid.UUID | None, field: str) -> PipelineStage:
    if stage_id is None:
        first_open = session.scalars(
            select(PipelineStage)
            .where(PipelineStage.kind == StageKind.OPEN.value)
            .order_by(PipelineStage.position, PipelineStage.created_at)
            .limit(1)
        ).first()
        if first_open is None:
            raise invalid([field], UserErrorCode.REQUIRED, "The pipeline has no open stage: name one")
        return first_open
    stage: PipelineStage = require_visible(session, principal, PipelineStage, stage_id, rules.stage_conditions, field)
    return stage


def _visible_customer(session: Session, principal: Principal, customer_id: uuid.UUID | None, field: str) -> Any:
    from saas.customers.models import Customer

    def conditions(p: Principal, alias: str) -> Any:
        condition = SqlCondition()
        condition.add(f"{alias}.deleted_at IS NULL")
        customer_visibility(p, alias, condition)
        return condition

    return require_visible(session, principal, Customer, customer_id, conditions, field)


def _history(
    session: Session, principal: Principal, opportunity: Opportunity, from_stage: uuid.UUID | None, reason: str | None
) -> None:
    """The stage-history entry of the opportunity's move (`_history_record`), added to the session."""
    session.add(StageChange(**_history_record(principal, opportunity, from_stage, reason).values))


def _history_record(
    principal: Principal, opportunity: Opportunity, from_stage: uuid.UUID | None, reason: str | None
) -> NewRecord:
    """`_history`'s entry as its column values (`NewRecord`), for the move's statement to write
    with its other records (`emit_event`'s `with_rows`): the same entry, no ORM object."""
    return NewRecord(
        StageChange,
        {
            "id": uuid.uuid4(),
            "opportunity_id": opportunity.id,
            "from_stage_id": from_stage,
            "to_stage_id": opportunity.stage_id,
            "changed_by_id": principal.membership_id,
            "changed_at": now(),
            "reason": reason,
        },
    )


def _entered(stage: PipelineStage) -> dict[str, Any]:
    """The columns an opportunity entering `stage` takes: the stage, its kind as the status, and
    the closing time (none while open)."""
    return {
        "stage_id": stage.id,
        "status": stage.kind,
        "closed_at": None if stage.kind == StageKind.OPEN.value else now(),
    }


def _enter(opportunity: Opportunity, stage: PipelineStage) -> None:
    for key, value in _entered(stage).items():
        setattr(opportunity, key, value)


def create_opportunity(
    session: Session,
    principal: Principal,
    *,
    customer_id: uuid.UUID,
    name: str,
    amount: Any,
    currency: str,
    expected_close_on: date | None = None,
    stage_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    custom_fields: Any = None,
) -> Opportunity:
    """A new opportunity of a customer the caller sees, in `stage_id` or the first open stage.

    Owned by `owner_id`, by default the caller (sales reps may own only their own). Its
    `custom_fields` are checked against the tenant's opportunity fields (`validate_custom_fields`).
    Usable inside a caller's transaction (it only flushes); bad input raises `InputInvalid` before
    anything is written. Emits `opportunity.created`.
    """
    require(principal.permissions, DEALS_WRITE)
    data: dict[str, Any] = {"name": name, "amount": amount, "currency": currency}
    if expected_close_on is not None:
        data["expected_close_on"] = expected_close_on
    if custom_fields is not None:
        data["custom_fields"] = custom_fields
    clean = _check_opportunity(data, creating=True)
    owner = owner_id if owner_id is not None else principal.membership_id
    _check_owner(session, principal, owner)
    customer = _visible_customer(session, principal, customer_id, "customerId")
    ensure_pipeline(session)
    stage = _stage(session, principal, stage_id, "stageId")
    opportunity_id = uuid.uuid4()
    clean["custom_fields"] = validate_custom_fields(
        session, principal.tenant_id, CustomFieldEntity.OPPORTUNITY, clean.get("custom_fields"),
        record_id=opportunity_id,
    )  # fmt: skip
    opportunity = Opportunity(id=opportunity_id, customer_id=customer.id, owner_id=owner, **clean)
    _enter(opportunity, stage)
    session.add(opportunity)
    session.flush()
    _history(session, principal, opportunity, None, None)
    flush(session)
    session.refresh(opportunity)
    record(session, principal, "opportunity.created", opportunity, None, _opportunity_payload(opportunity))
    return opportunity


def get_opportunity(session: Session, principal: Principal, opportunity_id: uuid.UUID, *, lock: bool = False) -> Any:
    require(principal.permissions, DEALS_READ)
    return require_visible(
        session, principal, Opportunity, opportunity_id, rules.opportunity_conditions, "id", lock=lock
    )


def update_opportunity(
    session: Session, principal: Principal, opportunity_id: uuid.UUID, version: int, data: dict[str, Any]
) -> Opportunity:
    require(principal.permissions, DEALS_WRITE)
    clean = _check_opportunity(data, creating=False)
    opportunity = get_opportunity(session, principal, opportunity_id, lock=True)
    check_version(opportunity, version)
    if "owner_id" in clean:
        _check_owner(session, principal, clean["owner_id"])
    if "custom_fields" in clean:
        clean["custom_fields"] = validate_custom_fields(
            session, principal.tenant_id, CustomFieldEntity.OPPORTUNITY, clean["custom_fields"],
            record_id=opportunity.id, current=opportunity.custom_fields,
        )  # fmt: skip
    before = snapshot(opportunity)
    for key, value in clean.items():
        setattr(opportunity, key, value)
    opportunity.updated_at = now()
    flush(session)
    record(session, principal, "opportunity.updated", opportunity, before, _opportunity_payload(opportunity))
    return opportunity


def move_opportunity(
    session: Session,
    principal: Principal,
    opportunity_id: uuid.UUID,
    stage_id: uuid.UUID,
    reason: str | None,
    version: int | None = None,
) -> Opportunity:
    """Into another stage: a stage-history entry (from, to, who, when, why); the status follows the
    stage's kind. A LOST stage needs a reason (REASON_REQUIRED)."""
    return move_opportunity_to(session, principal, opportunity_id, stage_id, reason, version).opportunity


class Moved(NamedTuple):
    """What `move_opportunity_to` returns: the moved opportunity, the stage it moved into (as
    the move read it) and the moved opportunity's GraphQL object, the one its event's payload was
    built from (`OpportunityType.from_model` of the moved row, taken once per move)."""

    opportunity: Opportunity
    stage: PipelineStage
    shown: OpportunityType


def move_opportunity_to(
    session: Session,
    principal: Principal,
    opportunity_id: uuid.UUID,
    stage_id: uuid.UUID,
    reason: str | None,
    version: int | None = None,
) -> Moved:
    """`move_opportunity`, with the stage it moved into (as read in the move's transaction) and
    the moved opportunity's GraphQL object (`Moved`): the mutation answers with the object its
    event's payload was built from, not a second one built from the same row after the commit.

    Two statements, Core ones on the session's connection (no ORM unit of work):
    1. the opportunity, locked (`FOR UPDATE`), if the caller sees it (tenant filter, visibility
       rule, row-level security), with the target stage if the tenant has it (`_move_read`);
    2. once the rules are checked (version, stage, reason), the UPDATE of the opportunity (its
       version checked again), its stage-history entry, its audit entry and its event, one
       statement (`emit_event`'s `with_update`).
    A concurrent move of the same opportunity waits on the lock, then sees this one's result: a
    stale `version` is CONFLICT, the same stage INVALID. The opportunity returned is the
    session's (updated in place) when the session holds it, else a new `Opportunity` not added to
    it; the stage is a new `PipelineStage`, as read."""
    require(principal.permissions, DEALS_WRITE)
    check = Checker({"reason": reason})
    check.text("reason", max_length=MAX_REASON)
    clean_reason = check.done().get("reason")
    tenant_id = bound_tenant(session)
    if tenant_id is None:
        raise CrossTenantWrite("Opportunity needs a tenant-bound session")
    session.flush()  # what the session holds is written first, as autoflush does before a query
    condition = rules.opportunity_conditions(principal, _OPPORTUNITIES.name)
    stage_condition = rules.stage_conditions(principal, _STAGES.name)
    read = _move_read(condition.sql, stage_condition.sql).execute(
        session,
        {
            **condition.params, **stage_condition.params,
            _MOVE_TENANT: tenant_id, _MOVE_ID: opportunity_id, _MOVE_STAGE: stage_id,
        },
    ).first()  # fmt: skip
    if read is None:
        raise invalid(["id"], UserErrorCode.NOT_FOUND, "No such opportunity")
    # The read's columns are the opportunity's (`_OPPORTUNITY_KEYS`), then the stage's
    # (`_STAGE_KEYS`), in that order (`_move_read`): taken by position, no look-up by name.
    current = dict(zip(_OPPORTUNITY_KEYS, read[:_STAGE_AT], strict=True))
    check_version_of(current["version"], version)
    if read[_STAGE_ID_AT] is None:
        raise invalid(["stageId"], UserErrorCode.NOT_FOUND, "No such pipelinestage")
    stage = _as_read(PipelineStage, dict(zip(_STAGE_KEYS, read[_STAGE_AT:], strict=True)), tenant_id)
    if stage.id == current["stage_id"]:
        raise invalid(["stageId"], UserErrorCode.INVALID, "The opportunity is in this stage already")
    if stage.kind == StageKind.LOST.value and not clean_reason:
        raise invalid(["reason"], DealErrorCode.REASON_REQUIRED, "Say why the opportunity was lost")
    before = snapshot_of(Opportunity, current)
    from_stage = current["stage_id"]
    changed = {**_entered(stage), "updated_at": now(), "version": current["version"] + 1}
    current.update(changed)
    opportunity = _moved(session, tenant_id, current, changed)
    change = _history_record(principal, opportunity, from_stage, clean_reason)
    # The snapshot after: the one before with the moved columns (each a column `snapshot` takes).
    entry = change_record(
        principal, "opportunity.stage_changed", "Opportunity", opportunity.id, before, {**before, **json_safe(changed)}
    )
    shown = OpportunityType.from_model(opportunity)
    to_stage = node_ref("PipelineStage", stage.id)  # the moved opportunity's stage: one reference for both
    try:
        emit_event(
            session, "opportunity.stage_changed",
            {
                "opportunity": _shown_api(shown, to_stage),
                "fromStage": node_ref("PipelineStage", from_stage),
                "toStage": to_stage,
                "reason": clean_reason,
                "changedBy": node_ref("Member", principal.membership_id),
            },
            with_rows=[change, entry],
            with_update=VersionedUpdate(_OPPORTUNITIES, opportunity.id, changed["version"] - 1, changed),
        )  # fmt: skip
    except StaleDataError as exc:  # not under the lock taken above: cannot happen, but never half-written
        raise ConflictError() from exc
    return Moved(opportunity, stage, shown)


def _moved(session: Session, tenant_id: uuid.UUID, current: dict[str, Any], changed: dict[str, Any]) -> Opportunity:
    """The moved opportunity: the session's, its moved columns set as loaded (no flush writes them
    again), or a new `Opportunity` of the row's values, not added to the session."""
    # `identity_key(Opportunity, (tenant_id, id))`, the tuple built here (no mapper look-up per move)
    held = session.identity_map.get((_OPPORTUNITY_IDENTITY, (tenant_id, current["id"]), None))
    if held is None:
        return _as_read(Opportunity, current, tenant_id)
    for key, value in changed.items():
        set_committed_value(held, key, value)
    return cast(Opportunity, held)


def _as_read(model: Any, values: dict[str, Any], tenant_id: uuid.UUID) -> Any:
    """A new `model` object holding a row's `values` (every column but `tenant_id`, given), in no
    session: what `model(**values, tenant_id=tenant_id)` holds, built as the ORM's loading builds
    an object (the values put in place, no attribute event per column: the row's values are
    not changes to be written; nothing adds this object to a session)."""
    row = model.__mapper__.class_manager.new_instance()
    row.__dict__.update(values)
    row.__dict__["tenant_id"] = tenant_id
    return row


_OPPORTUNITIES: Any = Opportunity.__table__
_OPPORTUNITY_IDENTITY: Any = Opportunity.__mapper__._identity_class
_STAGES: Any = PipelineStage.__table__
_OPPORTUNITY_KEYS = tuple(column.key for column in _OPPORTUNITIES.c if column.key != "tenant_id")
_STAGE_KEYS = tuple(column.key for column in _STAGES.c if column.key != "tenant_id")
_STAGE_PREFIX = "target_stage_"
_STAGE_AT = len(_OPPORTUNITY_KEYS)  # where the stage's columns begin in the read's row
_STAGE_ID_AT = _STAGE_AT + _STAGE_KEYS.index("id")
_MOVE_TENANT = "move_tenant_id"
_MOVE_ID = "move_opportunity_id"
_MOVE_STAGE = "move_stage_id"


@functools.lru_cache(maxsize=64)
def _move_read(condition_sql: str, stage_condition_sql: str) -> PreparedWrite:
    """`move_opportunity_to`'s first statement, built once per visibility rule: the opportunity
    (tenant, id, the rule), locked, with the tenant's stage `move_stage_id` if the caller sees it
    (`rules.stage_conditions`; NULLs when not). Prepared on each connection that runs it
    (`PreparedWrite`)."""
    opportunities, stages = _OPPORTUNITIES, _STAGES
    read = (
        select(
            *(opportunities.c[key] for key in _OPPORTUNITY_KEYS),
            *(stages.c[key].label(_STAGE_PREFIX + key) for key in _STAGE_KEYS),
        )
        .select_from(
            opportunities.outerjoin(
                stages,
                and_(
                    stages.c.tenant_id == opportunities.c.tenant_id,
                    stages.c.id == bindparam(_MOVE_STAGE, type_=stages.c.id.type),
                    text(stage_condition_sql),
                ),
            )
        )
        .where(
            opportunities.c.tenant_id == bindparam(_MOVE_TENANT, type_=opportunities.c.tenant_id.type),
            opportunities.c.id == bindparam(_MOVE_ID, type_=opportunities.c.id.type),
            text(condition_sql),
        )
        .with_for_update(of=opportunities)
    )
    return PreparedWrite(read)
