"""/v1/auth/login, /v1/auth/logout and /v1/users/{id}/password: password sign-in."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from composer import auth
from composer.api.deps import BEARER_DOC, ClockDep
from composer.api.errors import ERROR_RESPONSES
from composer.api.models import UserOut
from composer.settings import Settings
from servicekit.api_errors import error_response, error_responses
from servicekit.auth import CurrentPrincipal, bearer, split_key
from servicekit.http import port

router = APIRouter(prefix="/v1", tags=["auth"], responses=ERROR_RESPONSES)

LoginsDep = Annotated[auth.Logins, Depends(port("logins"))]
HasherDep = Annotated[auth.Hasher, Depends(port("hasher"))]


def policy_of(settings: Settings) -> auth.LoginPolicy:
    return auth.LoginPolicy(
        session_ttl=timedelta(hours=settings.session_hours),
        failure_limit=settings.login_failure_limit,
        failure_window=timedelta(minutes=settings.login_failure_minutes),
    )


class TenantOption(BaseModel):
    id: UUID
    company_name: str


class SessionOut(BaseModel):
    key_id: str
    api_key: str = Field(description="The session key: use it as a bearer key until it expires.")
    expires_at: datetime
    user: UserOut
    company_name: str


@router.post(
    "/auth/login",
    summary="Sign in with address and password; issues a session key",
    description="401 for a wrong address or password (which one is not said); 429 with "
    "Retry-After after too many failures for the address; 422 on `tenant_id` with "
    "`tenants` [{id, company_name}] when the password opens accounts in several tenants "
    "(send again with one of them).",
    responses=error_responses(401, 422, 429),
    response_model=SessionOut,
)
async def login(
    body: auth.LoginInput, request: Request, logins: LoginsDep, hasher: HasherDep, clock: ClockDep
) -> SessionOut | JSONResponse:
    policy: auth.LoginPolicy = request.app.state.login_policy
    try:
        session = await auth.login(body, logins=logins, hasher=hasher, clock=clock, policy=policy)
    except auth.TooManyAttempts as exc:
        return error_response(429, exc.errors, headers={"Retry-After": str(exc.retry_after)})
    except auth.TenantRequired as exc:
        body_of_error = json.loads(bytes(error_response(422, exc.errors).body))
        tenants = [TenantOption(id=t, company_name=name) for t, name in exc.tenants]
        body_of_error["tenants"] = [t.model_dump(mode="json") for t in tenants]
        return JSONResponse(body_of_error, status_code=422)
    return SessionOut(
        key_id=session.key_id,
        api_key=session.api_key,
        expires_at=session.expires_at,
        user=UserOut.of(session.user),
        company_name=session.company_name,
    )


@router.post(
    "/auth/logout",
    status_code=204,
    summary="Sign out: revokes the session key the request carries",
    dependencies=[BEARER_DOC],
)
async def logout(request: Request, _: CurrentPrincipal, logins: LoginsDep) -> Response:
    parts = split_key(bearer(request))
    if parts is not None:
        await auth.logout(parts[0], logins=logins)
    return Response(status_code=204)


@router.put(
    "/users/{user_id}/password",
    status_code=204,
    tags=["users"],
    summary="Change one's password (with the current one) or reset another's (admin)",
    description="A reset by an admin revokes the user's session keys (signed out everywhere).",
    dependencies=[BEARER_DOC],
)
async def change_password(
    user_id: UUID,
    body: auth.PasswordChange,
    actor: CurrentPrincipal,
    logins: LoginsDep,
    hasher: HasherDep,
) -> Response:
    await auth.change_password(user_id, body, actor=actor, logins=logins, hasher=hasher)
    return Response(status_code=204)
