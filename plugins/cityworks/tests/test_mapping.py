"""Q&A to questions, an issue to Create fields, a RequestBase to a RemoteUpdate; projection."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from pyproj import Transformer
from scf_cityworks import mapping, projection
from scf_cityworks.projection import Projector

from scf_plugins import AddressCheck, Answer, DefiniteError, Issue, RemoteState, Tracked

# Verbatim QA Value (reference §3.2, Alachua County's real response).
QA_21 = {
    "ProblemSid": 21,
    "BranchingModel": False,
    "Questions": [
        {"QuestionId": 43, "ProblemSid": 21, "Question": "Location Detail", "QuestionSequence": 1},
        {"QuestionId": 44, "ProblemSid": 21, "Question": "Carpet Issue Detail",
         "QuestionSequence": 2},
    ],
    "Answers": [
        {"QuestionId": 43, "NextQuestionId": 0, "Priority": "", "AnswerSequence": 1,
         "Answer": "Interior", "AnswerId": 154, "TellCaller": "", "AnswerFormat": "THISTEXT",
         "SubmitTo": 0, "DispatchTo": 0, "SubmitToLayerName": "", "SubmitToFieldName": "",
         "DispatchToFieldName": ""},
        {"QuestionId": 44, "NextQuestionId": 0, "Priority": "", "AnswerSequence": 1,
         "Answer": "Broken Floor", "AnswerId": 156, "TellCaller": "", "AnswerFormat": "THISTEXT",
         "SubmitTo": -9999, "DispatchTo": -9999, "SubmitToLayerName": "", "SubmitToFieldName": "",
         "DispatchToFieldName": ""},
    ],
}  # fmt: skip


def answer(qid: int, aid: int, text: str, fmt: str, seq: int = 1, nxt: int = 0) -> dict:  # type: ignore[type-arg]
    return {
        "QuestionId": qid,
        "AnswerId": aid,
        "Answer": text,
        "AnswerFormat": fmt,
        "AnswerSequence": seq,
        "NextQuestionId": nxt,
    }


def test_verbatim_qa_becomes_ordered_choice_questions() -> None:
    questions = mapping.questions_from_qa(QA_21, "CarpetFlooring")
    assert [(q.id, q.text, q.type, q.options) for q in questions] == [
        ("43", "Location Detail", "choice", ("Interior",)),
        ("44", "Carpet Issue Detail", "choice", ("Broken Floor",)),
    ]
    assert questions[0].ref_for("Interior") == "154" and questions[0].required


def test_formats_sequence_privacy_and_unsupported(caplog: pytest.LogCaptureFixture) -> None:
    qa = {"BranchingModel": False, "Questions": [
        {"QuestionId": 3, "Question": "Your E-mail", "QuestionSequence": 3},
        {"QuestionId": 1, "Question": "Lane?", "QuestionSequence": 1},
        {"QuestionId": 2, "Question": "Seen on", "QuestionSequence": 2},
        {"QuestionId": 4, "Question": "How many?", "QuestionSequence": 4},
        {"QuestionId": 5, "Question": "Orphan", "QuestionSequence": 5},
        {"QuestionId": 6, "Question": "Score", "QuestionSequence": 6},
    ], "Answers": [
        answer(1, 12, "", "NO", seq=2), answer(1, 11, "", "YES"), answer(2, 21, "", "DATE"),
        answer(3, 31, "", "FREETEXT"), answer(4, 41, "", "NUMERIC"), answer(6, 61, "", "CALCULATED"),
    ]}  # fmt: skip
    with caplog.at_level(logging.WARNING):
        questions = mapping.questions_from_qa(qa, "PH", optional=["2"])
    assert [(q.id, q.type) for q in questions] == [
        ("1", "choice"), ("2", "date"), ("3", "text"), ("4", "number")
    ]  # fmt: skip
    assert questions[0].options == ("Yes", "No") and questions[0].ref_for("No") == "12"
    assert not questions[1].required and questions[0].required
    assert questions[2].private and not questions[0].private
    assert questions[2].ref_for("anything typed") == "31"
    assert "PH question 6 (Score) has answer format CALCULATED" in caplog.text
    assert "PH question 5 (Orphan) has no answers" in caplog.text


def test_branching_asks_a_follow_up_only_after_its_choice() -> None:
    qa = {"BranchingModel": True, "Questions": [
        {"QuestionId": 1, "Question": "Where?", "QuestionSequence": 1},
        {"QuestionId": 2, "Question": "Owner allows removal?", "QuestionSequence": 2},
        {"QuestionId": 3, "Question": "Details", "QuestionSequence": 3},
        {"QuestionId": 4, "Question": "Offensive?", "QuestionSequence": 0},
    ], "Answers": [
        answer(4, 40, "Yes", "YES", nxt=1), answer(4, 41, "No", "NO", 2, nxt=1),
        answer(1, 10, "Public", "THISTEXT", nxt=3), answer(1, 11, "Private", "THISTEXT", 2, nxt=2),
        answer(2, 20, "Yes", "YES", nxt=3), answer(2, 21, "No", "NO", 2, nxt=3),
        answer(3, 30, "", "FREETEXT"),
    ]}  # fmt: skip
    questions = {q.id: q for q in mapping.questions_from_qa(qa, "GRAFFITI")}
    assert list(questions) == ["4", "1", "2", "3"]
    assert questions["1"].asked_when == ()  # every answer of an always-asked question leads here
    assert questions["2"].asked_when == (("1", "Private"),)
    assert set(questions["3"].asked_when) == {("1", "Public"), ("2", "Yes"), ("2", "No")}


ISSUE = Issue(
    id=7, request_type="POTHOLE", summary="Deep pothole", description="Near the school",
    lat=41.3083, lng=-72.9279, address="165 Church St", reporter_name="Jane Doe",
    reporter_email="jane@example.org", image_url="https://img.example.org/p.jpg",
    answers=(Answer("501", "Lane?", "Yes", False, "2001"),
             Answer("503", "Email", "jane@example.org", True, "2005")),
    type_ref="101",
)  # fmt: skip


def test_create_fields_field_by_field(make_integration) -> None:  # type: ignore[no-untyped-def]
    from scf_plugins import frozen_mapping

    integration = make_integration(
        image_url_field="Text1",
        custom_fields=frozen_mapping({"Text2": "{issue.id}", "Text3": "SCF {issue.marker}"}),
    )
    fields = mapping.create_fields(integration, ISSUE, 1.5, 2.5)
    assert fields == {
        "ProblemSid": 101,
        "CallerFirstName": "SeeClickFix 311 CRM",
        "CallerLastName": "Jane Doe",
        "CallerEmail": "jane@example.org",
        "Details": "Deep pothole\nNear the school",
        "X": 1.5,
        "Y": 2.5,
        "Address": "165 Church St",
        "OtherSystemId": "scf-7",
        "InitiatedByApp": "scf-plugins",
        "Text1": "https://img.example.org/p.jpg",
        "Text2": "7",
        "Text3": "SCF scf-7",
        "Answers": [
            {"AnswerId": 2001, "AnswerValue": "Yes"},
            {"AnswerId": 2005, "AnswerValue": "jane@example.org"},
        ],
    }


def test_create_fields_use_the_verified_address_and_configured_caller(make_integration) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    checked = dataclasses.replace(
        ISSUE,
        description="",
        address_check=AddressCheck(
            query="165 Church St",
            accepted=True,
            address="165 CHURCH ST, NEW HAVEN, CT, 06510",
            score=98.5,
        ),
    )
    fields = mapping.create_fields(
        make_integration(options={"caller_first_name": "New Haven 311"}), checked, 0, 0
    )
    assert fields["Address"] == "165 CHURCH ST, NEW HAVEN, CT, 06510"
    assert fields["CallerFirstName"] == "New Haven 311"
    assert fields["Details"] == "Deep pothole"
    rejected = dataclasses.replace(
        checked,
        address_check=AddressCheck(
            query="165 Church St", accepted=False, address="165 CHURCH RD", score=60
        ),
    )
    assert mapping.create_fields(make_integration(), rejected, 0, 0)["Address"] == "165 Church St"


@pytest.mark.parametrize(
    ("srid", "epsg"), [(3857, "EPSG:3857"), (2234, "EPSG:2234"), (102100, "EPSG:3857")]
)
def test_projection_matches_pyproj(srid: int, epsg: str) -> None:
    x, y = Projector(srid).project(-72.9279, 41.3083)
    ex, ey = Transformer.from_crs("EPSG:4326", epsg, always_xy=True).transform(-72.9279, 41.3083)
    assert (x, y) == pytest.approx((ex, ey), abs=1e-6)
    if srid == 2234:  # Connecticut State Plane, US survey feet
        assert 900_000 < x < 1_000_000 and 600_000 < y < 700_000


def test_an_esri_only_srid_resolves_through_the_esri_authority() -> None:
    crs = projection.resolve_crs(102671)  # NAD 1983 StatePlane Illinois East (feet), ESRI only
    assert crs.to_authority() == ("ESRI", "102671")


def test_a_point_outside_the_area_of_use_is_definite() -> None:
    with pytest.raises(DefiniteError, match="outside the area of use of SRID 2234"):
        Projector(2234).project(-118.4, 33.9)  # Los Angeles is not Connecticut


def test_a_transformer_is_built_once_per_projector() -> None:
    before = projection.created
    p = Projector(3857)
    for _ in range(50):
        p.project(-72.9, 41.3)
    assert projection.created == before + 1


REQUEST = {"RequestId": 1520672, "Status": "DISPATCH", "IsClosed": False, "DispatchTo": "Crew 4",
           "Resolution": "", "Text1": None}  # fmt: skip
COMMENTS = [
    {"CommentId": 9003, "Comments": "  to scf:  We will be there Monday", "AuthorName": "Hayes, D",
     "DateCreated": "2024-05-01T10:15:00"},
    {"CommentId": 9002, "Comments": "internal note: bring the big truck", "AuthorName": "Hayes, D",
     "DateCreated": "2024-05-01T10:14:00"},
    {"CommentId": 9001, "Comments": "TO SCF: Crew dispatched", "AuthorName": "Hayes, D",
     "DateCreated": "2024-05-01T09:00:00"},
]  # fmt: skip


def test_update_from_a_request_base(make_integration) -> None:  # type: ignore[no-untyped-def]
    update = mapping.update_from(Tracked(1, "1520672"), REQUEST, COMMENTS, make_integration())
    assert update.state is RemoteState.OPEN and update.status == "DISPATCH"
    assert update.fields == (("DispatchTo", "Crew 4"),)
    assert [(c.remote_id, c.text) for c in update.comments] == [
        ("9001", "Crew dispatched"),
        ("9003", "We will be there Monday"),
    ]
    # Naive server-local time (America/New_York, EDT in May) read as aware UTC.
    assert update.comments[0].created_at == datetime(2024, 5, 1, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("CLOSED", RemoteState.CLOSED),
        ("complete", RemoteState.CLOSED),
        ("CANCEL", RemoteState.CANCELED),
        ("DUP", RemoteState.CANCELED),
        ("OPEN", RemoteState.OPEN),
    ],
)
def test_status_lists_decide_the_state(make_integration, status, state) -> None:  # type: ignore[no-untyped-def]
    update = mapping.update_from(
        Tracked(1, "5"), {**REQUEST, "Status": status}, [], make_integration()
    )
    assert update.state is state


def test_a_missing_request_is_reported_missing(make_integration) -> None:  # type: ignore[no-untyped-def]
    assert (
        mapping.update_from(Tracked(1, "5"), None, [], make_integration()).state
        is RemoteState.MISSING
    )


def test_dates_in_both_server_forms() -> None:
    assert mapping.parse_local("2024-01-15T08:00:00", "America/Denver") == datetime(
        2024, 1, 15, 15, 0, tzinfo=UTC
    )
    assert mapping.parse_local("2024-01-15T08:00:00.000Z", "America/Denver") == datetime(
        2024, 1, 15, 8, 0, tzinfo=UTC
    )
    assert mapping.parse_local("0001-01-01T00:00:00", "UTC") is None
    assert mapping.parse_local(None, "UTC") is None
    assert mapping.parse_local("garbage", "UTC") is None


def test_custom_field_templates_are_checked() -> None:
    assert mapping.template_problem("{issue.id}-{issue.summary}") is None
    assert "unknown placeholder {issue.password}" in str(
        mapping.template_problem("{issue.password}")
    )
    assert "unknown placeholder {x}" in str(mapping.template_problem("{x}"))
