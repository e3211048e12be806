"""The mail server's circuit: one alarm per outage of ``[email]``'s server, as for an
integration (:mod:`.circuits`).

The circuit is the row named ``email`` in the shared ``circuits`` table, so every worker,
``scf status`` and ``scf credentials set email`` (which closes it) see the same outage. Its
fingerprint is that of the server's host, port, user and password: a config or password put
right is tried at once. While it is open nothing is sent and no notification is charged; a
probe when it is due connects, says hello and logs in, and sends nothing
(:func:`scf_plugins.net.smtp.check`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from ..config.email import Email
from ..models import Integration
from ..net import smtp
from . import circuits
from .context import StepContext
from .outcomes import describe

log = logging.getLogger(__name__)

CIRCUIT = "email"  # its row in ``circuits``, and the credential `scf credentials set email`
# An address in a server's reply ("550 <jane@example.org>: no such user") is kept out of
# every log line, error column and status text.
_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"'@]+@[^\s<>()\[\],;:\"'@]+")


def as_circuit(email: Email) -> Integration:
    """The mail server as :mod:`.circuits` keys an outage: its name and fingerprint (host,
    port and user; the password as a slow salted hash)."""
    return Integration(
        name=CIRCUIT,
        plugin="smtp",
        environment=email.security,
        url=f"smtp://{email.host}:{email.port}",
        user=email.user or "",
        password=email.password,
        timeout_seconds=email.timeout_seconds,
    )


def text(exc: BaseException) -> str:
    """One redacted line for a mail failure, without any email address in it."""
    return _ADDRESS.sub("<address>", describe(exc))


def up(ctx: StepContext, email: Email, check: Callable[[Email], object] | None = None) -> bool:
    """Whether to send now: the circuit is closed (or was opened on other settings), or its
    probe is due and goes through (then it closes: one line says the server is back).

    :param check: the probe (default: :func:`scf_plugins.net.smtp.check`).
    """
    server = as_circuit(email)
    with ctx.store.read() as conn:
        circuit = circuits.read(conn, CIRCUIT)
    if circuit is None:
        return True
    now = ctx.clock()
    if not circuit.applies_to(server):
        with ctx.store.transaction() as conn:
            circuits.close(conn, CIRCUIT, now, "tripped on other settings: the mail server, "
                           "user or password changed since", only=circuit)  # fmt: skip
        return True
    if circuit.probe_at > now:
        return False  # said when it went down; nothing more per pass
    try:
        (check or _check)(email)
    except smtp.SmtpFailure as exc:
        trip(ctx, email, exc)
        return False
    with ctx.store.transaction() as conn:
        circuits.close(conn, CIRCUIT, now, only=circuit)
    return True


def trip(ctx: StepContext, email: Email, exc: BaseException) -> None:
    """The mail server is down as a whole: open its circuit (one warning, counted once in the
    pass), or push its next probe back."""
    why = text(exc)
    with ctx.store.transaction() as conn:
        _, opened = circuits.trip(conn, as_circuit(email), why, ctx.clock())
    if opened:
        ctx.report.errors += 1
        ctx.report.problems.append(f"the mail server is down: {why}")


def _check(email: Email) -> None:
    smtp.check(email, email.password)
