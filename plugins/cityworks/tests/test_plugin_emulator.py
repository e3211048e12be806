"""Every hook end to end over loopback HTTP against the emulator."""

from __future__ import annotations

import dataclasses

import pytest
from scf_cityworks import plugin
from scf_cityworks.emulator import Emulator

from scf_plugins import (
    AmbiguousError,
    Answer,
    Comment,
    DefiniteError,
    Integration,
    Issue,
    RemoteState,
    Tracked,
)


def types_by_code(cw: Integration) -> dict:  # type: ignore[type-arg]
    return {rt.code: rt for rt in plugin.list_request_types(integration=cw)}


def test_list_request_types_public_active_in_sequence(cw: Integration, emulator: Emulator) -> None:
    types = types_by_code(cw)
    assert set(types) == {
        "DoorWall",
        "CarpetFlooring",
        "POTHOLE",
        "GRAFFITI",
        "STREETLIGHT",
        "SIGNDAMAGE",
        "MISSEDTRASH",
    }  # not the staff-only or inactive ones
    pothole = types["POTHOLE"]
    assert pothole.ref == "101" and pothole.name == "Pothole"
    assert [q.id for q in pothole.questions] == ["501", "502", "503"]
    assert pothole.questions[1].options == (
        "Smaller than a dinner plate",
        "Larger than a dinner plate",
    )
    assert pothole.questions[2].private and pothole.questions[2].type == "text"
    signs = types["SIGNDAMAGE"].questions
    assert [(q.id, q.type) for q in signs] == [("531", "choice"), ("532", "number")]
    graffiti = {q.id: q for q in types["GRAFFITI"].questions}
    assert graffiti["513"].asked_when == (("512", "Private property"),)
    assert graffiti["514"].type == "date"
    assert emulator.state.counts["ams/servicerequesttemplate/qa"] == 1
    assert emulator.state.counts["ams/servicerequest/qa"] == 0


def test_request_types_filter_and_fallback_to_per_problem_qa(
    emulator: Emulator, make_integration
) -> None:  # type: ignore[no-untyped-def]
    emulator.state.inject("not_found", count=1, match="servicerequesttemplate/qa")
    cw = make_integration(emulator.url, request_types=("POTHOLE", "GRAFFITI"))
    types = types_by_code(cw)
    assert set(types) == {"POTHOLE", "GRAFFITI"}
    assert len(types["POTHOLE"].questions) == 3
    assert emulator.state.counts["ams/servicerequest/qa"] == 2
    types_by_code(cw)  # the site is remembered as lacking the batch call
    assert emulator.state.counts["ams/servicerequesttemplate/qa"] == 1


def issue(cw: Integration, **overrides: object) -> Issue:
    rt = types_by_code(cw)["POTHOLE"]
    base = Issue(
        id=11,
        request_type="POTHOLE",
        summary="Deep pothole",
        description="By the school",
        lat=41.3083,
        lng=-72.9279,
        address="165 Church St",
        reporter_name="Jane Doe",
        reporter_email="jane@example.org",
        type_ref=rt.ref,
        answers=(
            Answer("501", rt.questions[0].text, "Yes", False, rt.questions[0].ref_for("Yes")),
        ),
    )
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


def test_submit_creates_a_request_with_the_mapping(cw: Integration, emulator: Emulator) -> None:
    submission = plugin.submit(integration=cw, issue=issue(cw))
    assert submission.created and submission.status == "OPEN"
    record = emulator.state.requests[int(submission.remote_id)]
    assert record["ProblemSid"] == 101 and record["ProblemCode"] == "POTHOLE"
    assert record["Details"] == "Deep pothole\nBy the school"
    assert record["ProbAddress"] == "165 Church St"
    assert record["OtherSystemId"] == "scf-11"
    assert record["SRX"] == pytest.approx(-8118296.69, abs=0.01)
    assert record["SRY"] == pytest.approx(5057922.75, abs=0.01)
    assert emulator.state.answers[int(submission.remote_id)] == [
        {"AnswerId": 2001, "QuestionId": 501, "AnswerValue": "Yes"}
    ]
    call = emulator.state.customer_calls[int(submission.remote_id)][0]
    assert call["FirstName"] == "SeeClickFix 311 CRM" and call["LastName"] == "Jane Doe"
    assert call["Email"] == "jane@example.org"


def test_submit_after_an_uncertain_attempt_finds_the_request(
    cw: Integration, emulator: Emulator
) -> None:
    emulator.state.inject("drop_after_commit", match="servicerequest/create")
    with pytest.raises(AmbiguousError):
        plugin.submit(integration=cw, issue=issue(cw))
    assert len(emulator.state.requests) == 1
    again = plugin.submit(integration=cw, issue=issue(cw, submit_attempted=True))
    assert not again.created and len(emulator.state.requests) == 1
    assert again.remote_id == str(next(iter(emulator.state.requests)))


def test_submit_attempted_but_never_created_creates_it(cw: Integration, emulator: Emulator) -> None:
    submission = plugin.submit(integration=cw, issue=issue(cw, submit_attempted=True))
    assert submission.created and len(emulator.state.requests) == 1
    assert emulator.state.counts["ams/servicerequest/byothersystemid"] == 1


def test_a_refused_create_is_definite(cw: Integration) -> None:
    with pytest.raises(DefiniteError, match="AnswerId 9999 does not belong to problem 101"):
        plugin.submit(
            integration=cw, issue=issue(cw, answers=(Answer("501", "q", "Yes", False, "9999"),))
        )


def test_poll_a_batch_in_few_calls(cw: Integration, emulator: Emulator, make_integration) -> None:  # type: ignore[no-untyped-def]
    ids = [plugin.submit(integration=cw, issue=issue(cw, id=n)).remote_id for n in range(1, 8)]
    staff = emulator.state.staff
    staff("close", int(ids[0]))
    staff("close", int(ids[1]), status="COMPLETE")
    staff("cancel", int(ids[2]))
    staff("set_field", int(ids[3]), field="DispatchTo", value="Streets Crew 4")
    staff("comment", int(ids[4]), text="To SCF: crew on the way")
    staff("comment", int(ids[4]), text="internal only")
    tracked = [Tracked(n, rid) for n, rid in enumerate(ids, 1)] + [
        Tracked(99, "424242"),
        Tracked(98, "not-a-number"),
    ]
    emulator.state.counts.clear()
    small = make_integration(emulator.url, poll_batch_size=4)
    updates = {u.issue_id: u for u in plugin.poll(integration=small, tracked=tracked)}
    assert len(updates) == 9
    assert updates[1].state is RemoteState.CLOSED and updates[1].status == "CLOSED"
    assert updates[2].state is RemoteState.CLOSED and updates[2].status == "COMPLETE"
    assert updates[3].state is RemoteState.CANCELED
    assert updates[4].fields == (("DispatchTo", "Streets Crew 4"),)
    assert [c.text for c in updates[5].comments] == ["crew on the way"]
    assert updates[6].state is RemoteState.OPEN and updates[6].comments == ()
    assert updates[99].state is RemoteState.MISSING
    assert updates[98].state is RemoteState.UNREADABLE and "not a Cityworks request id" in str(
        updates[98].error
    )
    # Three batches of at most 4; the last holds only a non-numeric id, so it costs no call.
    assert emulator.state.counts["ams/servicerequest/byids"] == 2
    assert emulator.state.counts["ams/comment/byactivitysids"] == 2


def test_push_comment_returns_the_comment_id_and_is_never_pulled_back(
    cw: Integration, emulator: Emulator
) -> None:
    rid = plugin.submit(integration=cw, issue=issue(cw)).remote_id
    linked = issue(cw, remote_id=rid)
    comment = Comment(id=5, issue_id=11, author="Jane Doe", text="It got bigger")
    comment_id = plugin.push_comment(integration=cw, issue=linked, comment=comment)
    stored = emulator.state.comments[int(rid)]
    assert [(str(c["CommentId"]), c["Comments"]) for c in stored] == [
        (comment_id, "[311] Jane Doe: It got bigger")
    ]
    # An uncertain earlier attempt: the comment is found, not added again.
    again = plugin.push_comment(
        integration=cw, issue=linked, comment=dataclasses.replace(comment, push_attempted=True)
    )
    assert again == comment_id and len(emulator.state.comments[int(rid)]) == 1
    update = plugin.poll(integration=cw, tracked=[Tracked(11, rid)])[0]
    assert update.comments == ()


def test_the_token_expiring_mid_pass_is_renewed(cw: Integration, emulator: Emulator) -> None:
    rid = plugin.submit(integration=cw, issue=issue(cw)).remote_id
    emulator.state.expire_tokens()
    assert plugin.poll(integration=cw, tracked=[Tracked(11, rid)])[0].state is RemoteState.OPEN
    assert emulator.state.counts["general/authentication/authenticate"] == 2


def test_version_23_uses_the_header_token(emulator: Emulator, make_integration) -> None:  # type: ignore[no-untyped-def]
    emulator.state.header_token_only = True
    with pytest.raises(DefiniteError, match="refused a fresh token"):
        types_by_code(make_integration(emulator.url, version="15.8"))
    assert "POTHOLE" in types_by_code(make_integration(emulator.url, name="cw23", version="23.4"))


def test_a_wrong_password_is_refused_clearly(emulator: Emulator, make_integration) -> None:  # type: ignore[no-untyped-def]
    from scf_plugins import Secret

    with pytest.raises(DefiniteError, match="refused the login of user 'scf-int'"):
        types_by_code(make_integration(emulator.url, password=Secret("wrong-password")))


def test_check_integration_rules(make_integration) -> None:  # type: ignore[no-untyped-def]
    # Through the host, which checks the options the plugin declares before its own rules.
    from scf_plugins.testing import build_manager

    host = build_manager(load_entry_points=False)
    host.register(plugin, "cityworks")
    assert host.check_integration(make_integration()) == []
    problems = host.check_integration(
        make_integration(version="15.8", srid=2234, options={"colour": "red", "auth": "kerberos"})
    )
    assert any(p.startswith("srid: Cityworks 15.8 stores Web Mercator") for p in problems)
    assert any(p.startswith("colour: unknown key") for p in problems)
    assert any(p.startswith("auth: 'kerberos' is not valid") for p in problems)
    assert host.check_integration(make_integration(version="15.4", srid=2234)) == []
    assert any(
        "neither an EPSG nor an ESRI" in p
        for p in host.check_integration(make_integration(version="15.4", srid=999999))
    )


def test_the_emulator_command_is_registered() -> None:
    import click

    group = click.Group("scf", commands={"emulator": click.Group("emulator")})
    plugin.register_commands(cli=group)
    assert "cityworks" in group.commands["emulator"].commands  # type: ignore[attr-defined]


def test_windows_auth_needs_its_extra(emulator: Emulator, make_integration) -> None:  # type: ignore[no-untyped-def]
    from scf_plugins import ConfigError

    try:
        import requests_ntlm  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match=r"scf-cityworks\[windows\]"):
            types_by_code(make_integration(emulator.url, options={"auth": "windows"}))
    else:
        pytest.skip("requests-ntlm is installed")


def test_one_transformer_per_integration_across_submits(
    cw: Integration, emulator: Emulator
) -> None:
    from scf_cityworks import projection

    before = projection.created
    for n in range(1, 6):
        plugin.submit(integration=cw, issue=issue(cw, id=n))
    assert projection.created - before == 1
    assert len(emulator.state.requests) == 5


def test_domain_logins_pass_through_as_the_login_name(emulator: Emulator, make_integration) -> None:  # type: ignore[no-untyped-def]
    emulator.state.users["CITY\\scf-int"] = "Emu-Pass-7731"
    emulator.state.users["coraleigh/cwsoa"] = "Emu-Pass-7731"
    for login in ("CITY\\scf-int", "coraleigh/cwsoa"):
        assert "POTHOLE" in types_by_code(make_integration(emulator.url, name=login, user=login))


@pytest.mark.parametrize("version", ["15.8", "23.4"])
def test_a_photo_is_uploaded_with_the_token_as_the_version_takes_it(
    emulator: Emulator, make_integration, version: str
) -> None:  # type: ignore[no-untyped-def]
    from scf_plugins import Attachment, Issue

    emulator.state.header_token_only = version.startswith("23")
    cw = make_integration(emulator.url, name=f"cw{version}", version=version)
    rid = plugin.submit(integration=cw, issue=Issue(id=7, request_type="POTHOLE", summary="Hole",
                                                     lat=41.3, lng=-72.9, type_ref="101",
                                                     marker="scf-abc-7-1")).remote_id  # fmt: skip
    jpeg = b"\xff\xd8\xff\xe0 a photo's bytes \xff\xd9"
    photo = Attachment(3, 7, "a.jpg", "image/jpeg", len(jpeg), jpeg)
    issue = Issue(id=7, request_type="POTHOLE", summary="Hole", lat=41.3, lng=-72.9,
                  remote_id=rid, marker="scf-abc-7-1")  # fmt: skip
    first = plugin.push_attachment(integration=cw, issue=issue, attachment=photo)
    [record] = emulator.state.attachments[int(rid)]
    assert str(record["Id"]) == first and record["Attachment"].endswith("\\scf-abc-7-1-3.jpg")
    assert emulator.state.attachment_files[record["Id"]] == jpeg
    again = plugin.push_attachment(
        integration=cw, issue=issue, attachment=dataclasses.replace(photo, push_attempted=True)
    )
    assert again == first and len(emulator.state.attachments[int(rid)]) == 1


def test_staff_can_download_what_the_emulator_received(emulator: Emulator, cw) -> None:  # type: ignore[no-untyped-def]
    import json

    import requests

    from scf_plugins import Attachment, Issue

    from .conftest import PASSWORD

    rid = plugin.submit(integration=cw, issue=Issue(id=8, request_type="POTHOLE", summary="Hole",
                                                     lat=41.3, lng=-72.9, type_ref="101",
                                                     marker="scf-abc-8-1")).remote_id  # fmt: skip
    issue = Issue(id=8, request_type="POTHOLE", summary="Hole", lat=41.3, lng=-72.9,
                  remote_id=rid, marker="scf-abc-8-1")  # fmt: skip
    jpeg = bytes(range(256)) * 40
    aid = plugin.push_attachment(integration=cw, issue=issue,
                                 attachment=Attachment(1, 8, "a.jpg", "image/jpeg", len(jpeg),
                                                       jpeg))  # fmt: skip
    site = emulator.url.removesuffix("/Services/AMS")
    login = {"LoginName": "scf-int", "Password": PASSWORD}
    token = requests.post(f"{site}/Services/General/Authentication/Authenticate",
                          data={"data": json.dumps(login)}, timeout=5).json()["Value"]["Token"]  # fmt: skip
    got = requests.post(f"{site}/Services/Ams/Attachments/DownloadRequestAttachment",
                        data={"data": json.dumps({"AttachmentId": int(aid)}), "token": token},
                        timeout=5)  # fmt: skip
    assert got.status_code == 200 and got.content == jpeg
    missing = requests.post(f"{site}/Services/Ams/Attachments/DownloadRequestAttachment",
                            data={"data": '{"AttachmentId": 999}', "token": token}, timeout=5)  # fmt: skip
    assert missing.json()["Status"] == 1
