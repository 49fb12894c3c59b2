"""/v1/tenant, /v1/users, /v1/keys, /v1/senders, /v1/auth/introspect."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict

from composer import accounts
from composer.api.deps import BEARER_DOC, StoreDep
from composer.api.errors import ERROR_RESPONSES
from composer.api.models import IntrospectOut, KeyOut, SenderOut, TenantOut, UserCreated, UserOut
from servicekit.auth import CurrentPrincipal, KeyVerifier, bearer

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, dependencies=[BEARER_DOC])


class TenantPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    company_name: str | None = None
    postal_address: str | None = None
    contact: str | None = None
    time_zone: str | None = None


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    email: str | None = None
    signature: str | None = None
    role: accounts.RoleName | None = None


@router.post("/auth/introspect", tags=["auth"], summary="Who a bearer key belongs to")
async def introspect(request: Request) -> IntrospectOut:
    verifier: KeyVerifier = request.state.ports.keys
    principal = await verifier.verify(bearer(request))
    if principal is None:
        raise HTTPException(401, "unknown or revoked API key", {"WWW-Authenticate": "Bearer"})
    return IntrospectOut.of(principal)


@router.get("/tenant", tags=["tenant"], summary="The caller's account information")
async def get_tenant(actor: CurrentPrincipal, store: StoreDep) -> TenantOut:
    return TenantOut.of(await accounts.get_tenant(actor=actor, store=store))


@router.patch("/tenant", tags=["tenant"], summary="Change account information (admin)")
async def update_tenant(body: TenantPatch, actor: CurrentPrincipal, store: StoreDep) -> TenantOut:
    changes = body.model_dump(exclude_none=True)
    return TenantOut.of(await accounts.update_tenant(changes, actor=actor, store=store))


@router.get("/me", tags=["users"], summary="The caller")
async def me(actor: CurrentPrincipal, store: StoreDep) -> UserOut:
    return UserOut.of(await accounts.get_user(actor.user_id, actor=actor, store=store))


@router.post("/users", status_code=201, tags=["users"], summary="Create a user and a key (admin)")
async def create_user(
    body: accounts.UserInput, actor: CurrentPrincipal, store: StoreDep
) -> UserCreated:
    user, key = await accounts.create_user(body, actor=actor, store=store)
    return UserCreated(**UserOut.of(user).model_dump(), key_id=key.key_id, api_key=key.api_key)


@router.get("/users", tags=["users"], summary="The tenant's users")
async def list_users(actor: CurrentPrincipal, store: StoreDep) -> list[UserOut]:
    return [UserOut.of(u) for u in await accounts.list_users(actor=actor, store=store)]


@router.get("/users/{user_id}", tags=["users"], summary="One user")
async def get_user(user_id: UUID, actor: CurrentPrincipal, store: StoreDep) -> UserOut:
    return UserOut.of(await accounts.get_user(user_id, actor=actor, store=store))


@router.patch(
    "/users/{user_id}", tags=["users"], summary="Edit a user (self: name, email, signature)"
)
async def update_user(
    user_id: UUID, body: UserPatch, actor: CurrentPrincipal, store: StoreDep
) -> UserOut:
    changes = body.model_dump(exclude_none=True)
    return UserOut.of(await accounts.update_user(user_id, changes, actor=actor, store=store))


@router.post(
    "/users/{user_id}/keys", status_code=201, tags=["users"], summary="Issue another API key"
)
async def issue_key(user_id: UUID, actor: CurrentPrincipal, store: StoreDep) -> KeyOut:
    return KeyOut.of(await accounts.issue_key(user_id, actor=actor, store=store))


@router.delete("/keys/{key_id}", status_code=204, tags=["users"], summary="Revoke an API key")
async def revoke_key(key_id: str, actor: CurrentPrincipal, store: StoreDep) -> Response:
    await accounts.revoke_key(key_id, actor=actor, store=store)
    return Response(status_code=204)


@router.post("/senders", status_code=201, tags=["senders"], summary="Register a sender (admin)")
async def create_sender(
    body: accounts.SenderInput, actor: CurrentPrincipal, store: StoreDep
) -> SenderOut:
    return SenderOut.of(await accounts.create_sender(body, actor=actor, store=store))


@router.get("/senders", tags=["senders"], summary="The tenant's registered senders")
async def list_senders(actor: CurrentPrincipal, store: StoreDep) -> list[SenderOut]:
    return [SenderOut.of(s) for s in await accounts.list_senders(actor=actor, store=store)]


@router.get("/senders/{sender_id}", tags=["senders"], summary="One registered sender")
async def get_sender(sender_id: UUID, actor: CurrentPrincipal, store: StoreDep) -> SenderOut:
    return SenderOut.of(await accounts.get_sender(sender_id, actor=actor, store=store))


@router.delete(
    "/senders/{sender_id}", status_code=204, tags=["senders"], summary="Remove (manager+)"
)
async def delete_sender(sender_id: UUID, actor: CurrentPrincipal, store: StoreDep) -> Response:
    await accounts.delete_sender(sender_id, actor=actor, store=store)
    return Response(status_code=204)
