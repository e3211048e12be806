"""The fast reading of ``ByIds`` answers: the same envelope as the general reading, only the
fields polling needs, and every answer it cannot read handed back to the general reading."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scf_cityworks import records

RECORD = {
    "RequestId": 7,
    "Status": "OPEN",
    "OtherSystemId": "scf-1a2b3c4d-1-1",
    "IsClosed": False,
    "DispatchTo": "Crew 4",
    "Description": "Pothole",
    **{f"Text{i}": "x" * 20 for i in range(1, 21)},
}


def plain(read: dict[str, Any]) -> dict[str, Any]:
    """The envelope with each record as the dict of its fields."""
    if isinstance(read.get("Value"), list):
        return {**read, "Value": [r.as_dict() for r in read["Value"]]}
    return read


def test_reads_the_envelope_and_only_the_polled_and_watched_fields() -> None:
    body = {"Status": 0, "Message": None, "Value": [RECORD], "WarningMessages": []}
    read = records.decoder(("DispatchTo",))(json.dumps(body).encode())
    assert isinstance(read["Value"][0], records.Record)
    assert plain(read) == {
        "Status": 0,
        "Message": None,
        "WarningMessages": [],
        "Value": [
            {
                "RequestId": 7,
                "Status": "OPEN",
                "OtherSystemId": "scf-1a2b3c4d-1-1",
                "IsClosed": False,
                "CancelReason": None,
                "DispatchTo": "Crew 4",
            }
        ],
    }


def test_absent_fields_read_as_none_and_an_absent_envelope_key_stays_absent() -> None:
    read = records.decoder()(b'{"Status": 0, "Value": [{"RequestId": "12"}]}')
    assert plain(read) == {
        "Status": 0,
        "Value": [
            {
                "RequestId": "12",
                "Status": None,
                "OtherSystemId": None,
                "IsClosed": None,
                "CancelReason": None,
            }
        ],
    }
    assert "Status" not in records.decoder()(b'{"Value": null}')


def test_a_record_is_read_with_get_as_a_dict_is() -> None:
    (record,) = records.decoder(("DispatchTo",))(json.dumps({"Value": [RECORD]}).encode())["Value"]
    assert record.get("DispatchTo") == "Crew 4" and record.get("CancelReason") is None
    assert record.get("Description") is None  # sent, but not read
    assert record.get("Description", "unread") == "unread"
    assert record.get("get") is None and record.get("__class__") is None  # not attributes


@pytest.mark.parametrize("name", ["get", "as_dict", "_attributes", "__struct_fields__", "A B"])
def test_a_field_of_any_name_is_read(name: str) -> None:
    body = {"Value": [{"RequestId": 7, name: "Crew 4"}]}
    (record,) = records.decoder((name,))(json.dumps(body).encode())["Value"]
    assert record.get(name) == "Crew 4" and record.get("RequestId") == 7
    assert record.as_dict()[name] == "Crew 4"


@pytest.mark.parametrize(
    "content",
    [
        b'{"Status": 0, "Value": ["not a record"]}',
        b'{"Status": 0, "Value": {"RequestId": 1}}',
        b'{"Status": 0, "Value": [1, 2]}',
        b"[]",
        b"<html>",
        b'{"Status": 0, "Value": [',
    ],
)
def test_what_it_cannot_read_raises_value_error(content: bytes) -> None:
    with pytest.raises(ValueError):
        records.decoder()(content)


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=5,
)


@given(st.lists(st.dictionaries(st.sampled_from([*records.POLLED_FIELDS, "Other"]), values)))
def test_agrees_with_the_general_reading_wherever_it_reads(items: list[dict[str, Any]]) -> None:
    content = json.dumps({"Status": 0, "Value": items}).encode()
    read = records.decoder()(content)
    general = json.loads(content)["Value"]
    for fast, full in zip(read["Value"], general, strict=True):
        assert fast.as_dict() == {n: full.get(n) for n in records.POLLED_FIELDS}
        assert all(fast.get(n) == full.get(n) for n in records.POLLED_FIELDS)


@given(
    st.lists(
        st.dictionaries(st.sampled_from([*records.POLLED_FIELDS, "DispatchTo", "Other"]), values),
        max_size=5,
    )
)
def test_a_record_read_fast_updates_as_the_same_record_read_whole(
    items: list[dict[str, Any]],
) -> None:
    """The poll reads the fast records and the general ones (a damaged answer) alike."""
    from scf_cityworks.mapping import Reading

    from scf_plugins import Tracked
    from scf_plugins.testing import make_integration

    integration = make_integration("cityworks")  # watches DispatchTo
    assert integration.watched_fields == ("DispatchTo",)
    reading = Reading.of(integration)
    content = json.dumps({"Status": 0, "Value": items}).encode()
    fast = records.decoder(integration.watched_fields)(content)["Value"]
    for n, (record, whole) in enumerate(zip(fast, json.loads(content)["Value"], strict=True)):
        tracked = Tracked(n, str(n + 1))
        assert reading.update(tracked, record, ()) == reading.update(tracked, whole, ())
