"""Question types beyond text, choice and date: number (with bounds), multi-choice, date-time
and informational text, enforced by ``scf report`` and by the Open311 door alike."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import Result

from scf_plugins.intake.catalog import active_questions
from scf_plugins.testing.fake import SIGNS

from .served import Door
from .test_serve import body, errors_of

SIGN = ("--type", "SIGNS", "--summary", "Signs down", "--lat", "1", "--lng", "2")


def answers_of(run: Callable[..., Result], issue_id: int) -> list[tuple[str, str]]:
    shown = json.loads(run("issues", "show", str(issue_id), "--json").stdout)
    return [(a["question_id"], a["answer"]) for a in shown["answers"]]


def test_request_types_json_names_each_type_and_the_bounds(run: Callable[..., Result]) -> None:
    assert run("request-types", "--refresh").exit_code == 0
    types = {t["code"]: t for t in json.loads(run("request-types", "--json").stdout)}
    questions = {q["id"]: q for q in types["SIGNS"]["questions"]}
    assert [questions[q]["type"] for q in ("20", "21", "22", "23")] == [
        "info", "number", "multichoice", "datetime"
    ]  # fmt: skip
    assert (questions["21"]["minimum"], questions["21"]["maximum"]) == (1, 50)
    assert questions["22"]["options"] == ["Stop", "Yield", "Street name"]


def test_a_report_keeps_every_option_chosen_in_their_order(run: Callable[..., Result]) -> None:
    run("request-types", "--refresh")
    result = run("report", *SIGN, "--answer", "21=3", "--answer", "22=street name",
                 "--answer", "22=Stop", "--answer", "22=Stop", "--answer", "24=Yes",
                 "--answer", "23=2026-05-01 13:45", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    issue_id = json.loads(result.stdout)["id"]
    assert answers_of(run, issue_id) == [
        ("21", "3"), ("22", "Stop"), ("22", "Street name"), ("23", "2026-05-01T13:45"),
        ("24", "Yes"),
    ]  # fmt: skip


@pytest.mark.parametrize(("answers", "expected"), [
    (["21=three", "22=Stop", "24=No"], "is not a number; use digits"),
    (["21=0", "22=Stop", "24=No"], "is below the least accepted, 1"),
    (["21=51", "22=Stop", "24=No"], "is above the most accepted, 50"),
    (["21=1e999", "22=Stop", "24=No"], "is above the most accepted, 50"),
    (["21=2", "22=Stop", "22=Detour", "24=No"], "'Detour' to question 22 (Which kinds?) is not"),
    (["21=2", "22=Stop", "24=No", "23=yesterday"], "is not a date-time; use ISO 8601"),
    (["21=2", "22=Stop", "24=No", "23=2026-02-30T10:00"], "is not a date-time"),
    (["21=2", "22=Stop", "24=No", "20=ok"], "is information only; it takes no answer"),
    (["21=2", "22=Yield"], ""),  # 24 is asked only when Stop is chosen: fine without it
    (["21=2", "22=Stop"], "question 24 (Is a stop sign down at a crossing?) needs an answer"),
    (["21=2"], "question 22 (Which kinds?) needs an answer"),
])  # fmt: skip
def test_each_type_is_enforced_with_one_clear_line(
    run: Callable[..., Result], answers: list[str], expected: str
) -> None:
    run("request-types", "--refresh")
    args = [arg for answer in answers for arg in ("--answer", answer)]
    result = run("report", *SIGN, *args)
    if not expected:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code != 0 and expected in result.output, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert json.loads(run("issues", "list", "--json").stdout) == []  # nothing half-written


def test_a_multi_choice_branch_asks_its_question_when_any_chosen_option_matches() -> None:
    asked = [q.id for q in active_questions(SIGNS, {"22": ["Yield", "Stop"]})]
    assert "24" in asked
    assert "24" not in [q.id for q in active_questions(SIGNS, {"22": ["Yield"]})]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_door_offers_each_type_as_the_spec_names_it(door: Door, fmt: str) -> None:
    data = body(door.get(f"/open311/v2/services/SIGNS.{fmt}"), fmt)
    attrs = data["attributes"] if fmt == "json" else data["service_definition"]["attributes"]
    by_code = {a["code"]: a for a in (attrs if fmt == "json" else attrs["attribute"])}
    assert str(by_code["20"]["variable"]).lower() == "false"
    assert str(by_code["20"]["required"]).lower() == "false"
    assert by_code["21"]["datatype"] == "number"
    assert "at least 1, at most 50" in by_code["21"]["datatype_description"]
    assert by_code["22"]["datatype"] == "multivaluelist"
    values = by_code["22"]["values"] if fmt == "json" else by_code["22"]["values"]["value"]
    assert [v["key"] for v in values] == ["32", "33", "34"]
    assert by_code["23"]["datatype"] == "datetime"


@pytest.mark.parametrize("style", ["spec", "fixmystreet"])
def test_the_door_takes_a_multi_value_list_in_both_styles(door: Door, style: str) -> None:
    key = "attribute[22][]" if style == "spec" else "attribute[22]"
    pairs = [("service_code", "SIGNS"), ("lat", "41.3"), ("long", "-72.9"),
             ("attribute[20]", "read it"), ("attribute[21]", "4"), (key, "32"), (key, "34"),
             ("attribute[24]", "36"), ("attribute[23]", "2026-05-01T13:45")]  # fmt: skip
    response = door.post_pairs("json", pairs)
    assert response.status_code == 200, response.text
    issue_id = int(response.json()[0]["service_request_id"])
    record = door.store.get(issue_id)
    assert record is not None
    assert [(a.question_id, a.answer, a.ref) for a in record.issue.answers] == [
        ("21", "4", "31"), ("22", "Stop", "32"), ("22", "Street name", "34"),
        ("23", "2026-05-01T13:45", "35"), ("24", "Yes", "36"),
    ]  # fmt: skip


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_door_refuses_a_number_out_of_bounds_and_a_second_value_of_a_single_list(
    door: Door, fmt: str
) -> None:
    pairs = [("service_code", "SIGNS"), ("lat", "41.3"), ("long", "-72.9"),
             ("attribute[21]", "99"), ("attribute[22]", "33"), ("attribute[24]", "36"),
             ("attribute[24]", "37")]  # fmt: skip
    response = door.post_pairs(fmt, pairs)
    assert response.status_code == 400
    texts = " | ".join(e["description"] for e in errors_of(response, fmt))
    assert "above the most accepted, 50" in texts
    assert "attribute[24] takes one value; 2 were sent" in texts
