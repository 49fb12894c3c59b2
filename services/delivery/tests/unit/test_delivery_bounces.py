"""What a reply says about a message: the enhanced status code first, the text second."""

from __future__ import annotations

import pytest

from delivery.bounces import Reply, Stage, Verdict, classify, refusal_key

RCPT, END, MAIL, CONNECT = Stage.RCPT, Stage.END, Stage.MAIL, Stage.CONNECT


@pytest.mark.parametrize(
    ("stage", "code", "text", "verdict"),
    [
        (END, 250, "2.0.0 OK queued as 1234", Verdict.ACCEPTED),
        (END, None, "connection lost", Verdict.UNKNOWN),
        (RCPT, None, "connection lost", Verdict.UNREACHABLE),
        (CONNECT, None, "ConnectionRefusedError", Verdict.UNREACHABLE),
        (CONNECT, 421, "4.3.2 Service not available, closing", Verdict.UNREACHABLE),
        (CONNECT, 554, "5.7.1 no SMTP service here", Verdict.UNREACHABLE),
        # bad mailbox or domain: hard
        (RCPT, 550, "5.1.1 <bounce@x.example>: user unknown", Verdict.HARD),
        (RCPT, 550, "5.1.2 bad destination system address", Verdict.HARD),
        (RCPT, 550, "5.1.10 RESOLVER.ADR.RecipientNotFound; not found", Verdict.HARD),
        (RCPT, 550, "5.4.1 Recipient address rejected: Access denied", Verdict.HARD),
        (RCPT, 550, "Requested action not taken: mailbox unavailable", Verdict.HARD),
        (RCPT, 550, "No such user here", Verdict.HARD),
        (RCPT, 550, "sorry", Verdict.HARD),
        # mailbox full and other temporary ones: retried
        (RCPT, 552, "5.2.2 <full@x.example>: mailbox full", Verdict.TEMPORARY),
        (
            RCPT,
            452,
            "4.2.2 The email account that you tried to reach is over quota",
            Verdict.TEMPORARY,
        ),
        (RCPT, 450, "4.7.1 <grey@x.example>: greylisted, try again later", Verdict.TEMPORARY),
        (RCPT, 451, "4.7.1 try again later", Verdict.TEMPORARY),
        (RCPT, 550, "Mailbox is full", Verdict.TEMPORARY),
        # policy, spam, reputation, relaying: blocked, nobody registered
        (RCPT, 554, "5.7.1 Message rejected due to policy", Verdict.BLOCKED),
        (
            END,
            550,
            "5.7.1 Our system has detected that this message is likely unsolicited mail",
            Verdict.BLOCKED,
        ),
        (RCPT, 554, "5.7.1 <r@x.example>: Relay access denied", Verdict.BLOCKED),
        (RCPT, 554, "Relay access denied", Verdict.BLOCKED),
        (END, 552, "5.3.4 Message size exceeds fixed limit", Verdict.BLOCKED),
        (RCPT, 550, "5.7.606 Access denied, banned sending IP", Verdict.BLOCKED),
        (
            RCPT,
            553,
            "5.7.1 [BL21] Connections will not be accepted from 192.0.2.1",
            Verdict.BLOCKED,
        ),
        (
            RCPT,
            550,
            "5.1.1 Service unavailable; client host blocked using Spamhaus",
            Verdict.BLOCKED,
        ),
        (RCPT, 554, "rejected: your IP is on a blacklist", Verdict.BLOCKED),
        (END, 554, "transaction failed", Verdict.BLOCKED),
        # throttling: the destination asks us to slow down
        (RCPT, 421, "4.7.0 Try again later, rate limited", Verdict.THROTTLED),
        (
            RCPT,
            421,
            "4.7.28 unusual rate of unsolicited mail originating from your IP",
            Verdict.THROTTLED,
        ),
        (
            RCPT,
            451,
            "4.7.650 The mail server has been temporarily rate limited due to IP reputation",
            Verdict.THROTTLED,
        ),
        (RCPT, 421, "4.7.0 [TS01] Messages from 192.0.2.1 temporarily deferred", Verdict.THROTTLED),
        (RCPT, 452, "Too many recipients received this hour", Verdict.THROTTLED),
        # our sender or our protocol: failed, not the recipient's problem
        (MAIL, 553, "5.1.8 sender address rejected", Verdict.FAILED),
        (MAIL, 550, "5.7.1 sender blocked by policy", Verdict.FAILED),
        (RCPT, 501, "5.5.4 syntax error in parameters", Verdict.FAILED),
        (END, 554, "5.6.0 malformed message", Verdict.FAILED),
    ],
)
def test_classify(stage: Stage, code: int | None, text: str, verdict: Verdict) -> None:
    assert classify(Reply(stage, code, text)) is verdict


def test_identical_refusals_share_a_key_whatever_the_address() -> None:
    a = Reply(RCPT, 554, "5.7.1 <a@x.example> rejected")
    b = Reply(RCPT, 554, "5.7.1 <b@x.example> rejected")
    assert refusal_key(a) == refusal_key(b) == "554 5.7.1"
    assert refusal_key(Reply(RCPT, 550, "5.1.1 no")) != refusal_key(a)
