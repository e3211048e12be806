"""Issues: ``request-types``, ``report``, ``issues list|show|recategorize|release``, ``comment``."""

from __future__ import annotations

import sys

import click

from ..errors import UserError
from ..intake.area import ServiceArea
from ..intake.images import from_files
from ..intake.reporting import Report, build_issue, parse_answer_args, text_problem
from ..models import RequestType
from ..ops.views import dumps, issue_json, request_type_json, table
from ..timeutil import local_time
from .app import App
from .root import checked_reason, cli, echo, pass_app

STUCK_AFTER = 5  # failed attempts before an issue is listed as stuck


def _load_types(app: App, refresh: bool) -> bool:
    """Load the request types when asked or when none are cached; False when an
    integration's could not be loaded (each said once, on stderr)."""
    from ..intake import catalog

    cached = app.store.request_types()
    if refresh or not cached:
        result = catalog.refresh(app.settings, app.host, app.store)
        for name, error in result.failed.items():
            echo(f"warning: request types of {name} not refreshed: {error}", err=True)
        if result.failed and not result.loaded and not cached:
            raise UserError("no request types could be loaded; run `scf doctor` to see why")
        return not result.failed
    return True


def _request_type(app: App, code: str) -> RequestType:
    """The cached request type ``code`` (loading the cache first if it is empty)."""
    _load_types(app, refresh=False)
    rt = app.store.request_type(code)
    if rt is None:  # codes are matched ignoring case, when that names one type
        same = [t for t in app.store.request_types() if t.code.casefold() == code.casefold()]
        rt = same[0] if len(same) == 1 else None
    if rt is None:
        known = ", ".join(t.code for t in app.store.request_types()) or "none"
        raise UserError(
            f"unknown request type {code!r}; use one of: {known} "
            f"(or run `scf request-types --refresh`)"
        )
    return rt


@cli.command("request-types")
@click.option("--refresh", is_flag=True, help="Reload them from the remote systems.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def request_types_cmd(app: App, refresh: bool, as_json: bool) -> None:
    """The request types and their questions, in order; with --refresh, exits 1 when an
    integration's could not be reloaded (its cached ones are shown)."""
    complete = _load_types(app, refresh)
    types = app.store.request_types()
    if as_json:
        echo(dumps([request_type_json(rt) for rt in types]))
        sys.exit(0 if complete else 1)
    for rt in types:
        echo(f"{rt.code}  {rt.name}  [{rt.integration}]")
        for q in rt.questions:
            flags = ", ".join(
                f
                for f in (
                    q.type,
                    "required" if q.required else "optional",
                    "private" if q.private else "",
                )
                if f
            )
            when = (
                " (only when " + " or ".join(f"{p}={o!r}" for p, o in q.asked_when) + ")"
                if q.asked_when
                else ""
            )
            options = f": {' | '.join(q.options)}" if q.options else ""
            echo(f"    {q.id:>6}  {q.text} [{flags}]{when}{options}")
    sys.exit(0 if complete else 1)


@cli.command("report")
@click.option("--type", "code", required=True, help="Request type code (see `scf request-types`).")
@click.option("--summary", required=True)
@click.option("--description", default="")
@click.option("--lat", type=float, required=True)
@click.option("--lng", type=float, required=True)
@click.option("--address")
@click.option("--name")
@click.option("--email")
@click.option("--phone")
@click.option("--image-url")
@click.option(
    "--image",
    "images",
    multiple=True,
    metavar="PATH",
    help="A photo (JPEG, PNG, GIF or WebP); repeat for each, up to [images] max_per_issue.",
)
@click.option(
    "--answer",
    "answers",
    multiple=True,
    metavar="QID=VALUE",
    help="Answer a question; repeat for each. Choice: the option's text; date: YYYY-MM-DD.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def report_cmd(
    app: App,
    code: str,
    summary: str,
    description: str,
    lat: float,
    lng: float,
    address: str | None,
    name: str | None,
    email: str | None,
    phone: str | None,
    image_url: str | None,
    images: tuple[str, ...],
    answers: tuple[str, ...],
    as_json: bool,
) -> None:
    """Report an issue; required answers are enforced; prints the new issue's id. Photos are
    checked and re-encoded (no metadata is kept) before anything is stored."""
    parsed = parse_answer_args(answers)
    rt = _request_type(app, code)
    code = rt.code  # as the remote system spells it (it matched ignoring case)
    report = Report(
        request_type=code,
        summary=summary,
        lat=lat,
        lng=lng,
        description=description,
        address=address,
        name=name,
        email=email,
        phone=phone,
        image_url=image_url,
        answers=parsed,
    )
    new = build_issue(report, rt, app.settings.owner_of(code), area=_area(app))
    photos = from_files(images, app.settings.images)
    issue_id = app.store.create_issue(new, photos)
    echo(dumps({"id": issue_id}) if as_json else f"reported issue {issue_id}")


@cli.group("issues")
def issues_group() -> None:
    """List and show issues."""


@issues_group.command("list")
@click.option(
    "--status",
    type=click.Choice(
        [
            "open",
            "acknowledged",
            "closed",
            "archived",
            "stuck",
            "attention",
            "failing",
            "held",
            "unrouted",
        ]
    ),
    help="Only issues in this status; 'stuck': issues that keep failing to sync or wait for "
    "a person; 'attention': only those waiting for a person (a link that does not verify, a "
    "remote request linked twice, a closed status nobody mapped); 'failing': the last attempt "
    "failed; 'held': waiting for an address; 'unrouted': cancelled remotely, no type fits yet.",
)
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def issues_list(app: App, status: str | None, limit: int, as_json: bool) -> None:
    """Issues, newest first."""
    if status == "stuck":
        rows = app.store.list(stuck_after=STUCK_AFTER, limit=limit)
    elif status == "attention":
        rows = app.store.list(attention=True, limit=limit)
    elif status in ("failing", "held", "unrouted"):
        rows = list(app.store.rows(app.store.select_ids(status)[:limit]))
    else:
        rows = app.store.list(status, limit=limit)
    data = [
        {
            "id": r["id"],
            "status": r["status"],
            "request_type": r["request_type"],
            "integration": r["integration"],
            "remote_id": r["remote_id"],
            "summary": r["summary"],
            "attempts": r["attempts"],
            "last_error": r["last_error"],
            "attention": r["attention"],
        }
        for r in rows
    ]
    if as_json:
        echo(dumps(data))
        return
    echo(
        table(
            ["id", "status", "type", "remote", "summary", "last error"],
            [
                [
                    d["id"],
                    d["status"],
                    d["request_type"],
                    d["remote_id"] or "-",
                    d["summary"],
                    d["attention"] or d["last_error"] or "",
                ]
                for d in data
            ],
        )
    )


@issues_group.command("show")
@click.argument("issue_id", type=int)
@click.option("--public", is_flag=True, help="Hide private answers and the reporter's email.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def issues_show(app: App, issue_id: int, public: bool, as_json: bool) -> None:
    """One issue with its answers, messages and comments."""
    record = app.store.get(issue_id)
    if record is None:
        raise UserError(f"there is no issue {issue_id}; see `scf issues list`")
    data = issue_json(record, public=public)
    if as_json:
        echo(dumps(data))
        return
    zone = app.settings.organization.zone

    def when(stamp: str | None) -> str:
        return local_time(stamp, zone)

    echo(f"Issue {data['id']}: {data['summary']}")
    echo(f"  reported      {when(data['created_at'])}")
    echo(
        f"  status        {data['status']}"
        + (
            f" (remote {data['remote_id']}, {data['remote_status'] or 'open'})"
            if data["remote_id"]
            else ""
        )
    )
    echo(f"  request type  {data['request_type']} -> {data['integration'] or 'no integration'}")
    echo(f"  location      {data['lat']}, {data['lng']}  {data['address'] or ''}".rstrip())
    reporter = data["reporter"]
    if reporter["name"] or reporter["email"] or reporter.get("phone"):
        who = " ".join(v for v in (reporter["name"], reporter["email"], reporter.get("phone")) if v)
        echo(f"  reporter      {who}")
    if data.get("reported_via"):
        echo(f"  reported via  Open311, API key {data['reported_via']!r}")
    if data["description"]:
        echo(f"  description   {data['description']}")
    check = data["address_check"]
    if check:
        verdict = "accepted" if check["accepted"] else "NOT accepted"
        echo(
            f"  address check {verdict}: {check['address'] or '(no candidate)'} "
            f"score {check['score']} {check['candidate_type'] or ''} {check['reason']}".rstrip()
        )
    sync = data.get("sync")
    link = data.get("link")
    if link and data["remote_id"]:
        where = (
            f"{link['environment']} at {link['endpoint']}"
            if link["endpoint"]
            else "made before links were scoped; verified on the next poll"
        )
        echo(f"  link          marker {link['marker']}, {where}")
    if sync and sync["claimed_by"]:
        from ..engine.leases import describe_owner

        echo(
            f"  claimed       by {describe_owner(sync['claimed_by'])} until "
            f"{when(sync['claimed_until'])}"
        )
    for photo in data["attachments"]:
        state = (
            f"sent as {photo['remote_id']}"
            if photo["remote_id"]
            else photo["kept_here"]
            or (
                "not sent: the issue left Acknowledged first"
                if data["status"] in ("closed", "archived") or photo["purged_at"]
                else f"waiting ({photo['last_error']})"
                if photo["last_error"]
                else "waiting"
            )
        )
        if photo["purged_at"]:
            state += f"; its bytes purged {when(photo['purged_at'])} (retention)"
        echo(f"  photo         {photo['filename']} ({photo['size'] // 1024} KB): {state}")
    if sync and sync["pending"]:
        echo(
            f"  pending       accepted as token {sync['pending']['token']} at "
            f"{when(sync['pending']['since'])}; its request number is not known yet "
            f"(asked again {when(sync['next_attempt_at']) or 'soon'})"
        )
    if sync and sync["attention"]:
        echo(f"  ATTENTION     [{sync['attention_kind']}] {sync['attention']}")
    if sync and sync["held"]:
        echo("  HELD          waiting for staff: the address could not be verified")
    if sync and sync["last_error"]:
        echo(
            f"  last error    [{sync['last_error_kind']}] {sync['last_error']} "
            f"(attempt {sync['attempts']}, next {when(sync['next_attempt_at']) or '-'})"
        )
    for a in data["answers"]:
        echo(f"  Q {a['question']}: {a['answer']}" + (" (private)" if a["private"] else ""))
    for c in data["comments"]:
        kept = f"  ({c['kept_here']})" if c.get("kept_here") else ""
        echo(f"  [{when(c['created_at'])}] {c['kind']:<7} {c['author']}: {c['text']}{kept}")


@cli.command("comment")
@click.argument("issue_id", type=int)
@click.argument("text")
@click.option("--author", default="Resident", show_default=True)
@pass_app
def comment_cmd(app: App, issue_id: int, text: str, author: str) -> None:
    """Add a local comment to an issue (pushed to the remote request on the next pass)."""
    body = text.strip()
    if not body or len(body) > 5000:
        raise UserError("the comment must be 1 to 5000 characters")
    problem = text_problem(body, multiline=True)
    if problem:
        raise UserError(f"the comment {problem}")
    if not author.strip() or len(author) > 200 or text_problem(author):
        raise UserError("--author must be 1 to 200 characters of plain text on one line")
    record = app.store.get(issue_id)
    if record is None:
        raise UserError(f"there is no issue {issue_id}; see `scf issues list`")
    comment_id = app.store.add_comment(issue_id, author.strip(), body)
    status = record.issue.status.value
    integration = app.settings.integrations.get(record.integration or "")
    if integration is not None and not app.host.capabilities(integration).push_comments:
        echo(
            f"added comment {comment_id} to issue {issue_id}; it stays here: "
            f"{integration.plugin} has no comment API"
        )
        return
    where = {
        "acknowledged": "it goes to the remote request on the next pass",
        "open": "it goes to the remote request once the issue is linked to one",
    }.get(status, f"it stays here: the issue is {status}, so its remote request is done with")
    echo(f"added comment {comment_id} to issue {issue_id}; {where}")


@issues_group.command("recategorize")
@click.argument("issue_id", type=int)
@click.option("--type", "code", required=True, help="The new request type code.")
@click.option(
    "--answer",
    "answers",
    multiple=True,
    metavar="QID=VALUE",
    help="Answers to the new type's questions; repeat for each.",
)
@pass_app
def issues_recategorize(app: App, issue_id: int, code: str, answers: tuple[str, ...]) -> None:
    """Give an Open issue (e.g. after a cancel) another request type; it is routed again."""
    record = app.store.get(issue_id)
    if record is None:
        raise UserError(f"there is no issue {issue_id}; see `scf issues list`")
    issue = record.issue
    if issue.status.value != "open" or issue.remote_id:
        raise UserError(
            f"issue {issue_id} is {issue.status.value} and linked to a remote request; "
            f"only an Open, unlinked issue can be recategorized"
        )
    rt = _request_type(app, code)
    code = rt.code
    report = Report(
        request_type=code,
        summary=issue.summary,
        lat=issue.lat,
        lng=issue.lng,
        description=issue.description,
        address=issue.address,
        name=issue.reporter_name,
        email=issue.reporter_email,
        image_url=issue.image_url,
        answers=parse_answer_args(answers),
    )
    new = build_issue(report, rt, app.settings.owner_of(code))
    if not app.store.recategorize(issue_id, code, new.integration, new.type_ref, new.answers):
        raise UserError(f"issue {issue_id} changed meanwhile; look at it again")
    echo(f"issue {issue_id} is now {code}, served by {new.integration or 'no integration'}")


@issues_group.command("release")
@click.argument("issue_id", type=int)
@click.option("--address", help="A corrected address (checked again on the next pass).")
@pass_app
def issues_release(app: App, issue_id: int, address: str | None) -> None:
    """Send on an issue held because its address could not be verified."""
    if address is not None and (not address.strip() or len(address) > 300):
        raise UserError("--address must be 1 to 300 characters")
    if not app.store.release_hold(issue_id, address.strip() if address else None):
        raise UserError(f"issue {issue_id} is not held; see `scf issues show {issue_id}`")
    echo(f"issue {issue_id} released; it is submitted on the next pass")


def _unlink(app: App, issue_id: int, reason: str, verb: str, refused: str, done: str) -> None:
    from ..engine import transitions
    from ..timeutil import utcnow

    text = checked_reason(reason)
    with app.store.transaction() as conn:
        changed = getattr(transitions, verb)(conn, app.settings, issue_id, text, utcnow())
    if not changed:
        raise UserError(f"issue {issue_id} is not {refused}; see `scf issues show {issue_id}`")
    echo(f"issue {issue_id} {done}")


@issues_group.command("withdraw")
@click.argument("issue_id", type=int)
@click.option("--reason", required=True, help="Told to the resident in the closing message.")
@pass_app
def issues_withdraw(app: App, issue_id: int, reason: str) -> None:
    """Close an Open or Acknowledged issue here, with a message; the remote system is not
    touched (its link, if any, is dropped)."""
    _unlink(app, issue_id, reason, "withdraw", "Open or Acknowledged",
            "withdrawn (closed here; the remote system was not touched)")  # fmt: skip


@issues_group.command("resubmit")
@click.argument("issue_id", type=int)
@click.option(
    "--reason",
    default="its earlier request could not be followed",
    show_default=True,
    help="Told to the resident in the message.",
)
@pass_app
def issues_resubmit(app: App, issue_id: int, reason: str) -> None:
    """Drop the issue's link and send it anew (a new remote request, under a new marker)."""
    _unlink(app, issue_id, reason, "resubmit",
            "an Open or Acknowledged issue routed to an integration",
            "is sent anew on the next pass")  # fmt: skip


@issues_group.command("retry")
@click.argument("issue_ids", type=int, nargs=-1)
@click.option("--failing", is_flag=True, help="Every issue whose last attempt failed.")
@click.option("--stuck", is_flag=True, help="Every issue failing for a while (see list --status).")
@click.option("--integration", help="Only issues of this integration (with --failing/--stuck).")
@pass_app
def issues_retry(
    app: App, issue_ids: tuple[int, ...], failing: bool, stuck: bool, integration: str | None
) -> None:
    """Clear the back-off of Open issues and of their comments not yet pushed, so the next
    pass (at once under `scf serve` or `scf sync`) tries them again; a create or comment that
    may have gone through is still looked up first."""
    chosen = [name for name, on in (("--failing", failing), ("--stuck", stuck)) if on]
    if bool(issue_ids) + len(chosen) != 1:
        raise UserError("give issue ids, or --failing, or --stuck (one of them)")
    if integration is not None and integration not in app.settings.integrations:
        known = ", ".join(app.settings.integrations) or "none"
        raise UserError(f"there is no integration {integration!r}; the integrations: {known}")
    if integration is not None and issue_ids:
        raise UserError("--integration goes with --failing or --stuck, not with issue ids")
    ids = list(issue_ids) or list(
        app.store.select_ids(chosen[0].removeprefix("--"), integration, STUCK_AFTER)
    )
    if not ids:
        raise UserError(f"no issue is {chosen[0].removeprefix('--')}; nothing to retry")
    count, pushed = app.store.retry(ids)
    if not count and not pushed:
        raise UserError(
            "none of these issues is Open and waiting to be sent, nor has a comment waiting "
            "(linked issues are polled each round anyway)"
        )
    echo(
        f"{count} issue(s) and {pushed} comment(s) or photo(s) will be tried again on the next pass"
        + (f" ({len(ids) - count} others are not waiting to be sent)" if len(ids) > count else "")
    )


@issues_group.command("edit")
@click.argument("issue_id", type=int)
@click.option("--summary")
@click.option("--description")
@click.option("--lat", type=float)
@click.option("--lng", type=float)
@click.option("--address", help="A corrected address; '' removes it.")
@click.option(
    "--answer",
    "answers",
    multiple=True,
    metavar="QID=VALUE",
    help="Replace the answer to QID (an empty VALUE removes an optional one); repeat for each.",
)
@pass_app
def issues_edit(
    app: App,
    issue_id: int,
    summary: str | None,
    description: str | None,
    lat: float | None,
    lng: float | None,
    address: str | None,
    answers: tuple[str, ...],
) -> None:
    """Correct an issue not yet sent (swapped coordinates, a wrong answer), with the same
    checks as `scf report`; it is sent on the next pass."""
    record = app.store.get(issue_id)
    if record is None:
        raise UserError(f"there is no issue {issue_id}; see `scf issues list`")
    if all(v is None for v in (summary, description, lat, lng, address)) and not answers:
        raise UserError("nothing to change; give --lat, --lng, --address, --answer, …")
    issue = record.issue
    rt = _request_type(app, issue.request_type)
    given = dict(parse_answer_args(answers))
    kept = [(a.question_id, a.answer) for a in issue.answers if a.question_id not in given]
    report = Report(
        request_type=issue.request_type,
        summary=issue.summary if summary is None else summary,
        lat=issue.lat if lat is None else lat,
        lng=issue.lng if lng is None else lng,
        description=issue.description if description is None else description,
        address=issue.address if address is None else (address or None),
        name=issue.reporter_name,
        email=issue.reporter_email,
        image_url=issue.image_url,
        answers=tuple(kept + [(q, v) for q, v in given.items() if v]),
        phone=record.reporter_phone,
        reported_via=record.reported_via,
    )
    new = build_issue(report, rt, app.settings.owner_of(issue.request_type), area=_area(app))
    refused = app.store.edit(issue_id, new)
    if refused:
        raise UserError(refused)
    echo(f"issue {issue_id} corrected; it is sent on the next pass")


def _area(app: App) -> ServiceArea | None:
    return app.settings.organization.service_area
