"""A step of the submit passes, once for all integrations: email residents the notifications
queued with their issues' messages (:mod:`.notify`), each at most once.

SMTP has no idempotency key, and no way to ask a server whether it took a message. So "once"
is kept by never sending a message a second time on our own, at the price of an uncertain one
now and then:

- **Claim**: a few due notifications at a time, leased like the other steps' work (and
  renewed while the pass runs), so two workers never send the same one. Only the oldest
  notification of an issue still to send is claimed: a resident never reads "closed" before
  "received", whether the two would be sent at once or the first is backing off. An earlier
  one that is uncertain or skipped holds nothing back.
- **Checked again** just before it is sent: the kind still switched on, the resident not
  unsubscribed from the issue nor the address, the contact details still there. If not, it
  is skipped, and the reason kept.
- **The intent** (``send_attempted_at``) is committed before the SMTP transaction begins. A
  notification found with it set, not sent and its lease gone was being sent by a worker that
  died: it is marked uncertain and never sent again unless staff say so (``scf notifications
  retry ID``). So is one whose connection broke after the message's final dot (the server may
  have taken it). At most :data:`IN_FLIGHT` are in flight at once, so a worker killed mid-send
  leaves at most that many uncertain.
- **Failures**: a refusal of the message or its recipient (5xx) skips it with the server's
  reason; a temporary one backs off per notification (:mod:`.retries`), until it comes more
  than ``[notifications] give_up_after_hours`` after the notification was queued: then it is
  skipped as "expired" (news that late is no news; a line says so, and the pass counts it).
  The mail server down as a whole opens its circuit (:mod:`.mail_server`): one alarm per
  outage, probes, and no notification charged.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, select

from ..config.email import Email
from ..net import smtp
from ..ops import consent
from ..store.tables import comments, issues, notifications
from . import leases, letters, mail_server
from .context import StepContext
from .retries import backoff

log = logging.getLogger(__name__)

IN_FLIGHT = 4  # sent at once; a worker killed mid-send leaves at most this many uncertain
PER_PASS = 100  # handled per pass at most: a backlog (after an outage) never stalls submitting
t = notifications
WAITING: tuple[ColumnElement[bool], ...] = (
    t.c.sent_at.is_(None),
    t.c.skipped.is_(None),
    t.c.uncertain_at.is_(None),
)  # the rows of the partial index ix_notifications_waiting
_CLAIMED = (t.c.id, t.c.issue_id, t.c.comment_id, t.c.kind)
_EARLIER = t.alias("earlier")
# No earlier notification of the same issue still to send (read through ix_notifications_issue:
# an issue has a handful).
_OLDEST_OF_ISSUE = ~(
    select(_EARLIER.c.id)
    .where(
        _EARLIER.c.issue_id == t.c.issue_id,
        _EARLIER.c.id < t.c.id,
        _EARLIER.c.sent_at.is_(None),
        _EARLIER.c.skipped.is_(None),
        _EARLIER.c.uncertain_at.is_(None),
    )
    .exists()
)


@dataclass(frozen=True)
class Claimed:
    """A notification claimed for sending: what it is about, and why it is skipped (None:
    it goes)."""

    id: int
    issue_id: int
    kind: str
    skip: str | None
    recipient: str = ""
    summary: str = ""
    remote_id: str | None = None
    text: str = ""


def send_notifications(ctx: StepContext) -> None:
    """Send what is due (up to :data:`PER_PASS`), after marking uncertain what a dead worker
    was sending; nothing without ``[email]`` or while the mail server's circuit is open."""
    email = ctx.settings.email
    if email is None:
        return
    now = ctx.clock()
    with ctx.store.read() as conn:  # most passes find nothing: no write lock for them
        due = _first(conn, t.c.send_attempted_at.is_(None), t.c.next_try_at <= now)
        orphaned = _first(conn, t.c.send_attempted_at.is_not(None), leases.lease_free(t, now))
    if orphaned:
        _orphans_uncertain(ctx, now)
    if not due or not mail_server.up(ctx, email):
        return
    handled = 0
    with ctx.workers("email", IN_FLIGHT) as pool:
        while handled < PER_PASS and not ctx.stop.is_set():
            batch = _claim(ctx)
            if not batch:
                return
            handled += len(batch)
            going = _begin(ctx, email, batch)
            futures: dict[Future[None], Claimed] = {
                pool.submit(smtp.send, email, email.password, message): item
                for item, message in going
            }
            down: BaseException | None = None
            for future in as_completed(futures):
                item = futures[future]
                try:
                    future.result()
                except smtp.SmtpFailure as exc:
                    if _server_down(exc):
                        down = exc
                        _uncharged(ctx, item)
                    else:
                        _failed(ctx, item, exc)
                    continue
                except Exception as exc:  # whatever broke mid-transaction may have sent it
                    _uncertain(ctx, item, exc)
                    continue
                _sent(ctx, item)
                ctx.report.emails += 1
            if down is not None:
                mail_server.trip(ctx, email, down)
                return


def _first(conn: Connection, *where: ColumnElement[bool]) -> bool:
    """Whether a waiting notification matches ``where`` (read through the partial index)."""
    return conn.execute(select(t.c.id).where(*WAITING, *where).limit(1)).first() is not None


def _orphans_uncertain(ctx: StepContext, now: datetime) -> None:
    """Notifications whose sender died mid-send (intent set, lease gone) become uncertain:
    the server may have taken them, so they are not sent again on their own."""
    with ctx.store.transaction() as conn:
        rows = conn.execute(
            t.update()
            .where(*WAITING, t.c.send_attempted_at.is_not(None), leases.lease_free(t, now))
            .values(uncertain_at=now, lease_owner=None, lease_until=None)
            .returning(t.c.id, t.c.issue_id, t.c.kind)
        ).all()
    for row in rows:
        _say_uncertain(row.id, row.issue_id, row.kind, "its sender stopped while sending it")


def _claim(ctx: StepContext) -> list[Claimed]:
    """Lease the next few due notifications (the oldest still to send of each issue), and
    decide for each whether it still goes."""
    now = ctx.clock()
    with ctx.store.transaction() as conn:
        rows = leases.claim(
            conn,
            t,
            [*WAITING, t.c.send_attempted_at.is_(None), t.c.next_try_at <= now, _OLDEST_OF_ISSUE],
            owner=ctx.owner,
            now=now,
            lease=ctx.lease,
            limit=IN_FLIGHT,
            columns=_CLAIMED,
        )
        if not rows:
            return []
        ids = sorted({r["issue_id"] for r in rows})
        issue_rows = conn.execute(select(issues).where(issues.c.id.in_(ids))).mappings()
        found = {r["id"]: r for r in issue_rows}
        messages = select(comments.c.id, comments.c.text).where(
            comments.c.id.in_([r["comment_id"] for r in rows])
        )
        texts = {int(i): str(text) for i, text in conn.execute(messages)}
        return [_decide(ctx, conn, row, found[row["issue_id"]], texts) for row in rows]


def _decide(
    ctx: StepContext, conn: Connection, row: RowMapping, issue: RowMapping, texts: dict[int, str]
) -> Claimed:
    """Whether a claimed notification still goes: the kind on, the contact details there, the
    resident not unsubscribed from the issue or the address."""
    kind = str(row["kind"])
    skip = None
    if kind not in ctx.settings.notifications.send:
        skip = "switched off"
    elif issue["contact_purged_at"] is not None:
        skip = "contact purged"
    elif not issue["reporter_email"]:
        skip = "no email"
    elif not consent.wants_mail(conn, issue):
        skip = "unsubscribed"
    if skip is not None:
        return Claimed(int(row["id"]), int(row["issue_id"]), kind, skip)
    return Claimed(
        int(row["id"]),
        int(row["issue_id"]),
        kind,
        None,
        recipient=str(issue["reporter_email"]),
        summary=str(issue["summary"]),
        remote_id=issue["remote_id"],
        text=texts.get(row["comment_id"], ""),
    )


def _letter(ctx: StepContext, item: Claimed) -> letters.Letter:
    """What the resident reads: the message itself, the issue it is about, and where to see
    the issue (its page, :mod:`scf_plugins.server.report_page`) and stop these emails (links
    only where ``[server] public_url`` is set, which ``[email]`` requires)."""
    base = (ctx.settings.server.public_url or "").rstrip("/")
    unsubscribe = None
    if base:
        unsubscribe = letters.Unsubscribe(
            *(
                f"{base}/unsubscribe/{consent.token(ctx.store, item.issue_id, scope)}"
                for scope in ("issue", "address")
            )
        )
    return letters.Letter(
        notification_id=item.id,
        kind=item.kind,
        recipient=item.recipient,
        organization=ctx.settings.organization.name,
        issue_id=item.issue_id,
        summary=item.summary,
        remote_id=item.remote_id,
        text=item.text,
        public_url=f"{base}/reports/{item.issue_id}" if base else None,
        unsubscribe=unsubscribe,
    )


def _begin(
    ctx: StepContext, email: Email, batch: list[Claimed]
) -> list[tuple[Claimed, EmailMessage]]:
    """Compose the letters (outside any transaction: a first unsubscribe token writes its
    key), then in one committed transaction skip those that do not go and write the intent of
    those that do, before any of them is sent. Returns those to send."""
    composed: list[tuple[Claimed, EmailMessage]] = []
    for item in batch:
        if item.skip is not None:
            continue
        try:
            composed.append((item, letters.compose(email, _letter(ctx, item))))
        except Exception as exc:  # an unusable address, or a bug: nothing was sent
            _failed(ctx, item, exc)
    now = ctx.clock()
    going = []
    with ctx.store.transaction() as conn:
        for item in batch:
            if item.skip is not None:
                conn.execute(_mine(ctx, item).values(skipped=item.skip, **_RELEASED))
        for item, message in composed:
            if conn.execute(_mine(ctx, item).values(send_attempted_at=now)).rowcount == 1:
                going.append((item, message))
    return going


_RELEASED: dict[str, Any] = {"lease_owner": None, "lease_until": None}


def _mine(ctx: StepContext, item: Claimed) -> Any:
    """An UPDATE of the notification, made only while this worker holds it."""
    return t.update().where(t.c.id == item.id, t.c.lease_owner == ctx.owner)


def _server_down(exc: smtp.SmtpFailure) -> bool:
    """Whether the failure is the mail server's as a whole (nothing of this one was sent)."""
    return exc.whole_server and not exc.uncertain


def _sent(ctx: StepContext, item: Claimed) -> None:
    # Whoever holds it now: it went, whatever another worker concluded meanwhile.
    with ctx.store.transaction() as conn:
        conn.execute(
            t.update()
            .where(t.c.id == item.id)
            .values(sent_at=ctx.clock(), uncertain_at=None, last_error=None, **_RELEASED)
        )


def _uncharged(ctx: StepContext, item: Claimed) -> None:
    """Nothing was sent (the server is down): the notification waits, as it was."""
    with ctx.store.transaction() as conn:
        conn.execute(_mine(ctx, item).values(send_attempted_at=None, **_RELEASED))


def _uncertain(ctx: StepContext, item: Claimed, exc: BaseException) -> None:
    with ctx.store.transaction() as conn:
        conn.execute(
            _mine(ctx, item).values(
                uncertain_at=ctx.clock(), last_error=mail_server.text(exc)[:2000], **_RELEASED
            )
        )
    _say_uncertain(item.id, item.issue_id, item.kind, mail_server.text(exc))


def _failed(ctx: StepContext, item: Claimed, exc: BaseException) -> None:
    """A refusal skips the notification for good, and so does a temporary failure past
    ``give_up_after_hours``; anything else backs off and tries again."""
    if isinstance(exc, smtp.SmtpFailure) and exc.uncertain:
        _uncertain(ctx, item, exc)
        return
    why = mail_server.text(exc)
    now = ctx.clock()
    hours = ctx.settings.notifications.give_up_after_hours
    with ctx.store.transaction() as conn:
        attempts, queued = conn.execute(
            select(t.c.attempts, t.c.created_at).where(t.c.id == item.id)
        ).one()
        skipped = _given_up(exc, now - queued >= timedelta(hours=hours))
        conn.execute(
            _mine(ctx, item).values(
                attempts=(attempts or 0) + 1,
                last_error=why[:2000],
                send_attempted_at=None,  # this worker saw the send end: nothing is in flight
                next_try_at=now + backoff("transient", (attempts or 0) + 1),
                skipped=skipped,
                **_RELEASED,
            )
        )
    line = f"notification {item.id} ({item.kind}) of issue {item.issue_id}: {why}"
    ctx.report.errors += 1
    ctx.report.problems.append(line)
    outcome = {
        None: "tried again later",
        "refused": "not sent",
        "expired": f"not sent: it was queued over {hours:g} hours ago and still fails "
        f"([notifications] give_up_after_hours)",
    }[skipped]
    extra = {"issue_id": item.issue_id, "notification_id": item.id, "event": skipped or "failed"}
    log.warning("%s; %s", line, outcome, extra=extra)


def _given_up(exc: BaseException, late: bool) -> str | None:
    """Why a failed notification is skipped for good: the mail server refused it (the reason
    is its last error), or it keeps failing too ``late`` to be news; None: it is tried
    again."""
    if isinstance(exc, smtp.SmtpFailure) and exc.permanent:
        return "refused"
    return "expired" if late else None


def _say_uncertain(notification_id: int, issue_id: int, kind: str, why: str) -> None:
    log.warning(
        "notification %s (%s) of issue %s may have been delivered (%s): it is not sent again "
        "unless staff say so (scf notifications retry %s)",
        notification_id,
        kind,
        issue_id,
        why,
        notification_id,
        extra={"issue_id": issue_id, "notification_id": notification_id, "event": "uncertain"},
    )
