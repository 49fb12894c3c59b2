"""顧客情報: list and search, create, edit, and the CSV import with its per-row report."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from console.errors import FormErrors, Problem
from console.i18n import N_
from console.i18n import gettext as _
from console.web.deps import Api, FormDep, PagesDep, Screen, ScreenDep, SettingsDep, text
from console.web.forms import attempt, attributes_text, done, parse_attributes

router = APIRouter()

PAGE_SIZE = 50
ENCODINGS = {"utf-8": "UTF-8", "shift_jis": "Shift_JIS (Excel)", "euc-jp": "EUC-JP"}
FIELDS = ("email", "last_name", "first_name", "company")


@router.get("/customers")
async def customers(screen: ScreenDep) -> Response:
    query = screen.request.query_params.get("q", "").strip()
    params: dict[str, Any] = {"limit": PAGE_SIZE}
    if query:
        params["q"] = query
    after = screen.request.query_params.get("after")
    if after:
        params["after"] = after
    page = await screen.api.recipients("GET", "/v1/customers", params=params)
    return screen.render(
        "customers.html", items=page["items"], next_after=page["next_after"], q=query
    )


async def _owners(api: Api) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = await api.composer("GET", "/v1/users")
    return users


@router.get("/customers/new")
async def new_customer(screen: ScreenDep) -> Response:
    return await _customer(screen, {}, "")


async def _customer(
    screen: Screen, customer: dict[str, Any], attributes: str, errors: FormErrors | None = None
) -> Response:
    return screen.render(
        "customer.html", errors=errors or FormErrors(), customer=customer,
        attributes=attributes, owners=await _owners(screen.api),
    )  # fmt: skip


def _body(form: FormDep) -> tuple[dict[str, Any], FormErrors]:
    attributes, errors = parse_attributes(text(form, "attributes"))
    body: dict[str, Any] = {name: text(form, name) for name in FIELDS}
    body["attributes"] = attributes
    body["owner_user_id"] = text(form, "owner_user_id") or None
    return body, errors


@router.post("/customers/new")
async def create_customer(form: FormDep, screen: ScreenDep) -> Response:
    body, errors = _body(form)
    if not errors:
        call = screen.api.recipients("POST", "/v1/customers", json=body)
        created, errors = await attempt(call)
    if errors:
        return await _customer(screen, body, text(form, "attributes"), errors)
    return done(screen.user, _("The customer was added"), f"/customers/{created['id']}")


@router.get("/customers/{customer_id}")
async def customer_page(customer_id: str, screen: ScreenDep) -> Response:
    customer = await screen.api.recipients("GET", f"/v1/customers/{customer_id}")
    return await _customer(screen, customer, attributes_text(customer["attributes"]))


@router.post("/customers/{customer_id}")
async def update_customer(customer_id: str, form: FormDep, screen: ScreenDep) -> Response:
    body, errors = _body(form)
    if not errors:
        path = f"/v1/customers/{customer_id}"
        _done, errors = await attempt(screen.api.recipients("PATCH", path, json=body))
    if errors:
        customer = {"id": customer_id, **body}
        return await _customer(screen, customer, text(form, "attributes"), errors)
    return done(screen.user, _("The customer was saved"), f"/customers/{customer_id}")


@router.get("/customers-import")
async def import_page(request: Request, pages: PagesDep) -> Response:
    return pages.render(request, "import.html", encodings=ENCODINGS, report=None)


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(256 * 1024):
        yield chunk


@router.post("/customers-import")
async def import_customers(form: FormDep, screen: ScreenDep, settings: SettingsDep) -> Response:
    upload = form.get("file")
    encoding = text(form, "encoding")
    encoding = encoding if encoding in ENCODINGS else "utf-8"
    errors = FormErrors()
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors.add("file", N_("Choose a CSV file"))
    elif upload.size is not None and upload.size > settings.max_upload_bytes:
        errors.add("file", N_("The file is too large"))
    if errors or not isinstance(upload, UploadFile):
        return screen.render("import.html", errors=errors, encodings=ENCODINGS, report=None)
    on_existing = "update" if form.get("update_existing") == "on" else "reject"
    report, errors = await attempt(
        screen.api.recipients(
            "POST",
            "/v1/customers/import",
            params={"on_existing": on_existing},
            content=_chunks(upload),
            headers={"Content-Type": f"text/csv; charset={encoding}"},
        ),
        {"body": "file"},
    )
    if errors:
        # "line 7: not UTF-8" and the like: all about the file, shown by its input.
        errors.problems = [
            Problem("file", p.reason if p.field in (None, "file") else f"{p.field}: {p.reason}")
            for p in errors.problems
        ]
        return screen.render("import.html", errors=errors, encodings=ENCODINGS, report=None)
    screen.user.data["import_report"] = report
    screen.user.dirty = True
    return RedirectResponse("/customers-import/report", status_code=303)


@router.get("/customers-import/report")
async def import_report(screen: ScreenDep) -> Response:
    report = screen.user.data.get("import_report")
    if report is None:
        return RedirectResponse("/customers-import", status_code=303)
    return screen.render("import.html", encodings=ENCODINGS, report=report)
