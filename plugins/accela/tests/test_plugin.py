"""The accela plugin against the emulator over loopback, through the host's routing: record
types and their forms, creates exactly once with their answers, batch reads, statuses,
comments both ways, photos."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from scf_accela import plugin
from scf_accela.emulator import AccelaEmulator

from scf_plugins import (
    AmbiguousError,
    Answer,
    Attachment,
    Comment,
    ConfigError,
    DefiniteError,
    Integration,
    Issue,
    LoginRefused,
    RemoteState,
    RequestType,
    Secret,
    Tracked,
    TransientError,
)
from scf_plugins.testing import PluginHost, build_manager

GRAFFITI = "ServiceRequest-Graffiti-Graffiti-NA"
POTHOLE = "ServiceRequest-Streets.cand.cSidewalks-Pothole-NA"
Make = Callable[..., Integration]


@pytest.fixture
def host() -> PluginHost:
    """A host with only the accela plugin, routed as in production."""
    manager = build_manager(load_entry_points=False)
    manager.register(plugin, "accela")
    return manager


def _types(host: PluginHost, integration: Integration) -> dict[str, RequestType]:
    return {rt.code: rt for rt in host.list_request_types(integration)}


def _issue(number: int, rt: RequestType, *answers: tuple[str, str], **fields: object) -> Issue:
    """An issue of ``rt`` answering ``(question id, value)`` as the host hands it to submit:
    each answer with its question's ref and meta."""
    questions = {q.id: q for q in rt.questions}
    given = tuple(
        Answer(qid, q.text, value, False, q.ref_for(value), meta=q.meta)
        for qid, value in answers
        if (q := questions[qid])
    )
    issue = Issue(
        id=number,
        request_type=rt.code,
        summary="Tagged wall",
        lat=41.8781,
        lng=-87.6298,
        description="Blue paint",
        address="100 Main St",
        reporter_name="Ann Lee",
        reporter_email="ann@example.org",
        answers=given,
        type_ref=rt.ref,
        marker=f"scf-t{number}",
    )
    return dataclasses.replace(issue, **fields)  # type: ignore[arg-type]


def test_record_types_are_the_modules_createable_ones_with_their_forms_in_order(
    host: PluginHost, permits: Make
) -> None:
    types = _types(host, permits())
    assert set(types) == {GRAFFITI, POTHOLE, "ServiceRequest-Trees-Fallen.cTree-NA"}
    graffiti = types[GRAFFITI]
    assert graffiti.name == "Graffiti" and graffiti.ref == GRAFFITI
    assert [q.id for q in graffiti.questions] == [
        "SR_GRAF-DETAILS/Surface",
        "SR_GRAF-DETAILS/Offensive",
        "SR_GRAF-DETAILS/Date Noticed",
        "SR_GRAF-DETAILS/Size (sq ft)",
        "SR_GRAF-CONTACT/Email for follow-up",
    ]
    surface, offensive, noticed, size, _email = graffiti.questions
    assert (surface.type, surface.required, surface.options) == (
        "choice",
        True,
        ("Wall", "Fence", "Utility Box", "Sign"),
    )
    assert offensive.type == "choice" and offensive.options == ("Yes", "No")
    assert not offensive.required and noticed.type == "date" and size.type == "number"
    assert dict(surface.meta) == {
        "form": "SR_GRAF-DETAILS",
        "field": "Surface",
        "fieldType": "DropdownList",
    }
    pothole = types[POTHOLE]
    kinds = {q.id.split("/", 1)[1]: q.type for q in pothole.questions}
    assert kinds == {
        "Depth (inches)": "number",
        "Lane": "choice",
        "Blocking Traffic": "choice",
        "Time Noticed": "text",
        "Details": "text",
        "Surface Type": "text",
    }
    assert "Crew Notes" not in kinds  # read-only: not the resident's to answer
    assert types["ServiceRequest-Trees-Fallen.cTree-NA"].questions == ()


def test_request_types_and_module_narrow_the_offer(host: PluginHost, permits: Make) -> None:
    assert set(_types(host, permits(request_types=(POTHOLE,)))) == {POTHOLE}
    assert set(_types(host, permits(options={"module": "Building"}))) == {
        "Building-Commercial-Addition-NA"
    }
    assert _types(host, permits(options={"module": "Building", "filter_name": "311"})) == {}


def test_a_record_is_created_with_the_mapped_fields_and_its_answers(
    host: PluginHost, permits: Make, emulator: AccelaEmulator
) -> None:
    integration = permits(options={"contact_type": "Complainant", "reported_channel": "Internet"})
    rt = _types(host, integration)[GRAFFITI]
    issue = _issue(
        1,
        rt,
        ("SR_GRAF-DETAILS/Surface", "Fence"),
        ("SR_GRAF-DETAILS/Offensive", "Yes"),
        ("SR_GRAF-DETAILS/Date Noticed", "2026-03-04"),
    )
    made = host.submit(integration, issue)
    assert made.created and made.remote_id.startswith("ISLANDTON-") and made.status == "Submitted"
    record = emulator.state.records[made.remote_id]
    assert (record["name"], record["description"], record["shortNotes"]) == (
        "Tagged wall",
        "Blue paint",
        "scf-t1",
    )
    [place] = record["addresses"]
    assert place["streetAddress"] == "100 Main St"
    assert (place["xCoordinate"], place["yCoordinate"]) == (-87.6298, 41.8781)
    [contact] = record["contacts"]
    assert (contact["firstName"], contact["lastName"], contact["email"]) == (
        "Ann",
        "Lee",
        "ann@example.org",
    )
    assert record["reportedChannel"] == {"value": "Internet"}
    assert record["customForms"] == [
        {
            "id": "SR_GRAF-DETAILS",
            "Surface": "Fence",
            "Offensive": "Yes",
            "Date Noticed": "03/04/2026",
        }
    ]


def test_answers_of_every_field_type_are_written_as_accela_takes_them(
    host: PluginHost, permits: Make, emulator: AccelaEmulator
) -> None:
    integration = permits()
    rt = _types(host, integration)[POTHOLE]
    issue = _issue(
        2,
        rt,
        ("SR_POT-GENERAL/Depth (inches)", "4.5"),
        ("SR_POT-GENERAL/Lane", "Bike lane"),
        ("SR_POT-GENERAL/Blocking Traffic", "No"),
        ("SR_POT-GENERAL/Time Noticed", "7:05"),
        ("SR_POT-GENERAL/Details", "Deep"),
    )
    made = host.submit(integration, issue)
    assert emulator.state.records[made.remote_id]["customForms"] == [
        {
            "id": "SR_POT-GENERAL",
            "Depth (inches)": "4.5",
            "Lane": "Bike lane",
            "Blocking Traffic": "UNCHECKED",
            "Time Noticed": "07:05",
            "Details": "Deep",
        }
    ]


def test_answers_without_their_meta_have_their_fields_read_afresh(
    host: PluginHost, permits: Make, emulator: AccelaEmulator
) -> None:
    integration = permits()
    rt = _types(host, integration)[GRAFFITI]
    with_meta = _issue(8, rt, ("SR_GRAF-DETAILS/Date Noticed", "2026-03-04"))
    before = emulator.state.counts["GET /v4/settings/records/types/{id}/customForms"]
    host.submit(integration, with_meta)
    assert emulator.state.counts["GET /v4/settings/records/types/{id}/customForms"] == before
    bare = dataclasses.replace(
        with_meta,
        id=9,
        marker="scf-t9",
        answers=tuple(dataclasses.replace(a, meta={}) for a in with_meta.answers),
    )
    made = host.submit(integration, bare)
    assert emulator.state.counts["GET /v4/settings/records/types/{id}/customForms"] == before + 1
    assert emulator.state.records[made.remote_id]["customForms"] == [
        {"id": "SR_GRAF-DETAILS", "Date Noticed": "03/04/2026"}
    ]


def test_a_lost_create_answer_leaves_one_record_after_the_look_up(
    host: PluginHost, permits: Make, emulator: AccelaEmulator
) -> None:
    integration = permits()
    rt = _types(host, integration)[GRAFFITI]
    issue = _issue(3, rt, ("SR_GRAF-DETAILS/Surface", "Wall"))
    emulator.state.inject("drop_after_commit", match="post /v4/records ")
    with pytest.raises(AmbiguousError) as lost:
        host.submit(integration, issue)
    assert lost.value.plugin_state and "sent_at" in lost.value.plugin_state
    assert emulator.state.with_marker("scf-t3") == 1
    again = host.submit(
        integration,
        dataclasses.replace(issue, submit_attempted=True, plugin_state=lost.value.plugin_state),
    )
    assert not again.created and emulator.state.with_marker("scf-t3") == 1
    record = emulator.state.records[again.remote_id]
    assert record["customForms"] == [{"id": "SR_GRAF-DETAILS", "Surface": "Wall"}]
    assert emulator.state.counts["POST /v4/records"] == 1


def test_a_create_not_found_is_sent_again_only_after_the_search_had_time_to_show_it(
    host: PluginHost, permits: Make, emulator: AccelaEmulator
) -> None:
    integration = permits()
    rt = _types(host, integration)[GRAFFITI]
    issue = _issue(7, rt, ("SR_GRAF-DETAILS/Surface", "Wall"))
    emulator.state.inject("reset", match="post /v4/records ")  # dropped before it was made
    with pytest.raises(AmbiguousError) as lost:
        host.submit(integration, issue)
    retry = dataclasses.replace(
        issue, submit_attempted=True, plugin_state=lost.value.plugin_state or {}
    )
    with pytest.raises(AmbiguousError, match="no record carries marker scf-t7 yet") as early:
        host.submit(integration, retry)
    assert early.value.retry_after and 0 < early.value.retry_after <= 120
    assert emulator.state.with_marker("scf-t7") == 0
    sent = datetime.now(UTC) - timedelta(minutes=3)
    later = dataclasses.replace(retry, plugin_state={"sent_at": sent.isoformat()})
    made = host.submit(integration, later)
    assert made.created and emulator.state.with_marker("scf-t7") == 1


def test_answers_are_written_on_the_next_attempt_when_the_first_forms_call_fails(
    host: PluginHost, permits: Make, emulator: AccelaEmulator
) -> None:
    integration = permits()
    rt = _types(host, integration)[GRAFFITI]
    issue = _issue(4, rt, ("SR_GRAF-DETAILS/Surface", "Sign"))
    emulator.state.inject("503", match="put /v4/records/")
    with pytest.raises(AmbiguousError, match="was created, but its answers were not written"):
        host.submit(integration, issue)
    [rid] = [r for r, rec in emulator.state.records.items() if rec["shortNotes"] == "scf-t4"]
    assert emulator.state.records[rid]["customForms"] == []
    again = host.submit(integration, dataclasses.replace(issue, submit_attempted=True))
    assert again.remote_id == rid and not again.created
    assert emulator.state.with_marker("scf-t4") == 1
    assert emulator.state.records[rid]["customForms"] == [
        {"id": "SR_GRAF-DETAILS", "Surface": "Sign"}
    ]


def test_a_refused_create_is_definite_and_a_create_with_an_emse_error_succeeds(
    host: PluginHost, permits: Make, emulator: AccelaEmulator
) -> None:
    integration = permits()
    rt = _types(host, integration)[GRAFFITI]
    with pytest.raises(DefiniteError, match="data_validation_error"):
        host.submit(integration, _issue(5, rt, type_ref="ServiceRequest-No-Such-NA"))
    emulator.state.inject("emse_error", match="post /v4/records ")
    made = host.submit(integration, _issue(6, rt, ("SR_GRAF-DETAILS/Surface", "Wall")))
    assert made.created and emulator.state.with_marker("scf-t6") == 1


def test_a_batch_read_matches_records_by_id_and_an_unknown_id_is_missing(
    host: PluginHost, permits: Make, emulator: AccelaEmulator
) -> None:
    integration = permits()
    rt = _types(host, integration)[GRAFFITI]
    made = [host.submit(integration, _issue(10 + n, rt)).remote_id for n in range(3)]
    tracked = [Tracked(10 + n, rid, f"scf-t{10 + n}") for n, rid in enumerate(made)]
    tracked.append(Tracked(99, "ISLANDTON-26CAP-00000-ZZZZZ", "scf-t99"))
    tracked.append(Tracked(98, "two,ids", "scf-t98"))
    before = dict(emulator.state.counts)
    updates = {u.issue_id: u for u in host.poll(integration, tracked)}
    assert {u.issue_id: u.remote_id for u in updates.values() if u.issue_id < 90} == {
        10 + n: rid for n, rid in enumerate(made)
    }
    assert all(updates[10 + n].marker == f"scf-t{10 + n}" for n in range(3))
    assert updates[99].state is RemoteState.MISSING
    assert updates[98].state is RemoteState.UNREADABLE
    calls = {k: v - before.get(k, 0) for k, v in emulator.state.counts.items()}
    assert calls["GET /v4/records/{id}"] == 1 and calls["POST /v4/batch"] == 1


def test_a_server_that_fails_a_batch_on_an_unknown_id_is_read_in_halves(
    host: PluginHost, permits: Make, emulator: AccelaEmulator
) -> None:
    emulator.state.unknown_ids = "404"
    integration = permits()
    rt = _types(host, integration)[GRAFFITI]
    made = [host.submit(integration, _issue(20 + n, rt)).remote_id for n in range(3)]
    tracked = [Tracked(20 + n, rid) for n, rid in enumerate(made)]
    tracked.insert(1, Tracked(99, "ISLANDTON-26CAP-00000-ZZZZZ"))
    updates = {u.issue_id: u for u in host.poll(integration, tracked)}
    assert updates[99].state is RemoteState.MISSING
    assert all(updates[20 + n].state is RemoteState.OPEN for n in range(3))


def test_statuses_are_read_by_value_then_by_status_type(
    host: PluginHost, permits: Make, emulator: AccelaEmulator
) -> None:
    integration = permits(closed_statuses=(), cancel_statuses=("Duplicate",))
    rt = _types(host, integration)[GRAFFITI]
    ids = [host.submit(integration, _issue(30 + n, rt)).remote_id for n in range(5)]
    emulator.state.staff("close", ids[0], status="Complete")  # COMPLETE: closed by type
    emulator.state.staff("void", ids[1], reason="Resident withdrew it")  # VOID: cancelled
    emulator.state.staff("status", ids[2], status="Duplicate")  # cancelled by value
    emulator.state.staff("status", ids[3], status="In Progress")  # PENDING: open
    updates = {
        u.remote_id: u for u in host.poll(integration, [Tracked(n, r) for n, r in enumerate(ids)])
    }
    assert updates[ids[0]].state is RemoteState.CLOSED and updates[ids[0]].remote_closed
    assert updates[ids[0]].status == "Complete"
    assert updates[ids[1]].state is RemoteState.CANCELED
    assert updates[ids[1]].reason == "Resident withdrew it"
    assert updates[ids[2]].state is RemoteState.CANCELED
    assert updates[ids[3]].state is RemoteState.OPEN and not updates[ids[3]].remote_closed
    assert updates[ids[4]].state is RemoteState.OPEN


def test_without_status_types_a_closed_date_closes_and_values_cancel(
    host: PluginHost, permits: Make, emulator: AccelaEmulator
) -> None:
    emulator.state.status_types = False
    integration = permits(cancel_statuses=("Void",))
    rt = _types(host, integration)[GRAFFITI]
    closed, voided = (host.submit(integration, _issue(40 + n, rt)).remote_id for n in range(2))
    emulator.state.staff("close", closed, status="Resolved")
    emulator.state.staff("void", voided)
    updates = {
        u.remote_id: u for u in host.poll(integration, [Tracked(1, closed), Tracked(2, voided)])
    }
    assert updates[closed].state is RemoteState.CLOSED and updates[closed].status == "Resolved"
    assert updates[voided].state is RemoteState.CANCELED


def test_watched_fields_and_comments_both_ways(
    host: PluginHost, permits: Make, emulator: AccelaEmulator
) -> None:
    integration = permits()
    rt = _types(host, integration)[GRAFFITI]
    issue = _issue(50, rt)
    issue = dataclasses.replace(issue, remote_id=host.submit(integration, issue).remote_id)
    rid = str(issue.remote_id)
    emulator.state.staff("set_field", rid, field="assignedUser", value="Crew 7")
    emulator.state.staff("comment", rid, text="To SCF: a crew comes Tuesday")
    emulator.state.staff("comment", rid, text="internal: bring the blaster")
    comment = Comment(id=7, issue_id=50, author="Ann Lee", text="It is bigger now")
    pushed = host.push_comment(integration, issue, comment)
    [update] = host.poll(integration, [Tracked(50, rid, "scf-t50")])
    assert ("assignedUser", "Crew 7") in update.fields
    assert [c.text for c in update.comments] == ["a crew comes Tuesday"]
    assert update.comments[0].author == "JSMITH" and update.comments[0].created_at is not None
    assert update.comments[0].created_at.utcoffset() is not None
    assert pushed not in {c.remote_id for c in update.comments}
    texts = [c["text"] for c in emulator.state.comments[rid]]
    assert texts[-1] == "[311] Ann Lee: It is bigger now"
    again = host.push_comment(integration, issue, dataclasses.replace(comment, push_attempted=True))
    assert again == pushed and len(emulator.state.comments[rid]) == 3


def test_comments_are_read_record_by_record_where_the_agency_has_no_batch(
    host: PluginHost, permits: Make, emulator: AccelaEmulator
) -> None:
    emulator.state.batch = False
    integration = permits(options={"pull_prefix": "Resident:"})
    rt = _types(host, integration)[GRAFFITI]
    ids = [host.submit(integration, _issue(60 + n, rt)).remote_id for n in range(2)]
    emulator.state.staff("comment", ids[1], text="resident: fixed today")
    emulator.state.staff("comment", ids[1], text="To SCF: not with this prefix")
    for _ in range(2):  # the second poll goes record by record at once
        updates = {
            u.remote_id: u for u in host.poll(integration, [Tracked(1, ids[0]), Tracked(2, ids[1])])
        }
        assert [c.text for c in updates[ids[1]].comments] == ["fixed today"]
    assert emulator.state.counts["POST /v4/batch"] == 1
    # Every worker knows it from the integration's state; a day later the batch is tried again.
    saved = integration.state.read()
    assert "batch_refused_at" in saved.value
    emulator.state.batch = True
    day_ago = (datetime.now(UTC) - timedelta(days=1, minutes=1)).isoformat()
    assert integration.state.write({"batch_refused_at": day_ago}, saved.version)
    host.poll(integration, [Tracked(1, ids[0])])
    assert emulator.state.counts["POST /v4/batch"] == 2
    assert "batch_refused_at" not in integration.state.read().value


def test_a_damaged_record_is_unreadable_alone(
    host: PluginHost, permits: Make, emulator: AccelaEmulator
) -> None:
    integration = permits()
    rt = _types(host, integration)[GRAFFITI]
    ids = [host.submit(integration, _issue(70 + n, rt)).remote_id for n in range(2)]
    emulator.state.inject("deep", match="get /v4/records/")
    updates = {
        u.remote_id: u for u in host.poll(integration, [Tracked(1, ids[0]), Tracked(2, ids[1])])
    }
    states = sorted(u.state for u in updates.values())
    assert states == sorted([RemoteState.UNREADABLE, RemoteState.OPEN])


def test_a_photo_reaches_the_records_documents_once_after_a_lost_answer(
    host: PluginHost, permits: Make, emulator: AccelaEmulator
) -> None:
    integration = permits(options={"document_group": "SR", "document_category": "Photo"})
    rt = _types(host, integration)[GRAFFITI]
    issue = _issue(80, rt)
    issue = dataclasses.replace(issue, remote_id=host.submit(integration, issue).remote_id)
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) + b"\xff\xd9"
    photo = Attachment(
        5, 80, "scf-t80-5.jpg", "image/jpeg", len(jpeg), jpeg, original_name="IMG_0001.jpg"
    )
    emulator.state.inject("drop_after_commit", match="post /v4/records/")
    with pytest.raises(AmbiguousError):
        host.push_attachment(integration, issue, photo)
    found = host.push_attachment(
        integration, issue, dataclasses.replace(photo, push_attempted=True)
    )
    [document] = emulator.state.documents[str(issue.remote_id)]
    assert str(document["id"]) == found and document["fileName"] == "scf-t80-5.jpg"
    assert document["description"] == "Photo sent by the resident (IMG_0001.jpg)"
    assert document["group"]["value"] == "SR" and document["category"]["value"] == "Photo"
    assert emulator.state.files[document["id"]] == jpeg


def test_check_connection_logs_in_afresh_and_a_wrong_password_is_refused(
    host: PluginHost, permits: Make, emulator: AccelaEmulator
) -> None:
    line = host.check_connection(permits())
    assert "logged in as 'scf-int' to agency ISLANDTON (TEST)" in line
    assert emulator.state.logins["password"] == 1
    with pytest.raises(LoginRefused) as refused:
        host.check_connection(permits(name="wrong", password=Secret("Wrong-Pass-1")))
    assert "Wrong-Pass-1" not in str(refused.value)
    with pytest.raises(LoginRefused):
        host.check_connection(permits(name="app", secrets={"app_secret": Secret("nope-2")}))


def test_a_missing_app_secret_says_how_to_store_it(host: PluginHost, permits: Make) -> None:
    with pytest.raises(ConfigError, match=r"--key app_secret.*SCF_PERMITS_TEST_APP_SECRET"):
        host.check_connection(permits(secrets={}))


def test_list_statuses_names_every_status_value(host: PluginHost, permits: Make) -> None:
    statuses = host.list_statuses(permits(request_types=(GRAFFITI,)))
    assert statuses is not None and {"Submitted", "Closed", "Void"} <= set(statuses)


def test_a_busy_agency_is_transient_for_reads(
    host: PluginHost, permits: Make, emulator: AccelaEmulator
) -> None:
    emulator.state.inject("html", match="get /v4/settings/")
    with pytest.raises(TransientError):
        host.list_request_types(permits())


def test_a_cancel_whose_reason_the_agency_does_not_list_sets_the_status_alone(
    host: PluginHost, permits: Make, emulator: AccelaEmulator
) -> None:
    emulator.state.status_reasons = ("Duplicate",)
    integration = permits(options={"withdraw_status": "Withdrawn"})
    assert host.capabilities(integration).remote_cancel
    assert not host.capabilities(permits()).remote_cancel
    rt = _types(host, integration)[GRAFFITI]
    issue = _issue(90, rt)
    issue = dataclasses.replace(issue, remote_id=host.submit(integration, issue).remote_id)
    line = host.cancel_request(integration, issue, "Fixed by the owner")
    assert line == "cancelled with status Withdrawn"
    rid = str(issue.remote_id)
    assert emulator.state.records[rid]["status"]["value"] == "Withdrawn"
    assert emulator.state.cancellations[rid] == [""]
    assert emulator.state.comments[rid][-1]["text"] == "Withdrawn: Fixed by the owner"
    other = dataclasses.replace(issue, marker="scf-someone-else")
    with pytest.raises(DefiniteError, match="does not carry this issue's marker"):
        host.cancel_request(integration, other, "Fixed by the owner")
