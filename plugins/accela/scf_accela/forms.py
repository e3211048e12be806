"""Record types and their custom forms (ASI) as request types with questions, and a resident's
answers as the custom-form values Accela takes.

Pure functions, no I/O. A question is one field of one form, asked in the forms' and the
fields' ``displayOrder``; its id is ``<form id>/<field id>`` and its ``meta`` keeps the form,
the field and Accela's ``fieldType``. Field types and the answers they become:

============  ===========  ==================================================
fieldType     question     value written
============  ===========  ==================================================
Text          text         as given (at most ``maxLength``, else 256)
TextArea      text         as given (at most 4000)
Number        number       as given
Date          date         ``MM/dd/yyyy``
Time          text         ``hh:mm`` (a time it cannot read is left out)
DropdownList  choice       the option's ``value``
CheckBox      choice       Yes: ``CHECKED``, No: ``UNCHECKED``
Radio         choice       ``Yes`` or ``No``
(any other)   text         as given
============  ===========  ==================================================

A read-only field is not asked. Accela enforces no required field (the host's checks are the
only ones), so ``isRequired`` makes the question required here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from scf_plugins import Answer, Question, QuestionType, RequestType, frozen_mapping

log = logging.getLogger(__name__)

TEXT_LIMITS = {"Text": 256, "TextArea": 4000}
YES_NO = {
    "CheckBox": (("Yes", "CHECKED"), ("No", "UNCHECKED")),
    "Radio": (("Yes", "Yes"), ("No", "No")),
}
SIMPLE: dict[str, QuestionType] = {
    "Text": "text",
    "TextArea": "text",
    "Number": "number",
    "Date": "date",
    "Time": "text",
}


def _order(item: Mapping[str, Any]) -> tuple[float, str]:
    value = item.get("displayOrder")
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else 1e9
    return float(number), str(item.get("id") or "")


def offered(kind: Mapping[str, Any], module: str, filter_name: str, wanted: Iterable[str]) -> bool:
    """Whether residents may use a record type: in the module, of the filter when one is set,
    createable, not made only under a parent record, and in the integration's list."""
    codes = set(wanted)
    return (
        isinstance(kind.get("id"), str)
        and bool(kind["id"])
        and (not module or str(kind.get("module") or "").lower() == module.lower())
        and (not filter_name or kind.get("filterName") == filter_name)
        and kind.get("createable") is not False
        and str(kind.get("asChildOnly") or "N").upper() != "Y"
        and ("*" in codes or kind["id"] in codes)
    )


def request_type(kind: Mapping[str, Any], forms: list[Any], integration: str) -> RequestType:
    """A record type with its custom forms' fields as questions, in display order."""
    questions = []
    for form in sorted((f for f in forms if isinstance(f, dict) and f.get("id")), key=_order):
        fields = [f for f in form.get("fields") or [] if isinstance(f, dict)]
        for spec in sorted(fields, key=_order):
            question = _question(str(form["id"]), spec)
            if question is not None:
                questions.append(question)
    name = str(kind.get("text") or kind.get("alias") or kind.get("value") or kind["id"])
    return RequestType(
        code=str(kind["id"]),
        name=name,
        integration=integration,
        questions=tuple(questions),
        ref=str(kind["id"]),
    )


def _question(form_id: str, spec: Mapping[str, Any]) -> Question | None:
    field_id = spec.get("id")
    if not isinstance(field_id, str) or not field_id or _flag(spec.get("isReadonly")):
        return None
    kind = str(spec.get("fieldType") or "Text")
    text = str(spec.get("text") or field_id).strip()
    meta = frozen_mapping({"form": form_id, "field": field_id, "fieldType": kind})
    qid, required = f"{form_id}/{field_id}", _flag(spec.get("isRequired"))
    pairs: tuple[tuple[str, str], ...] = ()
    if kind in YES_NO:
        pairs = YES_NO[kind]
    elif kind == "DropdownList":
        options = [o for o in spec.get("options") or [] if isinstance(o, dict)]
        pairs = tuple(
            (str(o.get("text") or o.get("value")), str(o.get("value")))
            for o in options
            if o.get("value") not in (None, "")
        )
    if pairs:
        return Question(
            qid,
            text,
            "choice",
            required=required,
            options=tuple(t for t, _ in pairs),
            answer_refs=pairs,
            meta=meta,
        )
    return Question(
        qid,
        text,
        SIMPLE.get(kind, "text"),
        required=required,
        answer_refs=(("", field_id),),
        meta=meta,
    )


def _flag(value: Any) -> bool:
    return value is True or str(value).strip().upper() in ("Y", "TRUE")


def field_types(forms: list[Any]) -> dict[str, Mapping[str, Any]]:
    """Every answerable field of a record type's forms by question id: its meta."""
    out: dict[str, Mapping[str, Any]] = {}
    for form in forms:
        if not isinstance(form, dict) or not form.get("id"):
            continue
        for spec in form.get("fields") or []:
            question = _question(str(form["id"]), spec) if isinstance(spec, dict) else None
            if question is not None:
                out[question.id] = question.meta
    return out


def forms_body(
    answers: Iterable[Answer], metas: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The body of ``PUT /v4/records/{id}/customForms``: one object per form holding its
    fields' values. An answer to a field the record type no longer has, or one its type
    cannot take, is left out (and logged)."""
    forms: dict[str, dict[str, Any]] = {}
    for answer in answers:
        meta = metas.get(answer.question_id)
        if meta is None:
            log.warning(
                "the record type has no field %r any more; its answer is not sent",
                answer.question_id,
            )
            continue
        value = field_value(answer, str(meta.get("fieldType") or "Text"))
        if value is None:
            log.warning(
                "the answer to %r is not a value its field takes; it is not sent",
                answer.question_id,
            )
            continue
        form = forms.setdefault(str(meta["form"]), {"id": str(meta["form"])})
        form[str(meta["field"])] = value
    return list(forms.values())


def field_value(answer: Answer, kind: str) -> str | None:
    """The value Accela takes for an answer to a field of type ``kind``, or None."""
    text = answer.answer.strip()
    if kind in YES_NO or kind == "DropdownList":
        if answer.ref:
            return answer.ref
        by_text = dict(YES_NO.get(kind, ()))
        return by_text.get(text)
    if kind == "Date":
        found = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
        return f"{found[2]}/{found[3]}/{found[1]}" if found else None
    if kind == "Time":
        found = re.fullmatch(r"(\d{1,2}):(\d{2})(?::\d{2})?", text)
        return f"{int(found[1]):02d}:{found[2]}" if found and int(found[1]) < 24 else None
    return answer.answer[: TEXT_LIMITS.get(kind, 4000)]
