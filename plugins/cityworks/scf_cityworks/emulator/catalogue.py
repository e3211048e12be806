"""The emulator's seed catalogue: realistic problems (request types) and their Q&A.

``CarpetFlooring`` and ``DoorWall`` are the verbatim samples of a county's real Cityworks
responses (Alachua County's data files); the rest cover every answer format a 311 form meets:
YES/NO, THISTEXT choices, FREETEXT, DATE, an email question, a branching problem, an
unsupported (NUMERIC) question, and problems the public must not see.
"""

from __future__ import annotations

from typing import Any


def _answer(
    qid: int,
    aid: int,
    text: str,
    fmt: str,
    seq: int = 1,
    next_q: int = 0,
    submit_to: int = 0,
    dispatch_to: int = 0,
) -> dict[str, Any]:
    return {
        "QuestionId": qid, "NextQuestionId": next_q, "Priority": "", "AnswerSequence": seq,
        "Answer": text, "AnswerId": aid, "TellCaller": "", "AnswerFormat": fmt,
        "SubmitTo": submit_to, "DispatchTo": dispatch_to, "SubmitToLayerName": "",
        "SubmitToFieldName": "", "DispatchToFieldName": "",
    }  # fmt: skip


def _question(sid: int, qid: int, text: str, seq: int) -> dict[str, Any]:
    return {"QuestionId": qid, "ProblemSid": sid, "Question": text, "QuestionSequence": seq}


def _problem(
    sid: int,
    domain: int,
    code: str,
    description: str,
    *,
    public: bool = True,
    active: bool = True,
    submit_to: int = 268,
    branching: bool = False,
) -> dict[str, Any]:
    return {
        "ProblemSid": sid, "DomainId": domain, "ProblemCode": code, "Description": description,
        "OtherSysCode": "", "OtherSysDesc1": "", "OtherSysDesc2": "",
        # ProblemLeafBase attributes the emulator uses.
        "ForPublicSite": public, "Active": active, "SubmitTo": submit_to, "DispatchTo": 0,
        "QAModel": 2 if branching else 1, "Priority": "3", "ProbCategory": "GEN",
    }  # fmt: skip


def seed() -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    """Fresh copies of the problems and of each problem's ``ProblemQA``."""
    problems = [
        _problem(18, 3, "DoorWall", "Door/Wall/Window Request"),
        _problem(21, 3, "CarpetFlooring", "Carpet/Flooring Issue"),
        _problem(101, 1, "POTHOLE", "Pothole"),
        _problem(102, 1, "GRAFFITI", "Graffiti", branching=True),
        _problem(103, 1, "STREETLIGHT", "Streetlight Out"),
        _problem(104, 1, "SIGNDAMAGE", "Damaged Street Sign"),
        _problem(105, 1, "MISSEDTRASH", "Missed Trash Pickup"),
        _problem(190, 1, "WATERMAIN", "Water Main Break (staff only)", public=False),
        _problem(191, 1, "OLDTEMPLATE", "Retired Template", active=False),
    ]
    qa: dict[int, dict[str, Any]] = {
        18: {"ProblemSid": 18, "BranchingModel": False,
             "Questions": [_question(18, 40, "Describe the door, wall or window", 1)],
             "Answers": [_answer(40, 150, "", "FREETEXT")]},
        # Verbatim sample (S8), plus the "Exterior" and a second carpet answer it implies.
        21: {"ProblemSid": 21, "BranchingModel": False,
             "Questions": [_question(21, 43, "Location Detail", 1),
                           _question(21, 44, "Carpet Issue Detail", 2)],
             "Answers": [_answer(43, 154, "Interior", "THISTEXT"),
                         _answer(43, 155, "Exterior", "THISTEXT", seq=2),
                         _answer(44, 156, "Broken Floor", "THISTEXT", submit_to=-9999,
                                 dispatch_to=-9999),
                         _answer(44, 157, "Stained Carpet", "THISTEXT", seq=2)]},
        101: {"ProblemSid": 101, "BranchingModel": False,
              # Listed out of order on purpose: QuestionSequence decides.
              "Questions": [_question(101, 502, "Approximate size", 2),
                            _question(101, 501, "Is the pothole in a travel lane?", 1),
                            _question(101, 503, "Email for follow-up", 3)],
              "Answers": [_answer(501, 2001, "Yes", "YES"),
                          _answer(501, 2002, "No", "NO", seq=2),
                          _answer(502, 2004, "Larger than a dinner plate", "THISTEXT", seq=2),
                          _answer(502, 2003, "Smaller than a dinner plate", "THISTEXT"),
                          _answer(503, 2005, "", "FREETEXT")]},
        102: {"ProblemSid": 102, "BranchingModel": True,
              "Questions": [_question(102, 511, "Is the graffiti offensive?", 1),
                            _question(102, 512, "Where is it?", 2),
                            _question(102, 513, "Has the owner allowed its removal?", 3),
                            _question(102, 514, "When did you first see it?", 4)],
              "Answers": [_answer(511, 2011, "Yes", "YES", next_q=512),
                          _answer(511, 2012, "No", "NO", seq=2, next_q=512),
                          _answer(512, 2013, "Public property", "THISTEXT", next_q=514),
                          _answer(512, 2014, "Private property", "THISTEXT", seq=2, next_q=513),
                          _answer(513, 2015, "Yes", "YES", next_q=514),
                          _answer(513, 2016, "No", "NO", seq=2, next_q=514),
                          _answer(514, 2017, "", "DATE")]},
        103: {"ProblemSid": 103, "BranchingModel": False,
              "Questions": [_question(103, 521, "Pole number (on the tag)", 1),
                            _question(103, 522, "The light is", 2),
                            _question(103, 523, "Contact E-Mail", 3)],
              "Answers": [_answer(521, 2021, "", "FREETEXT"),
                          _answer(522, 2022, "Out", "THISTEXT"),
                          _answer(522, 2023, "Flickering", "THISTEXT", seq=2),
                          _answer(522, 2024, "On during the day", "THISTEXT", seq=3),
                          _answer(523, 2025, "", "FREETEXT")]},
        104: {"ProblemSid": 104, "BranchingModel": False,
              "Questions": [_question(104, 531, "Which sign?", 1),
                            _question(104, 532, "How many signs?", 2)],
              "Answers": [_answer(531, 2031, "Stop", "THISTEXT"),
                          _answer(531, 2032, "Street name", "THISTEXT", seq=2),
                          _answer(531, 2033, "Other", "THISTEXT", seq=3),
                          _answer(532, 2034, "", "NUMERIC")]},
        105: {"ProblemSid": 105, "BranchingModel": False, "Questions": [], "Answers": []},
        190: {"ProblemSid": 190, "BranchingModel": False, "Questions": [], "Answers": []},
        191: {"ProblemSid": 191, "BranchingModel": False, "Questions": [], "Answers": []},
    }  # fmt: skip
    return problems, qa


EMPLOYEES = {
    268: "Hayes, D",
    330: "API, USER",
    401: "Streets Crew 4",
    402: "Sign Shop",
}
STATUSES = ["OPEN", "INPROG", "DISPATCH", "CLOSED", "COMPLETE", "CANCEL", "DUP"]
