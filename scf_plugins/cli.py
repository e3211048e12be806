"""The ``scf`` command line.

Every listing takes ``--json`` (stable shapes, see DESIGN.md); without it, people get tables.
A :class:`~scf_plugins.errors.ScfError` becomes one ``Error:`` line and a non-zero exit.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from datetime import timedelta
from typing import Any, NoReturn

import click

from . import credentials, logs
from .app import App
from .config import check_config
from .errors import ScfError, UserError
from .plugins import build_manager
from .redaction import redact
from .reporting import Report, build_issue, parse_answer_args
from .views import dumps, issue_json, request_type_json, table

# The store (SQLAlchemy) and the engine are imported inside the commands that use them, so
# that `scf --help` and plugin discovery stay fast.

log = logging.getLogger(__name__)
STUCK_AFTER = 5  # failed attempts before an issue is listed as stuck


class ScfGroup(click.Group):
    """A click group that turns the host's errors into one clear line."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; print an ScfError as one redacted line and exit 1."""
        try:
            return super().invoke(ctx)
        except ScfError as exc:
            raise click.ClickException(redact(str(exc))) from None


pass_app = click.make_pass_decorator(App)


@click.group(cls=ScfGroup)
@click.option(
    "--config",
    "config",
    metavar="PATH",
    help="Org config file (default: $SCF_CONFIG, then ./scf.toml).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines on stderr as text or one JSON object each.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="Default: info with --log-format json (a line per remote call and transition), "
    "else warning.",
)
@click.pass_context
def cli(ctx: click.Context, config: str | None, log_format: str, log_level: str | None) -> None:
    """Keep a 311 CRM's issues in step with the work-order systems crews use."""
    logs.setup(log_format, log_level or ("info" if log_format == "json" else "warning"))
    if not isinstance(ctx.obj, App):
        ctx.obj = App(config)
    else:
        ctx.obj.config_arg = config or ctx.obj.config_arg


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def plugins_cmd(app: App, as_json: bool) -> None:
    """Installed plugins, their versions, and the hooks each implements."""
    rows: list[dict[str, Any]] = [
        {
            "name": p.name,
            "distribution": p.distribution,
            "version": p.version,
            "hooks": list(p.hooks),
            "error": None,
        }
        for p in app.host.info()
    ]
    rows += [
        {"name": n, "distribution": None, "version": None, "hooks": [], "error": e}
        for n, e in sorted(app.host.failures.items())
    ]
    if as_json:
        click.echo(dumps(rows))
        return
    click.echo(
        table(
            ["plugin", "version", "hooks"],
            [
                [r["name"], r["version"] or "-", ", ".join(r["hooks"]) or f"FAILED: {r['error']}"]
                for r in rows
            ],
        )
    )


@cli.group("config")
def config_group() -> None:
    """Check the org config."""


@config_group.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def config_check(app: App, as_json: bool) -> None:
    """Validate the config; show which integration serves which request type."""
    settings, problems = check_config(app.config_path)
    routing: list[dict[str, Any]] = []
    if settings is not None:
        for integration in settings.integrations.values():
            try:
                problems += [
                    f"{app.config_path}: integrations.{integration.name}: {p}"
                    for p in app.host.check_integration(integration)
                ]
            except ScfError as exc:
                problems.append(f"{app.config_path}: integrations.{integration.name}.plugin: {exc}")
            routing.append(
                {
                    "integration": integration.name,
                    "plugin": integration.plugin,
                    "environment": integration.environment,
                    "request_types": list(integration.request_types),
                }
            )
        for geocoder in settings.geocoders.values():
            try:
                problems += [
                    f"{app.config_path}: geocoders.{geocoder.name}: {p}"
                    for p in app.host.check_geocoder(geocoder)
                ]
            except ScfError as exc:
                problems.append(f"{app.config_path}: geocoders.{geocoder.name}.plugin: {exc}")
        if not problems:
            cached = app.store.request_types()
            for entry in routing:
                entry["cached"] = [
                    rt.code for rt in cached if rt.integration == entry["integration"]
                ]
    if as_json:
        click.echo(dumps({"ok": not problems, "problems": problems, "routing": routing}))
    else:
        for line in problems:
            click.echo(line, err=True)
        if not problems:
            click.echo(f"{app.config_path}: OK")
            click.echo(
                table(
                    ["integration", "plugin", "env", "serves"],
                    [
                        [
                            r["integration"],
                            r["plugin"],
                            r["environment"],
                            ", ".join(r.get("cached") or r["request_types"]),
                        ]
                        for r in routing
                    ],
                )
            )
    if problems:
        sys.exit(1)


@cli.group("credentials")
def credentials_group() -> None:
    """Store passwords outside the config."""


@credentials_group.command("set")
@click.argument("name")
@click.option(
    "--env",
    "environment",
    metavar="ENV",
    help="The integration's environment (test, production); omit for a geocoder.",
)
def credentials_set(name: str, environment: str | None) -> None:
    """Prompt (hidden, twice) for NAME's password and store it owner-only."""
    if not sys.stdin.isatty() and os.environ.get("SCF_ALLOW_PIPED_PASSWORD") != "1":
        raise UserError("run this in a terminal: the password is read from a hidden prompt")
    password = click.prompt(
        f"Password for {name}" + (f" ({environment})" if environment else ""),
        hide_input=True,
        confirmation_prompt=True,
        err=True,
    )
    if not password:
        raise UserError("an empty password was not stored")
    path = credentials.store(name, environment, password)
    click.echo(
        f"stored the password for {name}{' (' + environment + ')' if environment else ''} "
        f"in {path} (owner-only); {credentials.env_var_name(name, environment)} overrides it"
    )


def _load_types(app: App, refresh: bool) -> None:
    from . import catalog

    cached = app.store.request_types()
    if refresh or not cached:
        result = catalog.refresh(app.settings, app.host, app.store)
        for name, error in result.failed.items():
            click.echo(f"warning: request types of {name} not refreshed: {error}", err=True)
        if result.failed and not result.loaded and not cached:
            raise UserError("no request types could be loaded; run `scf doctor` to see why")


@cli.command("request-types")
@click.option("--refresh", is_flag=True, help="Reload them from the remote systems.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def request_types_cmd(app: App, refresh: bool, as_json: bool) -> None:
    """The request types and their questions, in order."""
    _load_types(app, refresh)
    types = app.store.request_types()
    if as_json:
        click.echo(dumps([request_type_json(rt) for rt in types]))
        return
    for rt in types:
        click.echo(f"{rt.code}  {rt.name}  [{rt.integration}]")
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
            click.echo(f"    {q.id:>6}  {q.text} [{flags}]{when}{options}")


@cli.command("report")
@click.option("--type", "code", required=True, help="Request type code (see `scf request-types`).")
@click.option("--summary", required=True)
@click.option("--description", default="")
@click.option("--lat", type=float, required=True)
@click.option("--lng", type=float, required=True)
@click.option("--address")
@click.option("--name")
@click.option("--email")
@click.option("--image-url")
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
    image_url: str | None,
    answers: tuple[str, ...],
    as_json: bool,
) -> None:
    """Report an issue; required answers are enforced; prints the new issue's id."""
    parsed = parse_answer_args(answers)
    _load_types(app, refresh=False)
    rt = app.store.request_type(code)
    if rt is None:
        known = ", ".join(t.code for t in app.store.request_types()) or "none"
        raise UserError(
            f"unknown request type {code!r}; use one of: {known} "
            f"(or run `scf request-types --refresh`)"
        )
    report = Report(
        request_type=code,
        summary=summary,
        lat=lat,
        lng=lng,
        description=description,
        address=address,
        name=name,
        email=email,
        image_url=image_url,
        answers=parsed,
    )
    new = build_issue(report, rt, app.settings.owner_of(code))
    issue_id = app.store.create_issue(new)
    click.echo(dumps({"id": issue_id}) if as_json else f"reported issue {issue_id}")


@cli.group("issues")
def issues_group() -> None:
    """List and show issues."""


@issues_group.command("list")
@click.option(
    "--status",
    type=click.Choice(["open", "acknowledged", "closed", "archived", "stuck"]),
    help="Only issues in this status; 'stuck': issues that keep failing to sync.",
)
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def issues_list(app: App, status: str | None, limit: int, as_json: bool) -> None:
    """Issues, newest first."""
    if status == "stuck":
        rows = app.store.list(stuck_after=STUCK_AFTER, limit=limit)
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
        }
        for r in rows
    ]
    if as_json:
        click.echo(dumps(data))
        return
    click.echo(
        table(
            ["id", "status", "type", "remote", "summary", "last error"],
            [
                [
                    d["id"],
                    d["status"],
                    d["request_type"],
                    d["remote_id"] or "-",
                    d["summary"],
                    d["last_error"] or "",
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
        click.echo(dumps(data))
        return
    click.echo(f"Issue {data['id']}: {data['summary']}")
    click.echo(
        f"  status        {data['status']}"
        + (
            f" (remote {data['remote_id']}, {data['remote_status'] or 'open'})"
            if data["remote_id"]
            else ""
        )
    )
    click.echo(
        f"  request type  {data['request_type']} -> {data['integration'] or 'no integration'}"
    )
    click.echo(f"  location      {data['lat']}, {data['lng']}  {data['address'] or ''}".rstrip())
    reporter = data["reporter"]
    if reporter["name"] or reporter["email"]:
        click.echo(f"  reporter      {reporter['name'] or ''} {reporter['email'] or ''}".rstrip())
    if data["description"]:
        click.echo(f"  description   {data['description']}")
    check = data["address_check"]
    if check:
        verdict = "accepted" if check["accepted"] else "NOT accepted"
        click.echo(
            f"  address check {verdict}: {check['address'] or '(no candidate)'} "
            f"score {check['score']} {check['candidate_type'] or ''} {check['reason']}".rstrip()
        )
    sync = data.get("sync")
    if sync and sync["held"]:
        click.echo("  HELD          waiting for staff: the address could not be verified")
    if sync and sync["last_error"]:
        click.echo(
            f"  last error    [{sync['last_error_kind']}] {sync['last_error']} "
            f"(attempt {sync['attempts']}, next {sync['next_attempt_at'] or '-'})"
        )
    for a in data["answers"]:
        click.echo(f"  Q {a['question']}: {a['answer']}" + (" (private)" if a["private"] else ""))
    for c in data["comments"]:
        click.echo(f"  [{c['created_at']}] {c['kind']:<7} {c['author']}: {c['text']}")


@cli.command("comment")
@click.argument("issue_id", type=int)
@click.argument("text")
@click.option("--author", default="Resident", show_default=True)
@pass_app
def comment_cmd(app: App, issue_id: int, text: str, author: str) -> None:
    """Add a local comment to an issue (pushed to the remote request on the next pass)."""
    body = text.strip()
    if not body or "\x00" in body or len(body) > 5000:
        raise UserError("the comment must be 1 to 5000 characters of text")
    if not author.strip() or len(author) > 200:
        raise UserError("--author must be 1 to 200 characters")
    if app.store.get(issue_id) is None:
        raise UserError(f"there is no issue {issue_id}; see `scf issues list`")
    comment_id = app.store.add_comment(issue_id, author.strip(), body)
    click.echo(f"added comment {comment_id} to issue {issue_id}")


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
    _load_types(app, refresh=False)
    rt = app.store.request_type(code)
    if rt is None:
        known = ", ".join(t.code for t in app.store.request_types()) or "none"
        raise UserError(f"unknown request type {code!r}; use one of: {known}")
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
    click.echo(f"issue {issue_id} is now {code}, served by {new.integration or 'no integration'}")


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
    click.echo(f"issue {issue_id} released; it is submitted on the next pass")


@cli.command("sync")
@click.option("--once", is_flag=True, help="Run one pass and exit.")
@click.option(
    "--interval",
    type=click.FloatRange(1, 86400),
    default=60,
    show_default=True,
    help="Seconds between passes.",
)
@click.option(
    "--lease-seconds",
    type=click.FloatRange(0.1, 86400),
    default=300,
    show_default=True,
    help="How long claimed work stays claimed if this process dies.",
)
@pass_app
def sync_cmd(app: App, once: bool, interval: float, lease_seconds: float) -> None:
    """Run sync passes: submit, poll, push comments, archive. Exit 1 if a pass had errors."""
    from .sync import Engine

    slowest = max((i.timeout_seconds for i in app.settings.integrations.values()), default=0)
    if lease_seconds < 2 * slowest:
        log.warning(
            "--lease-seconds %g is shorter than twice the slowest timeout_seconds (%g): "
            "another process may take over work still in flight",
            lease_seconds,
            slowest,
        )
    engine = Engine(app.settings, app.host, app.store, lease=timedelta(seconds=lease_seconds))
    if sys.stderr.isatty():
        engine.progress = lambda text: click.echo(f"\r{text[:70]:<70}", err=True, nl=False)

    def stop(signum: int, _frame: object) -> None:
        engine.stop.set()
        click.echo(f"\nstopping after the current step ({signal.Signals(signum).name})", err=True)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    number = 0
    had_errors = False
    while True:
        number += 1
        report = engine.run_pass()
        if engine.progress:
            click.echo("\r" + " " * 72 + "\r", err=True, nl=False)
        had_errors = report.errors > 0
        click.echo(f"pass {number}: {report.summary()}")
        if once or engine.stop.wait(interval):
            break
    sys.exit(1 if had_errors else 0)


@cli.command("doctor")
@click.option("--env", "environment", metavar="ENV", help="Check this environment instead.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def doctor_cmd(app: App, environment: str | None, as_json: bool) -> None:
    """Reach and log in to each integration and geocoder; say what is wrong and how to fix it."""
    from .config import load_config
    from .doctor import diagnose

    settings = (
        load_config(app.config_path, environment=environment) if environment else app.settings
    )
    findings = diagnose(settings, app.host)
    if as_json:
        click.echo(dumps([{"target": f.target, "ok": f.ok, "detail": f.detail} for f in findings]))
    else:
        for f in findings:
            click.echo(f"{'OK  ' if f.ok else 'FAIL'} {f.target}: {f.detail}")
    if not findings or not all(f.ok for f in findings):
        sys.exit(1)


@cli.command("demo")
@click.option("--keep", type=click.Path(file_okay=False), help="Keep the demo's files here.")
@pass_app
def demo_cmd(app: App, keep: str | None) -> None:
    """The whole lifecycle on SQLite and the built-in Cityworks emulator; no config needed."""
    from pathlib import Path

    from .demo import run_demo

    errors = run_demo(app.host, click.echo, Path(keep) if keep else None)
    sys.exit(1 if errors else 0)


@cli.group("emulator")
def emulator_group() -> None:
    """Serve a stand-in remote system, for trying a config (plugins add one each)."""


def main(argv: list[str] | None = None) -> NoReturn:
    """The ``scf`` console script: plugins add their commands, then the CLI runs."""
    host = build_manager()
    host.register_commands(cli)
    try:
        cli.main(args=argv, prog_name="scf", obj=App(host=host))
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # the last guard: one line, never a traceback
        if os.environ.get("SCF_DEBUG"):
            raise
        click.echo(
            f"Error: unexpected {type(exc).__name__}: {redact(str(exc))} "
            f"(set SCF_DEBUG=1 for the traceback, and please report it)",
            err=True,
        )
        sys.exit(2)
    sys.exit(0)
