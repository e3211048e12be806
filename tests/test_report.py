"""Reporting: what a 311 CRM enforces, with nothing stored on bad input; the public view."""

from __future__ import annotations

import json

import pytest

from scf_plugins.intake.catalog import active_questions
from scf_plugins.store.store import Store

BASE = ["report", "--type", "POTHOLE", "--summary", "Deep pothole", "--lat", "41.3", "--lng",
        "-72.9", "--name", "Jane Doe", "--email", "jane@example.org", "--json"]  # fmt: skip
ANSWERS = {"1": "yes", "2": "jane@example.org", "4": "No", "5": "555-0100"}


def with_answers(args: list[str], answers: dict[str, str]) -> list[str]:
    out = list(args)
    for qid, value in answers.items():
        out += ["--answer", f"{qid}={value}"]
    return out


GOOD = with_answers(BASE, ANSWERS)


def stored_issues(run) -> list:  # type: ignore[no-untyped-def,type-arg]
    result = run("issues", "list", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_a_good_report_is_stored_with_canonical_answers(run) -> None:  # type: ignore[no-untyped-def]
    result = run(*GOOD)
    assert result.exit_code == 0, result.output
    issue_id = json.loads(result.stdout)["id"]
    shown = json.loads(run("issues", "show", str(issue_id), "--json").stdout)
    assert shown["status"] == "open" and shown["integration"] == "alpha"
    assert [(a["question_id"], a["answer"]) for a in shown["answers"]] == [
        ("1", "Yes"),
        ("2", "jane@example.org"),
        ("4", "No"),
        ("5", "555-0100"),
    ]


def replace(args: list[str], flag: str, value: str | None) -> list[str]:
    out = list(args)
    i = out.index(flag)
    if value is None:
        del out[i : i + 2]
    else:
        out[i + 1] = value
    return out


BAD = [
    (replace(GOOD, "--type", "NOPE"), "unknown request type 'NOPE'; use one of: GRAFFITI, POTHOLE"),
    (replace(GOOD, "--lat", "91"), "--lat 91.0 is out of range"),
    (replace(GOOD, "--lng", "-180.5"), "--lng -180.5 is out of range"),
    (replace(GOOD, "--lat", "nan"), "--lat nan is out of range"),
    (replace(GOOD, "--summary", "   "), "--summary is required and cannot be blank"),
    (replace(GOOD, "--summary", "x" * 201), "the limit is 200"),
    (replace(GOOD, "--email", "not-an-email"), "is not an email address"),
    ([*GOOD, "--image-url", "ftp://x/y.png"], "--image-url must be an http(s) URL"),
    ([*GOOD, "--description", "d" * 5001], "the limit is 5000"),
    (with_answers(BASE, {**ANSWERS, "1": "maybe"}), "is not an option; use one of: Yes, No"),
    (
        with_answers(BASE, {**ANSWERS, "1": "   ", "4": ""}),
        "question 1 (In a travel lane?) needs an answer",
    ),
    (
        with_answers(BASE, {k: v for k, v in ANSWERS.items() if k != "2"}),
        "question 2 (Your email) needs an answer: --answer 2=VALUE",
    ),
    ([*GOOD, "--answer", "3=2024-02-30"], "is not a date; use YYYY-MM-DD"),
    ([*GOOD, "--answer", "3=yesterday"], "is not a date; use YYYY-MM-DD"),
    ([*GOOD, "--answer", "9=x"], "has no question '9'"),
    ([*GOOD, "--answer", "5=again"], "question 5 is answered twice"),
    ([*GOOD, "--answer", "noequals"], "is not QID=VALUE"),
    (
        with_answers(BASE, {**ANSWERS, "1": "No"}),
        "question 4 (Is it deep?) is asked only when 1 is 'Yes'",
    ),
    (with_answers(BASE, {**ANSWERS, "2": "x" * 2001}), "the limit is 2000"),
    (replace(GOOD, "--summary", "line\x00break"), "contains a control character"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_input_is_one_clear_line_and_stores_nothing(run, args, message) -> None:  # type: ignore[no-untyped-def]
    result = run(*args)
    assert result.exit_code != 0
    assert message in result.output, result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert stored_issues(run) == []


def test_a_conditional_question_is_required_only_when_asked(run) -> None:  # type: ignore[no-untyped-def]
    without_4 = {k: v for k, v in ANSWERS.items() if k != "4"}
    result = run(*with_answers(BASE, {**without_4, "1": "No"}))
    assert result.exit_code == 0, result.output
    result = run(*with_answers(BASE, without_4))
    assert result.exit_code == 1 and "question 4 (Is it deep?) needs an answer" in result.output


def test_active_questions_follow_the_chosen_branch() -> None:
    from scf_plugins.testing.fake import POTHOLE

    assert [q.id for q in active_questions(POTHOLE, {"1": "Yes"})] == ["1", "2", "3", "4", "5"]
    assert [q.id for q in active_questions(POTHOLE, {"1": "No"})] == ["1", "2", "3", "5"]


def test_public_view_hides_private_answers_and_the_email(run) -> None:  # type: ignore[no-untyped-def]
    issue_id = json.loads(run(*GOOD).stdout)["id"]
    private = json.loads(run("issues", "show", str(issue_id), "--json").stdout)
    public = json.loads(run("issues", "show", str(issue_id), "--public", "--json").stdout)
    assert private["reporter"]["email"] == "jane@example.org"
    assert public["reporter"] == {"name": "Jane Doe", "email": None, "phone": None}
    assert {a["question_id"] for a in private["answers"]} == {"1", "2", "4", "5"}
    assert {a["question_id"] for a in public["answers"]} == {"1", "4", "5"}
    assert "jane@example.org" not in run("issues", "show", str(issue_id), "--public").output
    assert "sync" not in public


def test_request_types_json_marks_email_questions_private(run) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(run("request-types", "--json").stdout)
    pothole = next(t for t in data if t["code"] == "POTHOLE")
    assert pothole["integration"] == "alpha"
    assert [q["id"] for q in pothole["questions"]] == ["1", "2", "3", "4", "5"]
    assert {q["id"]: q["private"] for q in pothole["questions"]} == {
        "1": False,
        "2": True,
        "3": False,
        "4": False,
        "5": False,
    }
    assert pothole["questions"][0]["options"] == ["Yes", "No"]
    assert pothole["questions"][2]["type"] == "date" and not pothole["questions"][2]["required"]


def test_config_keywords_add_private_questions(run, write_config, basic_config) -> None:  # type: ignore[no-untyped-def]
    path = write_config(
        basic_config.replace(
            'name = "City of Testville"', 'name = "City of Testville"\nprivate_keywords = ["Phone"]'
        )
    )
    data = json.loads(run("request-types", "--refresh", "--json", config=path).stdout)
    questions = {q["id"]: q["private"] for q in data[1]["questions"]}
    assert questions["5"] is True


def test_comment_on_a_missing_issue_is_refused(run) -> None:  # type: ignore[no-untyped-def]
    result = run("comment", "42", "hello")
    assert result.exit_code == 1 and "there is no issue 42" in result.output


def test_store_round_trip_and_schema_version(scf_database) -> None:  # type: ignore[no-untyped-def]
    from scf_plugins.store import migrate

    store = Store.open(scf_database)
    assert migrate.current(store.engine).at_head
    store.close()
