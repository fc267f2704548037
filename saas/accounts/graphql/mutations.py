"""Accounts mutations: login, members and invitations, API keys."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

import strawberry
from strawberry.types import Info

from saas.accounts import api_keys, invitations
from saas.accounts import service as accounts
from saas.accounts.graphql.types import (
    ApiKey,
    Invitation,
    Member,
)
from saas.accounts.login import login as login_service
from saas.auth.permissions import Role
from saas.auth.throttle import client_address
from saas.schema.common import Payload, provided, run_mutation, write_mutation
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id


@strawberry.input
class LoginInput:
    email: str
    password: str
    tenant: str = strawberry.field(description="The tenant's slug.")


@strawberry.type
class LoginPayload(Payload):
    token: str | None = None
    member: Member | None = None


@strawberry.input
class AddMemberInput:
    email: str
    role: Role
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="The name a new account gets unless the invitee gives one."
    )


@strawberry.input
class AcceptInvitationInput:
    token: str = strawberry.field(description="The invitation's token, as addMember returned it.")
    password: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Without a credential: the password of the e-mail's account, or of the new account.",
    )
    name: str | None = strawberry.field(default=strawberry.UNSET, description="The name of a new account.")


@strawberry.input
class RevokeInvitationInput:
    id: strawberry.ID


@strawberry.input
class UpdateMemberRoleInput:
    id: strawberry.ID
    role: Role


@strawberry.input
class RemoveMemberInput:
    id: strawberry.ID


@strawberry.type
class MemberPayload(Payload):
    member: Member | None = None


@strawberry.type
class AddMemberPayload(Payload):
    invitation: Invitation | None = None
    invitation_token: str | None = strawberry.field(
        default=None, description="The token to hand to the invitee (acceptInvitation); shown only this once."
    )


@strawberry.type
class AcceptInvitationPayload(Payload):
    member: Member | None = strawberry.field(default=None, description="The new membership.")
    token: str | None = strawberry.field(default=None, description="A bearer token for the new membership.")


@strawberry.type
class RevokeInvitationPayload(Payload):
    invitation: Invitation | None = None


@strawberry.type
class UpdateMemberRolePayload(MemberPayload):
    pass


@strawberry.type
class RemoveMemberPayload(MemberPayload):
    pass


@strawberry.input
class CreateApiKeyInput:
    name: str
    scopes: list[str] = strawberry.field(description="Permission strings, e.g. customers:read.")


@strawberry.type
class CreateApiKeyPayload(Payload):
    api_key: ApiKey | None = None
    secret: str | None = strawberry.field(default=None, description="The full key; shown only this once.")


@strawberry.input
class RevokeApiKeyInput:
    id: strawberry.ID


@strawberry.type
class RevokeApiKeyPayload(Payload):
    api_key: ApiKey | None = None


def _member_result(row: Any) -> dict[str, Any]:
    """The payload fields of a member whose role changed or who left (the service has the
    credential cache forget the tenant once committed)."""
    return {"member": Member.from_model(row)}


@strawberry.type
class AccountMutations:
    @strawberry.mutation(
        description="Exchange e-mail, password and tenant slug for a bearer token. "
        "RATE_LIMITED (with retryAfter) after too many failures for the account or the client address."
    )
    async def login(self, info: Info[RequestContext, None], input: LoginInput) -> LoginPayload:
        runtime = info.context.runtime

        address = client_address()

        async def run() -> dict[str, Any]:
            result = await info.context.global_work(
                partial(login_service, throttle=runtime.throttle, address=address),
                runtime.engine,
                runtime.settings,
                input.email,
                input.password,
                input.tenant,
            )
            return {"token": result.token, "member": Member.from_model(result.membership)}

        return await run_mutation(run, LoginPayload)

    @strawberry.mutation(
        description="Invite a person by e-mail: they join when they accept (acceptInvitation). "
        "The answer is the same whether or not the e-mail has an account elsewhere."
    )
    async def add_member(self, info: Info[RequestContext, None], input: AddMemberInput) -> AddMemberPayload:
        context = info.context
        data = provided(input)
        ttl = timedelta(days=context.runtime.settings.invitation_ttl_days)

        async def run() -> dict[str, Any]:
            row, token = await context.write(invitations.invite_member, context.require_principal(), data, ttl)
            return {"invitation": Invitation.from_model(row), "invitation_token": token}

        return await run_mutation(run, AddMemberPayload)

    @strawberry.mutation(
        description="Join a tenant with an invitation: signed in as the invited e-mail's user (a token of "
        "any tenant), or without a credential by giving that account's password (or a new account's)."
    )
    async def accept_invitation(
        self, info: Info[RequestContext, None], input: AcceptInvitationInput
    ) -> AcceptInvitationPayload:
        context = info.context
        runtime = context.runtime
        address = client_address()

        async def run() -> dict[str, Any]:
            accepted = await context.global_work(
                partial(
                    invitations.accept_invitation,
                    principal=context.principal,
                    throttle=runtime.throttle,
                    address=address,
                ),
                runtime.engine,
                runtime.settings,
                provided(input),
            )
            return {"member": Member.from_model(accepted.membership), "token": accepted.token}

        return await run_mutation(run, AcceptInvitationPayload)

    @strawberry.mutation(description="The invitation's token stops working at once.")
    async def revoke_invitation(
        self, info: Info[RequestContext, None], input: RevokeInvitationInput
    ) -> RevokeInvitationPayload:
        context = info.context
        invitation_id = decode_id(input.id, "Invitation")

        async def run() -> dict[str, Any]:
            row = await context.write(invitations.revoke_invitation, context.require_principal(), invitation_id)
            return {"invitation": Invitation.from_model(row)}

        return await run_mutation(run, RevokeInvitationPayload)

    @strawberry.mutation
    async def update_member_role(
        self, info: Info[RequestContext, None], input: UpdateMemberRoleInput
    ) -> UpdateMemberRolePayload:
        context = info.context
        member_id = decode_id(input.id, "Member")

        return await write_mutation(
            context, UpdateMemberRolePayload, _member_result, accounts.update_member_role, member_id, input.role
        )

    @strawberry.mutation(description="Ends the membership; the member's tokens stop working.")
    async def remove_member(self, info: Info[RequestContext, None], input: RemoveMemberInput) -> RemoveMemberPayload:
        context = info.context
        member_id = decode_id(input.id, "Member")

        return await write_mutation(context, RemoveMemberPayload, _member_result, accounts.remove_member, member_id)

    @strawberry.mutation
    async def create_api_key(self, info: Info[RequestContext, None], input: CreateApiKeyInput) -> CreateApiKeyPayload:
        context = info.context

        def result(created: tuple[Any, str]) -> dict[str, Any]:
            return {"api_key": ApiKey.from_model(created[0]), "secret": created[1]}

        return await write_mutation(context, CreateApiKeyPayload, result, api_keys.create_api_key, provided(input))

    @strawberry.mutation(description="The key stops working at once.")
    async def revoke_api_key(self, info: Info[RequestContext, None], input: RevokeApiKeyInput) -> RevokeApiKeyPayload:
        context = info.context
        key_id = decode_id(input.id, "ApiKey")

        def result(row: Any) -> dict[str, Any]:
            return {"api_key": ApiKey.from_model(row)}

        return await write_mutation(context, RevokeApiKeyPayload, result, api_keys.revoke_api_key, key_id)
