"""The Issue page's actions, one POST each (``/console/issues/{id}/<action>``), each calling
the core function its ``scf issues …`` command calls, with the signed-in account as the
audit's actor, then 303 back to the issue's page with the outcome or the core's refusal:

- ``retry`` (``Retry now``): :func:`scf_plugins.ops.retrying.retry`;
- ``edit``: :func:`scf_plugins.ops.issues.edit`, with only the fields the form changed;
- ``withdraw`` (``Withdraw``, a reason required) and ``resubmit``:
  :func:`scf_plugins.ops.unlinking.act`;
- ``release``: :func:`scf_plugins.ops.issues.release`, with a corrected address or none;
- ``recategorize``: :func:`scf_plugins.ops.issues.recategorize`;
- ``comment`` (``Add comment``): :func:`scf_plugins.ops.issues.comment`, by the account's name.

The page offers only what the issue's state allows; a forged POST of another action is refused
by the core, whose one line the page then shows. After an action the engine acts on, the
in-process engine is woken to run a pass at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.responses import Response
from starlette.routing import BaseRoute

from ...errors import UserError
from ...models import Issue, RequestType
from ...ops import issues as desk
from ...ops import retrying, unlinking
from .issue import RESUBMIT_REASON, issue_id_of, page_of
from .issue_forms import ANSWER, LABELS, answer_fields, lines, number, type_of
from .page import Console, Guarded, Visit, signed_in

if TYPE_CHECKING:
    from ..form import Form


def routes(console: Console) -> list[BaseRoute]:
    """A POST route per action."""
    actions: dict[str, Guarded] = {
        "retry": retry,
        "edit": edit,
        "withdraw": withdraw,
        "resubmit": resubmit,
        "release": release,
        "recategorize": recategorize,
        "comment": comment,
    }
    return [
        console.route(f"/console/issues/{{issue_id:int}}/{name}", action, methods=("POST",))
        for name, action in actions.items()
    ]


def on_issue(action: Callable[[Visit, int, str], Awaitable[Response]]) -> Guarded:
    """A signed-in action on the issue its path names: ``action(visit, issue_id, back)``,
    ``back`` the issue's page; the 404 page for an id no issue can have."""

    async def handler(visit: Visit) -> Response:
        issue_id = issue_id_of(visit)
        if issue_id is None:
            return visit.error(404, f"There is no issue {visit.request.path_params['issue_id']}.")
        return await action(visit, issue_id, page_of(issue_id))

    return signed_in(handler)


@on_issue
async def retry(visit: Visit, issue_id: int, back: str) -> Response:
    """``Retry now``: clear the issue's back-off and end its integration's wait."""

    def work() -> retrying.Retried:
        return retrying.retry(visit.settings, visit.store, [issue_id], None, None,
                              actor=visit.actor)  # fmt: skip

    return await visit.act(work, back=back, done=lambda r: _sentence(r.text()), wake=True)


@on_issue
async def comment(visit: Visit, issue_id: int, back: str) -> Response:
    """``Add comment``: a local comment by the signed-in account, pushed on the next pass."""
    text = lines(visit.form.raw("comment"))

    def work() -> tuple[int, str]:
        body, author = desk.checked_comment(text, visit.account.name)
        return desk.comment(visit.settings, visit.host, visit.store, issue_id, author, body,
                            actor=visit.actor)  # fmt: skip

    return await visit.act(work, back=back, done=lambda r: f"Comment added; {r[1]}.", wake=True)


@on_issue
async def release(visit: Visit, issue_id: int, back: str) -> Response:
    """Send on an issue held for its address, with a corrected address if one is given."""
    address = visit.form.get("address")

    def work() -> None:
        desk.release(visit.store, issue_id, address, actor=visit.actor)

    done = f"Issue {issue_id} released; it is sent on the next pass."
    return await visit.act(work, back=back, done=done, wake=True)


@on_issue
async def withdraw(visit: Visit, issue_id: int, back: str) -> Response:
    """``Withdraw``: close the issue here, with the reason told to the resident; with "Also
    cancel the remote request" ticked, its remote request is cancelled first."""
    remote = visit.form.get("remote") == "1"
    reason = visit.form.get("reason") or ""
    return await _unlink(visit, issue_id, back, "withdraw", reason, remote=remote)


@on_issue
async def resubmit(visit: Visit, issue_id: int, back: str) -> Response:
    """Drop the issue's link and send it anew."""
    reason = visit.form.get("reason") or RESUBMIT_REASON
    return await _unlink(visit, issue_id, back, "resubmit", reason)


async def _unlink(
    visit: Visit,
    issue_id: int,
    back: str,
    verb: unlinking.Verb,
    reason: str,
    *,
    remote: bool = False,
) -> Response:
    """Withdraw or resubmit, and say what became of the issue."""
    try:
        reason = unlinking.checked_reason(reason, "The reason")
    except UserError as exc:
        return visit.redirect(back, _sentence(str(exc)), error=True)

    def work() -> unlinking.Outcome:
        [outcome] = unlinking.act(visit.settings, visit.store, [issue_id], verb, reason,
                                  actor=visit.actor, host=visit.host if remote else None,
                                  remote=remote)  # fmt: skip
        return outcome

    try:
        outcome = await visit.run(work)
    except UserError as exc:
        return visit.redirect(back, str(exc), error=True)
    if outcome.done:
        visit.console.wake()
    return visit.redirect(back, _sentence(outcome.line()), error=not outcome.done)


@on_issue
async def recategorize(visit: Visit, issue_id: int, back: str) -> Response:
    """Give an Open, unlinked issue another request type, with its answers."""
    code = visit.form.get("type") or ""
    given = answer_fields(visit.form).items()
    answers = [f"{qid}={value}" for qid, values in given for value in values if value]

    def work() -> tuple[str, str | None]:
        return desk.recategorize(visit.settings, visit.store, issue_id, code, answers,
                                 type_of(visit), actor=visit.actor, labels=LABELS)  # fmt: skip

    def done(result: tuple[str, str | None]) -> str:
        new_code, integration = result
        return f"Issue {issue_id} is now {new_code}, served by {integration or 'no integration'}."

    return await visit.act(work, back=back, done=done, wake=True)


@on_issue
async def edit(visit: Visit, issue_id: int, back: str) -> Response:
    """Correct an issue not yet sent: only the fields the form changed are changed."""

    def work() -> None:
        found = desk.record(visit.store, issue_id)
        rt = visit.store.request_type(found.issue.request_type)
        change = correction(found.issue, rt, visit.form)
        if change.empty():
            raise UserError("Nothing was changed: the form held the issue's current values.")
        desk.edit(visit.settings, visit.store, issue_id, change, type_of(visit),
                  actor=visit.actor, labels=LABELS)  # fmt: skip

    done = f"Issue {issue_id} corrected; it is sent on the next pass."
    return await visit.act(work, back=back, done=done, wake=True)


def correction(issue: Issue, rt: RequestType | None, form: Form) -> desk.Correction:
    """What the edit form changes of ``issue``: each field whose value differs (a blank
    address removes it), and the answers that differ, as ``QID=VALUE`` (a blank value removes
    an optional answer; a multi-choice gives one per option chosen)."""
    summary = lines(form.raw("summary")).strip()
    description = lines(form.raw("description")).strip()
    address = form.get("address") or ""
    lat = number(LABELS.lat, form.get("lat"))
    lng = number(LABELS.lng, form.get("lng"))
    answers: list[str] = []
    given = answer_fields(form)
    for question in rt.questions if rt is not None else ():
        if question.type == "info" or f"{ANSWER}{question.id}" not in form.values:
            continue
        now = [a.answer for a in issue.answers if a.question_id == question.id]
        chosen = [v for v in given.get(question.id, []) if v]
        if question.type == "multichoice":
            if sorted(chosen) != sorted(now):
                answers += [f"{question.id}={v}" for v in chosen] or [f"{question.id}="]
        elif (chosen[-1] if chosen else "") != (now[0] if now else ""):
            answers.append(f"{question.id}={chosen[-1] if chosen else ''}")
    return desk.Correction(
        summary=summary if summary != issue.summary else None,
        description=description if description != issue.description else None,
        lat=lat if lat is not None and lat != issue.lat else None,
        lng=lng if lng is not None and lng != issue.lng else None,
        address=address if address != (issue.address or "") else None,
        answers=tuple(answers),
    )


def _sentence(line: str) -> str:
    """A core line (``issue 4 withdrawn: …``) as a sentence for the page."""
    line = line.strip()
    return (line[:1].upper() + line[1:]).rstrip(".") + "." if line else line
