"""Sending domains against a fake resolver: records, checks, rotation, roles."""

from __future__ import annotations

from dataclasses import replace

import pytest
from composer_tests_fakes import POLICY, SECRET

from composer import domain_handlers as domains
from composer.sending_domains import records, txt_value
from mailkit.keys import KeyVault
from mailkit.signing import TXT_STRING_LIMIT
from servicekit.auth import Role
from servicekit.errors import Conflict, Forbidden, Invalid, NotFound


@pytest.fixture
def tenant(store):
    return store.add_tenant(domains=())


@pytest.fixture
def admin(store, tenant):
    return store.add_user(tenant, Role.ADMIN)


async def register(store, clock, tools, admin, name="Mail.Example.CO.JP", **kw):
    return await domains.register(
        name, ed25519=kw.get("ed25519", False), actor=admin, store=store, tools=tools, clock=clock
    )


async def verify(store, clock, tools, admin, domain):
    return await domains.verify(domain.id, actor=admin, store=store, tools=tools, clock=clock)


async def test_registering_generates_keys_and_shows_every_record(store, clock, tools, admin):
    d = await register(store, clock, tools, admin, ed25519=True)
    assert d.domain == "mail.example.co.jp" and d.status == "pending"
    assert [k.algorithm for k in d.keys] == ["rsa-sha256", "ed25519-sha256"]
    shown = {(r.purpose, r.type, r.name): r for r in records(d, POLICY)}
    rsa, ed = d.keys
    assert ("dkim", "TXT", f"{rsa.selector}._domainkey.mail.example.co.jp") in shown
    assert ("dkim", "TXT", f"{ed.selector}._domainkey.mail.example.co.jp") in shown
    spf = shown[("spf", "TXT", "mail.example.co.jp")]
    assert spf.value == '"v=spf1 include:spf.platform.example ~all"' and spf.required
    dmarc = shown[("dmarc", "TXT", "_dmarc.mail.example.co.jp")]
    assert dmarc.value == '"v=DMARC1; p=none; rua=mailto:dmarc@mail.example.co.jp"'
    mx = shown[("return_path", "MX", "bounces.mail.example.co.jp")]
    assert mx.value == "10 bounce.platform.example." and not mx.required
    assert shown[("return_path", "TXT", "bounces.mail.example.co.jp")].value == spf.value


async def test_dkim_records_are_split_into_255_byte_strings(store, clock, tools, admin):
    d = await register(store, clock, tools, admin)
    [dkim] = [r for r in records(d, POLICY) if r.purpose == "dkim"]
    strings = dkim.value[1:-1].split('" "')
    assert len(strings) == 2 and all(len(s) <= TXT_STRING_LIMIT for s in strings)
    assert "".join(strings) == d.keys[0].public_record
    assert d.keys[0].public_record.startswith("v=DKIM1; k=rsa; p=MIIB")


async def test_private_keys_are_sealed_never_kept_in_clear(store, clock, tools, admin):
    d = await register(store, clock, tools, admin, ed25519=True)
    for key in d.keys:
        assert "PRIVATE KEY" not in key.sealed_private_key
        assert b"PRIVATE KEY" in KeyVault(SECRET).decrypt(key.sealed_private_key)
        assert key.sealed_private_key not in repr(d)


@pytest.mark.parametrize("name", ["localhost", "-bad.example", "a..b", "x" * 64 + ".example", ""])
async def test_names_that_are_no_domain_are_refused(store, clock, tools, admin, name):
    with pytest.raises(Invalid) as exc:
        await register(store, clock, tools, admin, name)
    assert exc.value.errors[0].field == "domain"


async def test_unicode_names_are_stored_as_a_labels_and_twice_is_a_conflict(
    store, clock, tools, admin
):
    d = await register(store, clock, tools, admin, "メール.example.jp")
    assert d.domain == "xn--4dkua4c.example.jp"
    with pytest.raises(Conflict):
        await register(store, clock, tools, admin, "XN--4DKUA4C.example.jp.")


async def test_unverified_until_every_required_record_is_published(store, clock, tools, dns, admin):
    d = await register(store, clock, tools, admin)
    checked = await verify(store, clock, tools, admin, d)
    assert checked.status == "pending" and checked.checked_at == clock.now()
    assert checked.verified_at is None
    required = [r for r in records(d, POLICY) if r.required]
    dns.publish(required[:-1])  # DMARC still missing
    assert (await verify(store, clock, tools, admin, d)).status == "pending"
    dns.publish(required[-1:])
    verified = await verify(store, clock, tools, admin, d)
    assert verified.status == "verified" and verified.verified_at == clock.now()
    found = {(f.type, f.name): f.found for f in verified.findings}
    assert found[("MX", f"bounces.{d.domain}")] is False, "advisory: not needed to verify"


async def test_wrong_records_fail_and_say_what_is_wrong(store, clock, tools, dns, admin):
    d = await register(store, clock, tools, admin)
    good = [r for r in records(d, POLICY) if r.required and r.purpose != "spf"]
    dns.publish(good)
    dns.zone[("TXT", d.domain)] = ["v=spf1 include:_spf.google.com ~all"]
    checked = await verify(store, clock, tools, admin, d)
    assert checked.status == "failed"
    [spf] = [f for f in checked.findings if f.name == d.domain]
    assert "does not contain include:spf.platform.example" in (spf.detail or "")
    dns.zone[("TXT", d.domain)] = ["v=spf1 include:spf.platform.example -all", "v=spf1 -all"]
    [spf] = [
        f for f in (await verify(store, clock, tools, admin, d)).findings if f.name == d.domain
    ]
    assert spf.detail == "2 SPF records where one is allowed"
    dns.zone[("TXT", d.domain)] = ["v=spf1 mx include:spf.platform.example -all", "other=1"]
    assert (await verify(store, clock, tools, admin, d)).status == "verified"


async def test_another_key_at_the_selector_is_not_this_key(store, clock, tools, dns, admin):
    d = await register(store, clock, tools, admin)
    other = await register(store, clock, tools, admin, "other.example")
    published = [r for r in records(d, POLICY) if r.required and r.purpose != "dkim"]
    dns.publish(published)
    [mine] = [r for r in records(d, POLICY) if r.purpose == "dkim"]
    [theirs] = [r for r in records(other, POLICY) if r.purpose == "dkim"]
    dns.publish([replace(theirs, name=mine.name)])
    checked = await verify(store, clock, tools, admin, d)
    assert checked.status == "failed"
    [dkim] = [f for f in checked.findings if f.name == mine.name]
    assert dkim.detail == "a TXT record is there but holds another key"


async def test_a_verified_domain_that_loses_a_record_fails(store, clock, tools, dns, admin):
    d = await register(store, clock, tools, admin)
    dns.publish([r for r in records(d, POLICY) if r.required])
    assert (await verify(store, clock, tools, admin, d)).status == "verified"
    dns.withdraw(f"_dmarc.{d.domain}")
    assert (await verify(store, clock, tools, admin, d)).status == "failed"


async def test_an_unanswering_resolver_changes_nothing(store, clock, tools, dns, admin):
    from composer.sending_domains import DnsUnavailable

    d = await register(store, clock, tools, admin)
    dns.unavailable = True
    with pytest.raises(DnsUnavailable):
        await verify(store, clock, tools, admin, d)
    assert store.state.domains[d.id].checked_at is None


async def test_rotation_signs_with_the_new_selector_once_found_and_keeps_the_old(
    store, clock, tools, dns, admin
):
    d = await register(store, clock, tools, admin)
    dns.publish([r for r in records(d, POLICY) if r.required])
    await verify(store, clock, tools, admin, d)
    [old] = d.keys
    rotated = await domains.rotate(d.id, actor=admin, store=store, tools=tools, clock=clock)
    assert (rotated.keys[0].selector, rotated.keys[0].state) == (old.selector, "active")
    [new] = [k for k in rotated.keys if k.state == "pending"]
    assert new.selector != old.selector
    assert (await verify(store, clock, tools, admin, d)).signing_keys() == [old]
    dns.publish([r for r in records(rotated, POLICY) if r.selector == new.selector])
    done = await verify(store, clock, tools, admin, d)
    assert done.status == "verified"
    assert [k.selector for k in done.signing_keys()] == [new.selector]
    shown = {r.selector: r.key_state for r in records(done, POLICY) if r.purpose == "dkim"}
    assert shown == {old.selector: "retiring", new.selector: "active"}
    with pytest.raises(Conflict):
        await domains.remove_key(d.id, new.selector, actor=admin, store=store)
    gone = await domains.remove_key(d.id, old.selector, actor=admin, store=store)
    assert [k.selector for k in gone.keys] == [new.selector]


async def test_only_admins_touch_sending_domains(store, clock, tools, tenant, admin):
    d = await register(store, clock, tools, admin)
    for role in (Role.MEMBER, Role.MANAGER):
        who = store.add_user(tenant, role)
        for call in (
            domains.register("x.example", ed25519=False, actor=who, store=store, tools=tools,
                             clock=clock),
            domains.list_domains(actor=who, store=store),
            domains.get_domain(d.id, actor=who, store=store),
            domains.verify(d.id, actor=who, store=store, tools=tools, clock=clock),
            domains.rotate(d.id, actor=who, store=store, tools=tools, clock=clock),
            domains.remove_key(d.id, "x", actor=who, store=store),
            domains.delete(d.id, actor=who, store=store),
        ):  # fmt: skip
            with pytest.raises(Forbidden):
                await call


async def test_another_tenants_domain_is_not_found(store, clock, tools, admin):
    d = await register(store, clock, tools, admin)
    outsider = store.add_user(store.add_tenant(), Role.ADMIN)
    for call in (
        domains.get_domain(d.id, actor=outsider, store=store),
        domains.verify(d.id, actor=outsider, store=store, tools=tools, clock=clock),
        domains.rotate(d.id, actor=outsider, store=store, tools=tools, clock=clock),
        domains.delete(d.id, actor=outsider, store=store),
    ):
        with pytest.raises(NotFound):
            await call
    assert (
        await domains.list_domains(actor=outsider, store=store)
        == [*store.state.domains.values()][1:]
    )


def test_txt_values_quote_what_needs_it():
    assert txt_value('a "b" \\c') == '"a \\"b\\" \\\\c"'
