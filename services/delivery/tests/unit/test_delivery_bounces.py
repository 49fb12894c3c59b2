"""What a reply says about a message: the enhanced status code first, the text second."""

from __future__ import annotations

import pytest

from delivery.bounces import Reply, Stage, Verdict, classify, refusal_key

RCPT, END, MAIL, CONNECT = Stage.RCPT, Stage.END, Stage.MAIL, Stage.CONNECT


#: Replies by the verdict they lead to.
CASES: dict[Verdict, list[tuple[Stage, int | None, str]]] = {
    Verdict.ACCEPTED: [(END, 250, "2.0.0 OK queued as 1234")],
    Verdict.UNKNOWN: [(END, None, "connection lost")],
    Verdict.UNREACHABLE: [
        (RCPT, None, "connection lost"),
        (CONNECT, None, "ConnectionRefusedError"),
        (CONNECT, 421, "4.3.2 Service not available, closing"),
        (CONNECT, 554, "5.7.1 no SMTP service here"),
    ],
    # bad mailbox or domain
    Verdict.HARD: [
        (RCPT, 550, "5.1.1 <bounce@x.example>: user unknown"),
        (RCPT, 550, "5.1.2 bad destination system address"),
        (RCPT, 550, "5.1.10 RESOLVER.ADR.RecipientNotFound; not found"),
        (RCPT, 550, "5.4.1 Recipient address rejected: Access denied"),
        (RCPT, 550, "Requested action not taken: mailbox unavailable"),
        (RCPT, 550, "No such user here"),
        (RCPT, 550, "sorry"),
    ],
    # mailbox full and other temporary ones: retried
    Verdict.TEMPORARY: [
        (RCPT, 552, "5.2.2 <full@x.example>: mailbox full"),
        (RCPT, 452, "4.2.2 The email account that you tried to reach is over quota"),
        (RCPT, 450, "4.7.1 <grey@x.example>: greylisted, try again later"),
        (RCPT, 451, "4.7.1 try again later"),
        (RCPT, 550, "Mailbox is full"),
    ],
    # policy, spam, reputation, relaying: nobody registered
    Verdict.BLOCKED: [
        (RCPT, 554, "5.7.1 Message rejected due to policy"),
        (END, 550, "5.7.1 Our system has detected that this message is likely unsolicited mail"),
        (RCPT, 554, "5.7.1 <r@x.example>: Relay access denied"),
        (RCPT, 554, "Relay access denied"),
        (END, 552, "5.3.4 Message size exceeds fixed limit"),
        (RCPT, 550, "5.7.606 Access denied, banned sending IP"),
        (RCPT, 553, "5.7.1 [BL21] Connections will not be accepted from 192.0.2.1"),
        (RCPT, 550, "5.1.1 Service unavailable; client host blocked using Spamhaus"),
        (RCPT, 554, "rejected: your IP is on a blacklist"),
        (END, 554, "transaction failed"),
    ],
    # the destination asks us to slow down
    Verdict.THROTTLED: [
        (RCPT, 421, "4.7.0 Try again later, rate limited"),
        (RCPT, 421, "4.7.28 unusual rate of unsolicited mail originating from your IP"),
        (
            RCPT,
            451,
            "4.7.650 The mail server has been temporarily rate limited due to IP reputation",
        ),
        (RCPT, 421, "4.7.0 [TS01] Messages from 192.0.2.1 temporarily deferred"),
        (RCPT, 452, "Too many recipients received this hour"),
    ],
    # our sender or our protocol: not the recipient's problem
    Verdict.FAILED: [
        (MAIL, 553, "5.1.8 sender address rejected"),
        (MAIL, 550, "5.7.1 sender blocked by policy"),
        (RCPT, 501, "5.5.4 syntax error in parameters"),
        (END, 554, "5.6.0 malformed message"),
    ],
}


@pytest.mark.parametrize(
    ("stage", "code", "text", "verdict"),
    [(*case, verdict) for verdict, cases in CASES.items() for case in cases],
)
def test_classify(stage: Stage, code: int | None, text: str, verdict: Verdict) -> None:
    assert classify(Reply(stage, code, text)) is verdict


def test_identical_refusals_share_a_key_whatever_the_address() -> None:
    a = Reply(RCPT, 554, "5.7.1 <a@x.example> rejected")
    b = Reply(RCPT, 554, "5.7.1 <b@x.example> rejected")
    assert refusal_key(a) == refusal_key(b) == "554 5.7.1"
    assert refusal_key(Reply(RCPT, 550, "5.1.1 no")) != refusal_key(a)
