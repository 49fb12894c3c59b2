"""Sending domains (SPEC §9.1): a tenant's DKIM keys per domain, the DNS records it must
publish, and what a DNS check makes of them. Pure: no I/O.

Records, and why each is there:
- dkim (TXT `<selector>._domainkey.<domain>`, required for the signing keys): the public
  half of each key. Mail is signed with d=<domain>, so DKIM passes aligned with From and
  DMARC passes on it alone.
- spf (TXT on the domain, required): authorises the platform's servers to send for the
  domain (`include:<SPF_INCLUDE>`); providers' bulk-sender rules ask for SPF as well.
- dmarc (TXT `_dmarc.<domain>`, required): the policy receivers apply to mail that fails
  alignment, and where aggregate reports go; required of bulk senders by big providers.
  Any `v=DMARC1` record counts: `p=none` is suggested to start with.
- return_path (MX and TXT on `<BOUNCE_SUBDOMAIN>.<domain>`, advisory): the envelope sender
  on a subdomain of the tenant's, so that SPF passes aligned with From and bounces reach
  the platform's bounce host. Advisory: DMARC already passes on DKIM without it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal
from uuid import UUID

from mailkit.signing import split_txt

DomainStatus = Literal["pending", "verified", "failed"]
KeyState = Literal["pending", "active", "retiring"]
Algorithm = Literal["rsa-sha256", "ed25519-sha256"]
Purpose = Literal["dkim", "spf", "dmarc", "return_path"]
RecordType = Literal["TXT", "MX"]

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TAG = re.compile(r"\s*([a-z]+)\s*=\s*([^;]*)", re.IGNORECASE)


class DnsUnavailable(Exception):
    """The resolver did not answer (timeout, refused, SERVFAIL): nothing can be concluded."""


@dataclass(frozen=True)
class DkimKey:
    selector: str
    algorithm: Algorithm
    state: KeyState
    public_record: str = field(repr=False)
    sealed_private_key: str = field(repr=False)
    created_at: datetime


@dataclass(frozen=True)
class Finding:
    """What the last check found for one record (matched to the record by type, name and
    value, so a record whose expected value changed since counts as not found)."""

    type: RecordType
    name: str
    value: str
    found: bool
    detail: str | None = None
    wrong: bool = False  # a record is there but does not say what it must


@dataclass(frozen=True)
class SendingDomain:
    id: UUID
    tenant_id: UUID
    domain: str
    status: DomainStatus
    ed25519: bool
    created_at: datetime
    keys: tuple[DkimKey, ...]
    verified_at: datetime | None = None
    checked_at: datetime | None = None
    findings: tuple[Finding, ...] = ()

    def signing_keys(self) -> list[DkimKey]:
        return [k for k in self.keys if k.state == "active"]


@dataclass(frozen=True)
class DnsPolicy:
    """The platform's side of the records (settings)."""

    spf_include: str
    bounce_subdomain: str
    bounce_host: str
    dmarc_rua: str  # `{domain}` stands for the sending domain

    def spf(self) -> str:
        return f"v=spf1 include:{self.spf_include} ~all"


@dataclass(frozen=True)
class Record:
    type: RecordType
    name: str
    value: str  # RDATA as a zone file writes it (TXT: quoted strings of <= 255 bytes)
    purpose: Purpose
    required: bool
    selector: str | None = None
    key_state: KeyState | None = None


# ---------------------------------------------------------------- names and keys


def normalise(name: str) -> str:
    """A domain name in lower-case ASCII (IDNA for Unicode names), without a final dot;
    ValueError when it is not a host name of two labels or more."""
    try:
        ascii_name = name.strip().rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError("is not a valid domain name") from None
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or len(labels) < 2 or not all(map(_LABEL.fullmatch, labels)):
        raise ValueError("is not a domain name (e.g. mail.example.co.jp)")
    return ascii_name


def mail_domain(address: str) -> str:
    """The normalised domain of an address, or the raw right-hand side if it is none."""
    right = address.rpartition("@")[2]
    try:
        return normalise(right)
    except ValueError:
        return right.lower()


def new_selectors(taken: set[str], now: datetime, ed25519: bool) -> dict[Algorithm, str]:
    """Selectors of one key generation: dated, random, unused for this domain."""
    while True:
        base = f"bm{now:%Y%m}-{secrets.token_hex(2)}"
        chosen: dict[Algorithm, str] = {"rsa-sha256": f"{base}-rsa"}
        if ed25519:
            chosen["ed25519-sha256"] = f"{base}-ed25519"
        if not taken & set(chosen.values()):
            return chosen


def promote(domain: SendingDomain) -> SendingDomain:
    """Pending keys sign from now on; the keys they replace are kept, retiring."""
    if not any(k.state == "pending" for k in domain.keys):
        return domain
    states: dict[KeyState, KeyState] = {"pending": "active", "active": "retiring"}
    keys = tuple(replace(k, state=states.get(k.state, k.state)) for k in domain.keys)
    return replace(domain, keys=keys)


# ---------------------------------------------------------------- records


def txt_value(text: str) -> str:
    """A TXT value as a zone file writes it: quoted character-strings of <= 255 bytes."""
    quoted = (s.replace("\\", "\\\\").replace('"', '\\"') for s in split_txt(text))
    return " ".join(f'"{s}"' for s in quoted)


def records(domain: SendingDomain, policy: DnsPolicy) -> list[Record]:
    name = domain.domain
    bounce = f"{policy.bounce_subdomain}.{name}"
    dkim = [
        Record(
            "TXT",
            f"{k.selector}._domainkey.{name}",
            txt_value(k.public_record),
            "dkim",
            required=k.state == "active",
            selector=k.selector,
            key_state=k.state,
        )
        for k in domain.keys
    ]
    rua = policy.dmarc_rua.replace("{domain}", name)
    return [
        *dkim,
        Record("TXT", name, txt_value(policy.spf()), "spf", required=True),
        Record("TXT", f"_dmarc.{name}", txt_value(f"v=DMARC1; p=none; rua={rua}"), "dmarc", True),
        Record("MX", bounce, f"10 {policy.bounce_host}.", "return_path", required=False),
        Record("TXT", bounce, txt_value(policy.spf()), "return_path", required=False),
    ]


def finding_for(record: Record, findings: tuple[Finding, ...]) -> Finding | None:
    return next(
        (
            f
            for f in findings
            if (f.type, f.name, f.value) == (record.type, record.name, record.value)
        ),
        None,
    )


# ---------------------------------------------------------------- checking


def judge(record: Record, answers: list[str], policy: DnsPolicy, key: DkimKey | None) -> Finding:
    """What the DNS `answers` (joined TXT strings, or MX hosts) at the record's name mean."""
    if record.type == "MX":
        if policy.bounce_host.lower() in answers:
            verdict: tuple[bool, str | None, bool] = (True, None, False)
        else:
            verdict = (False, f"no MX to {policy.bounce_host}", bool(answers))
    elif record.purpose == "dkim" and key is not None:
        verdict = _dkim(record, answers, key)
    elif record.purpose == "dmarc":
        verdict = _one_policy(answers, "v=DMARC1", "DMARC", None)
    else:
        verdict = _one_policy(answers, "v=spf1", "SPF", f"include:{policy.spf_include}")
    found, detail, wrong = verdict
    return Finding(record.type, record.name, record.value, found, detail, wrong)


def _dkim(record: Record, answers: list[str], key: DkimKey) -> tuple[bool, str | None, bool]:
    expected = _tags(key.public_record)
    if any(_same_key(_tags(a), expected) for a in answers):
        return True, None, False
    if answers:
        return False, "a TXT record is there but holds another key", True
    return False, f"no TXT record at {record.name}", False


def _one_policy(
    answers: list[str], prefix: str, kind: str, needs: str | None
) -> tuple[bool, str | None, bool]:
    """SPF and DMARC allow exactly one record of their kind at a name (RFC 7208, 7489)."""
    ours = [a for a in answers if a.split(";", 1)[0].split(" ", 1)[0].lower() == prefix.lower()]
    if not ours:
        return False, f"no {kind} record ({prefix})", False
    if len(ours) > 1:
        return False, f"{len(ours)} {kind} records where one is allowed", True
    if needs and needs.lower() not in ours[0].lower().split():
        return False, f"the {kind} record does not contain {needs}", True
    return True, None, False


def _tags(record: str) -> dict[str, str]:
    return {m.group(1).lower(): re.sub(r"\s+", "", m.group(2)) for m in _TAG.finditer(record)}


def _same_key(found: dict[str, str], expected: dict[str, str]) -> bool:
    algorithm = (found.get("k", "rsa").lower(), expected.get("k", "rsa").lower())
    return bool(found.get("p")) and found.get("p") == expected.get("p") and len(set(algorithm)) == 1


def status_after(domain: SendingDomain, policy: DnsPolicy) -> DomainStatus:
    """verified: every required record found. failed: one is there but wrong, or a domain
    that was verified lost one. pending: required records are not (yet) published."""
    required = [(r, finding_for(r, domain.findings)) for r in records(domain, policy) if r.required]
    if all(f is not None and f.found for _, f in required):
        return "verified"
    if domain.verified_at is not None or any(f is not None and f.wrong for _, f in required):
        return "failed"
    return "pending"


def apply_check(
    domain: SendingDomain, findings: list[Finding], now: datetime, policy: DnsPolicy
) -> SendingDomain:
    """The domain after a DNS check: a rotation completes once its new keys are found."""
    checked = replace(domain, findings=tuple(findings), checked_at=now)
    pending = [r for r in records(checked, policy) if r.key_state == "pending"]
    if pending and all(_found(r, checked.findings) for r in pending):
        checked = promote(checked)
    status = status_after(checked, policy)
    verified_at = checked.verified_at
    if status == "verified" and domain.status != "verified":
        verified_at = now
    return replace(checked, status=status, verified_at=verified_at)


def _found(record: Record, findings: tuple[Finding, ...]) -> bool:
    finding = finding_for(record, findings)
    return finding is not None and finding.found
