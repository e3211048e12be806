"""Answers that do not decode whole are read as far as they can be: lone surrogates and stray
bytes as U+FFFD, and what is nested too deeply, broken or cut off left out as gaps naming
where; no reader recurses on the answer's depth, and xmltodict's shapes are kept."""

from __future__ import annotations

import json
import sys
import time

import pytest
import xmltodict
from hypothesis import given, settings
from hypothesis import strategies as st

from scf_plugins import Gap, HttpAnswer, Salvaged
from scf_plugins.net.lenient_json import read_json
from scf_plugins.net.lenient_xml import read_xml
from scf_plugins.net.salvage import MAX_DEPTH, depth_of

LISTS = ("service", "attribute", "value", "request", "error", "request_update", "group")


def envelope(*records: bytes) -> bytes:
    return b'{"Status": 0, "Value": [' + b", ".join(records) + b"]}"


def test_a_whole_answer_is_read_as_the_strict_reader_reads_it() -> None:
    body = {"Status": 0, "Value": [{"RequestId": 1, "Status": "OPEN", "X": [1.5, None, True]}]}
    found = read_json(json.dumps(body).encode())
    assert found == Salvaged(body) and not found.gaps


def test_a_lone_surrogate_and_a_stray_byte_are_read_as_replacement_characters() -> None:
    found = read_json(
        envelope(
            b'{"RequestId": 1, "Comments": "fixed \\ud800 today", "\\udc00key": 1}',
            b'{"RequestId": 2, "Comments": "caf\xe9", "Emoji": "\\ud83d\\ude00"}',
        )
    )
    assert not found.gaps
    first, second = found.value["Value"]
    assert first == {"RequestId": 1, "Comments": "fixed \ufffd today", "\ufffdkey": 1}
    assert second == {"RequestId": 2, "Comments": "caf\ufffd", "Emoji": "\U0001f600"}
    json.dumps(found.value).encode("utf-8")  # nothing a UTF-8 store or JSON output refuses


def test_a_record_nested_too_deeply_is_a_gap_and_its_neighbours_are_read() -> None:
    deep = b'{"RequestId": 2, "Status": ' + b"[" * 100_000 + b"]" * 100_000 + b', "Late": 1}'
    found = read_json(envelope(b'{"RequestId": 1}', deep, b'{"RequestId": 3}'))
    records = found.at("Value")
    assert [r["RequestId"] for r in records.value] == [1, 2, 3]
    assert records.value[1]["Late"] == 1  # read on after the deep part
    assert list(records.broken()) == [1] and records.cut() is None
    [gap] = found.gaps
    assert gap.path[:3] == ("Value", 1, "Status") and len(gap.path) == MAX_DEPTH
    assert gap.reason == f"nested too deeply (over {MAX_DEPTH} levels)"
    assert str(gap).endswith("(at Value/1/Status/0/0/0/…)")


def test_a_broken_record_is_a_gap_and_keeps_what_was_read_before_the_damage() -> None:
    found = read_json(envelope(b'{"RequestId": 1, "Status": OPEN}', b'{"RequestId": 2}'))
    records = found.at("Value")
    assert records.value == [{"RequestId": 1}, {"RequestId": 2}]
    assert list(records.broken()) == [0]
    assert "not JSON at character" in records.broken()[0]


def test_an_answer_cut_off_keeps_its_whole_records_and_says_where_it_ends() -> None:
    body = envelope(b'{"RequestId": 1, "Status": "OPEN"}', b'{"RequestId": 2, "Status": "CL')
    found = read_json(body[:-3])
    records = found.at("Value")
    assert records.value == [{"RequestId": 1, "Status": "OPEN"}, {"RequestId": 2}]
    assert records.cut() == "not JSON: the answer ends before this list does"
    assert list(records.broken()) == [1]


@pytest.mark.parametrize("body", [b"", b"   ", b"<html>Server Error</html>", b"\xff\xfe\x00x"])
def test_an_answer_that_never_starts_as_json_is_a_value_error(body: bytes) -> None:
    with pytest.raises(ValueError, match="not JSON"):
        read_json(body)


def test_a_deep_answer_the_strict_reader_takes_is_cut_unless_the_caller_skips_the_check() -> None:
    body = envelope(b"[" * 900 + b"]" * 900)  # within orjson's 1024, past what str() survives
    cut = read_json(body)
    assert cut.gaps and cut.gaps[0].reason.startswith("nested too deeply")
    assert read_json(body, bounded=False).gaps == ()


@pytest.mark.parametrize(
    ("text", "depth"),
    [("{}", 1), ('{"a": [1, {"b": "[[[{{{"}]}', 3), ("[" * 70 + "]" * 70, 70), ("1", 0)],
)
def test_depth_of_counts_brackets_outside_strings(text: str, depth: int) -> None:
    assert depth_of(text) == depth


@pytest.mark.parametrize(
    "body",
    [
        b'{"Status": 0, "Value": ' + b"[" * 4_000_000 + b"}",
        b'{"Status": 0, "Value": ' + b"[ " * 2_000_000 + b"}",
        b'{"Status": 0, "Value": ' + b'{"a": ' * 500_000 + b"}",
    ],
)
def test_megabytes_of_nesting_cost_no_recursion_and_little_time(body: bytes) -> None:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # no reader here may recurse on the answer's depth
    try:
        started = time.perf_counter()
        found = read_json(body)
        spent = time.perf_counter() - started
    finally:
        sys.setrecursionlimit(limit)
    assert found.value["Status"] == 0
    assert any(g.reason.startswith("nested too deeply") for g in found.gaps)
    assert found.at("Value").cut()  # the answer never closes it
    assert spent < 5, spent


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(json_values, max_size=5), st.data())
def test_any_cut_of_a_list_of_records_keeps_every_whole_record(records, data) -> None:  # type: ignore[no-untyped-def]
    text = json.dumps({"Status": 0, "Value": records})
    cut = data.draw(st.integers(min_value=1, max_value=len(text)))
    found = read_json(text[:cut].encode())
    whole = [r for i, r in enumerate(records) if len(json.dumps(records[: i + 1])) + 23 <= cut]
    value = found.at("Value").value
    if found.gaps and isinstance(value, list):
        kept = [v for i, v in enumerate(value) if i not in found.at("Value").broken()]
        assert kept[: len(whole)] == whole[: len(kept)]
    if cut == len(text):
        assert found == Salvaged({"Status": 0, "Value": records})


def test_salvaged_at_relativises_gaps_and_reads_missing_parts_as_none() -> None:
    found = Salvaged(
        {"Value": {"7": [{"CommentId": 1}, None]}},
        (Gap(("Value", "7", 1), "nested too deeply"), Gap(("Value",), "cut")),
    )
    value = found.at("Value")
    assert value.cut() == "cut" and value.broken() == {"7": "nested too deeply (at 1)"}
    assert value.at("7").broken() == {1: "nested too deeply"}
    assert found.at("Nothing", 3).value is None and found.at("Nothing").gaps == ()


# -- XML -----------------------------------------------------------------------------------------

XML_DOCUMENTS = [
    b'<?xml version="1.0"?><service_requests><request><service_request_id>1'
    b"</service_request_id><status>open</status></request></service_requests>",
    b'<service_requests><request a="1">x<b>2</b></request><request><b>3</b><b>4</b><c/>'
    b"<d> </d></request></service_requests>",
    b"<services/>",
    b"<service_definition><service_code>POT</service_code><attributes><attribute><code>a"
    b"</code><values><value><key>1</key><name>x</name></value></values></attribute>"
    b"</attributes></service_definition>",
    b'<ns:a xmlns:ns="urn:x"><ns:b>1</ns:b><!-- a comment --><![CDATA[ <raw> ]]></ns:a>',
]


@pytest.mark.parametrize("document", XML_DOCUMENTS)
def test_xml_is_read_into_xmltodicts_shapes(document: bytes) -> None:
    expected = xmltodict.parse(document, force_list=LISTS, disable_entities=True)
    assert read_xml(document, force_list=LISTS) == Salvaged(expected)


def test_an_xml_record_nested_too_deeply_is_a_gap_and_the_others_are_read() -> None:
    deep = b"<a>" * 200_000 + b"</a>" * 200_000
    document = (
        b"<service_requests><request><service_request_id>1</service_request_id>" + deep
        + b"<status>open</status></request><request><service_request_id>2"
        b"</service_request_id></request></service_requests>"
    )  # fmt: skip
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        found = read_xml(document, force_list=LISTS)
    finally:
        sys.setrecursionlimit(limit)
    requests = found.value["service_requests"]["request"]
    assert [r["service_request_id"] for r in requests] == ["1", "2"]
    assert requests[0]["status"] == "open"  # read on after the deep part
    [gap] = found.gaps
    assert gap.path[:4] == ("service_requests", "request", 0, "a")
    assert gap.reason == f"nested too deeply (over {MAX_DEPTH} levels)"


def test_xml_cut_off_keeps_what_came_before_and_marks_every_open_element() -> None:
    found = read_xml(
        b"<service_requests><request><service_request_id>1</service_request_id></request>"
        b"<request><service_request_id>2</service_request_id><sta",
        force_list=LISTS,
    )
    requests = found.value["service_requests"]["request"]
    assert requests == [{"service_request_id": "1"}, {"service_request_id": "2"}]
    assert [g.path for g in found.gaps] == [("service_requests", "request", 1),
                                            ("service_requests",)]  # fmt: skip
    assert all(g.reason.startswith("not XML at line 1") for g in found.gaps)


def test_xml_with_a_stray_byte_is_read_with_a_replacement_character() -> None:
    found = read_xml(b"<requests><request><d>caf\xe9</d></request></requests>", force_list=LISTS)
    assert found == Salvaged({"requests": {"request": [{"d": "caf\ufffd"}]}})
    latin = b'<?xml version="1.0" encoding="ISO-8859-1"?><a>caf\xe9</a>'
    assert read_xml(latin) == Salvaged({"a": "caf\xe9"})


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (b"", "not XML"),
        (b"garbage", "not XML"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "declares entities"),
    ],
)
def test_xml_that_cannot_be_read_at_all_is_a_value_error(document: bytes, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        read_xml(document)


def test_the_answer_offers_both_readers() -> None:
    answer = HttpAnswer(200, b"<services><service><code>A</code></service></services>")
    assert answer.salvage_xml(force_list=LISTS).value == {"services": {"service": [{"code": "A"}]}}
    assert HttpAnswer(200, b'{"a": "\\ud800"}').salvage_json().value == {"a": "\ufffd"}
