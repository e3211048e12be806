"""Issues: ``request-types``, ``report``, ``comment`` and ``issues list|show|recategorize|release|
withdraw|resubmit|retry|edit``: each reads its options, calls :mod:`scf_plugins.ops.issues`
and prints."""

from __future__ import annotations

import sys

import click

from ..errors import UserError
from ..intake.reporting import Report, parse_answer_args
from ..models import RequestType
from ..ops import finding, history, request_types, retrying, unlinking
from ..ops import issues as desk
from ..ops.views import (
    dumps,
    issue_json,
    issue_text,
    request_type_json,
    request_types_text,
    table,
)
from .app import App
from .root import cli, echo, pass_app


def _warn(line: str) -> None:
    echo(line, err=True)


def _type_of(app: App) -> desk.TypeOf:
    """How a command finds a request type by code (loading the cache first if it is empty)."""

    def find(code: str) -> RequestType:
        return request_types.find(app.settings, app.host, app.store, code, _warn)

    return find


@cli.command("request-types")
@click.option("--refresh", is_flag=True, help="Reload them from the remote systems.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def request_types_cmd(app: App, refresh: bool, as_json: bool) -> None:
    """The request types and their questions, in order; with --refresh, exits 1 when an
    integration's could not be reloaded (its cached ones are shown)."""
    complete = request_types.load(
        app.settings, app.host, app.store, refresh, _warn, actor=app.actor
    )
    types = app.store.request_types()
    if as_json:
        echo(dumps([request_type_json(rt) for rt in types]))
    elif types:
        echo(request_types_text(types))
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
        answers=parse_answer_args(answers),
    )
    issue_id = desk.report(app.settings, app.store, _type_of(app), report, images, actor=app.actor)
    echo(dumps({"id": issue_id}) if as_json else f"reported issue {issue_id}")


@cli.group("issues")
def issues_group() -> None:
    """List and show issues."""


@issues_group.command("list")
@click.option(
    "--status",
    type=click.Choice(finding.STATUSES + finding.KINDS),
    help="Only issues in this status; 'failing': the last attempt failed; 'stuck': issues that "
    "keep failing to sync or wait for a person; 'attention': only those waiting for a person (a "
    "link that does not verify, a remote request gone or linked twice, a closed status nobody "
    "mapped, a cancel); 'held': waiting for an address; 'unrouted': cancelled remotely, no type "
    "fits yet; 'pending': accepted under a token, no request number yet. These six take Open "
    "(and the first three Acknowledged) issues, as `scf status` counts.",
)
@click.option("--integration", help="Only issues of this integration.")
@click.option(
    "--search",
    metavar="TEXT",
    help="Only issues whose id is TEXT, or whose summary or address contains it (any case).",
)
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def issues_list(
    app: App,
    status: str | None,
    integration: str | None,
    search: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Issues, newest first."""
    chosen = finding.checked(app.settings, status, integration, search)
    found = finding.find(app.store, chosen, limit=limit).issues
    if as_json:
        echo(dumps([f.json() for f in found]))
        return
    echo(
        table(
            ["id", "status", "type", "remote", "summary", "last error"],
            [
                [
                    f.id,
                    f.status,
                    f.request_type,
                    f.remote_id or "-",
                    f.summary,
                    f.attention or f.last_error or "",
                ]
                for f in found
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
    found = desk.record(app.store, issue_id)
    data = issue_json(found, public=public, history=history.of(app.store, issue_id))
    echo(dumps(data) if as_json else issue_text(data, app.settings.organization.zone))


@cli.command("comment")
@click.argument("issue_id", type=int)
@click.argument("text")
@click.option("--author", help=f"Who wrote it; default {desk.STAFF!r} (a comment made here).")
@pass_app
def comment_cmd(app: App, issue_id: int, text: str, author: str | None) -> None:
    """Add a local comment to an issue (pushed to the remote request on the next pass)."""
    body, author = desk.checked_comment(text, author)
    comment_id, fate = desk.comment(
        app.settings, app.host, app.store, issue_id, author, body, actor=app.actor
    )
    echo(f"added comment {comment_id} to issue {issue_id}; {fate}")


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
    code, integration = desk.recategorize(
        app.settings, app.store, issue_id, code, answers, _type_of(app), actor=app.actor
    )
    echo(f"issue {issue_id} is now {code}, served by {integration or 'no integration'}")


@issues_group.command("release")
@click.argument("issue_id", type=int)
@click.option("--address", help="A corrected address (checked again on the next pass).")
@pass_app
def issues_release(app: App, issue_id: int, address: str | None) -> None:
    """Send on an issue held because its address could not be verified."""
    desk.release(app.store, issue_id, address, actor=app.actor)
    echo(f"issue {issue_id} released; it is submitted on the next pass")


_FILTERS = (
    click.argument("issue_ids", type=int, nargs=-1),
    click.option("--failing", is_flag=True, help="Every issue whose last attempt failed."),
    click.option("--stuck", is_flag=True, help="Every stuck issue (see list --status stuck)."),
    click.option("--attention", is_flag=True, help="Every issue waiting for a person."),
    click.option("--integration", help="Only issues of this integration (with a filter)."),
    click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one per issue."),
)


def _filtered(command: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(_FILTERS):
        command = option(command)
    return command


def _selection(failing: bool, stuck: bool, attention: bool) -> unlinking.Selection | None:
    if failing + stuck + attention > 1:
        raise UserError("give one of --failing, --stuck or --attention")
    return "failing" if failing else "stuck" if stuck else "attention" if attention else None


def _unlink(
    app: App,
    verb: unlinking.Verb,
    reason: str,
    issue_ids: tuple[int, ...],
    selection: unlinking.Selection | None,
    integration: str | None,
    as_json: bool,
    remote: bool = False,
) -> None:
    """Withdraw or resubmit each issue chosen, one line (or JSON object) per issue; exits 1
    when any could not be. ``remote``: cancel each one's remote request first."""
    text = unlinking.checked_reason(reason)
    ids = unlinking.choose(app.settings, app.store, issue_ids, selection, integration, verb)
    outcomes = []
    done = unlinking.act(app.settings, app.store, ids, verb, text, actor=app.actor,
                         host=app.host if remote else None, remote=remote)  # fmt: skip
    for outcome in done:
        outcomes.append(outcome)
        if not as_json:
            echo(outcome.line())
    if as_json:
        echo(dumps([o.json() for o in outcomes]))
    sys.exit(0 if all(o.done for o in outcomes) else 1)


@issues_group.command("withdraw")
@_filtered
@click.option("--reason", required=True, help="Told to the resident in the closing message.")
@click.option(
    "--remote",
    is_flag=True,
    help="Also cancel each one's remote request, with the reason (where its plugin can).",
)
@pass_app
def issues_withdraw(
    app: App,
    issue_ids: tuple[int, ...],
    failing: bool,
    stuck: bool,
    attention: bool,
    integration: str | None,
    as_json: bool,
    reason: str,
    remote: bool,
) -> None:
    """Close Open or Acknowledged issues here, with a message; the remote system is not
    touched (their links, if any, are dropped), unless --remote: then each one's remote
    request is cancelled first, once, with the reason, and an issue whose request cannot be
    cancelled from here is left as it is, saying why. Give ids, or a filter."""
    selection = _selection(failing, stuck, attention)
    _unlink(app, "withdraw", reason, issue_ids, selection, integration, as_json, remote)


@issues_group.command("resubmit")
@_filtered
@click.option(
    "--reason",
    default="its earlier request could not be followed",
    show_default=True,
    help="Told to the resident in the message.",
)
@pass_app
def issues_resubmit(
    app: App,
    issue_ids: tuple[int, ...],
    failing: bool,
    stuck: bool,
    attention: bool,
    integration: str | None,
    as_json: bool,
    reason: str,
) -> None:
    """Drop the issues' links and send them anew (new remote requests under new markers, their
    photos too); linked issues whose remote request is gone are waiting for a person, so
    `--attention` finds them. Give ids, or a filter."""
    selection = _selection(failing, stuck, attention)
    _unlink(app, "resubmit", reason, issue_ids, selection, integration, as_json)


@issues_group.command("retry")
@click.argument("issue_ids", type=int, nargs=-1)
@click.option("--failing", is_flag=True, help="Every issue whose last attempt failed.")
@click.option("--stuck", is_flag=True, help="Every issue failing for a while (see list --status).")
@click.option("--integration", help="Only issues of this integration (with --failing/--stuck).")
@pass_app
def issues_retry(
    app: App, issue_ids: tuple[int, ...], failing: bool, stuck: bool, integration: str | None
) -> None:
    """Clear the back-off of Open issues and of their comments not yet pushed, and end the
    wait of their integrations' circuits, so the next pass (at once under `scf serve` or `scf
    sync`) tries them again, probing a down integration first; a create or comment that may
    have gone through is still looked up first."""
    if bool(issue_ids) + failing + stuck != 1:
        raise UserError("give issue ids, or --failing, or --stuck (one of them)")
    selection: retrying.Selection | None = "failing" if failing else "stuck" if stuck else None
    retried = retrying.retry(
        app.settings, app.store, issue_ids, selection, integration, actor=app.actor
    )
    echo(retried.text())


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
    change = desk.Correction(summary, description, lat, lng, address, answers)
    desk.edit(app.settings, app.store, issue_id, change, _type_of(app), actor=app.actor)
    echo(f"issue {issue_id} corrected; it is sent on the next pass")
