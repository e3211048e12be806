"""The open311 plugin against the emulator and against servers that misbehave."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from scf_open311 import plugin
from scf_open311.emulator import Open311Emulator

from scf_plugins import (
    AmbiguousError,
    Answer,
    DefiniteError,
    Integration,
    Issue,
    LoginRefused,
    Pending,
    RemoteState,
    Secret,
    Tracked,
)
from scf_plugins.testing import LoopbackServer, Reply, build_manager, make_integration

from .conftest import KEY


def host_for() -> object:
    host = build_manager(load_entry_points=False)
    host.register(plugin, "open311")
    return host


def issue(n: int, code: str = "GRAF", **more: object) -> Issue:
    fields: dict[str, object] = {"id": n, "request_type": code, "summary": "Tag on the wall",
                                 "lat": 41.3, "lng": -72.9, "type_ref": code,
                                 "marker": f"scf-test-{n}-1"}  # fmt: skip
    fields.update(more)
    return Issue(**fields)  # type: ignore[arg-type]


def test_services_become_request_types_with_every_datatype(
    county: Callable[..., Integration],
) -> None:
    types = {rt.code: rt for rt in plugin.list_request_types(county())}
    assert set(types) == {"POT", "LIGHT", "GRAF", "ABUSE"}  # OLD is inactive
    pot = {q.id: q for q in types["POT"].questions}
    assert [q.id for q in types["POT"].questions] == ["safety", "depth", "lane", "hazards",
                                                      "seen", "notes"]  # fmt: skip
    assert [pot[q].type for q in pot] == ["info", "number", "choice", "multichoice", "datetime",
                                          "text"]  # fmt: skip
    assert pot["depth"].text == "How deep is it (cm)?" and pot["depth"].required
    assert pot["lane"].options == ("Travel lane", "Bike lane", "Shoulder")
    assert pot["lane"].ref_for("Bike lane") == "2"
    assert pot["hazards"].meta["datatype"] == "multivaluelist"
    assert all(q.private for q in types["ABUSE"].questions)  # keywords: private
    assert not any(q.private for q in types["POT"].questions)


def test_answers_go_as_the_server_expects_and_the_marker_in_the_description(
    county: Callable[..., Integration], emulator: Open311Emulator
) -> None:
    answers = (Answer("depth", "Depth", "12"), Answer("lane", "Lane", "Bike lane", ref="2"),
               Answer("hazards", "H", "Standing water", ref="water"),
               Answer("hazards", "H", "Broken glass", ref="glass"))  # fmt: skip
    sent = issue(1, "POT", answers=answers, description="Deep one", image_url="https://x.org/a.jpg")
    rid = plugin.submit(county(), sent).remote_id
    record = emulator.state.requests[rid]
    assert record["attributes"] == {"depth": ["12"], "lane": ["2"], "hazards": ["water", "glass"]}
    assert record["description"] == "Tag on the wall\n\nDeep one\n\n[scf-test-1-1]"
    assert record["media_url"] == "https://x.org/a.jpg"


def test_a_batch_service_gives_a_token_resolved_later(
    county: Callable[..., Integration], emulator: Open311Emulator
) -> None:
    integration = county()
    answers = (Answer("pole", "Pole", "P-77"),)
    submission = plugin.submit(integration, issue(2, "LIGHT", answers=answers))
    assert not submission.remote_id and submission.token
    assert submission.plugin_state and submission.plugin_state["token"] == submission.token
    pending = [Pending(2, submission.token, "scf-test-2-1", submission.plugin_state)]
    [waiting] = plugin.resolve_pending(integration, pending)
    assert waiting.remote_id is None and waiting.lost is None
    [made] = emulator.state.process_batch()
    [resolved] = plugin.resolve_pending(integration, pending)
    assert resolved.remote_id == made
    # A retry after doubt (state kept by the host) finds the id through the token.
    again = plugin.submit(integration, issue(2, "LIGHT", submit_attempted=True,
                                             plugin_state=submission.plugin_state))  # fmt: skip
    assert again.remote_id == made and not again.created
    assert emulator.state.with_marker("[scf-test-2-1]") == 1


def test_closed_with_cancel_notes_is_cancelled_with_the_reason(
    county: Callable[..., Integration], emulator: Open311Emulator
) -> None:
    integration = county()
    a, b = (plugin.submit(integration, issue(n)).remote_id for n in (3, 4))
    emulator.state.staff("close", a, notes="Removed by the crew")
    emulator.state.staff("cancel", b, notes="DUPLICATE of 1234")
    updates = {u.issue_id: u for u in plugin.poll(integration, [Tracked(3, a), Tracked(4, b)])}
    assert updates[3].state is RemoteState.CLOSED and updates[3].remote_closed
    assert updates[4].state is RemoteState.CANCELED and updates[4].reason == "DUPLICATE of 1234"
    assert updates[3].marker == "scf-test-3-1"


def test_poll_asks_for_ids_in_batches_of_the_configured_size(
    county: Callable[..., Integration], emulator: Open311Emulator
) -> None:
    integration = county(options={"ids_per_request": 2, "updates": "none"})
    ids = [plugin.submit(integration, issue(10 + n)).remote_id for n in range(5)]
    before = emulator.state.counts["GET requests"]
    updates = plugin.poll(integration, [Tracked(10 + n, rid) for n, rid in enumerate(ids)])
    assert emulator.state.counts["GET requests"] - before == 3
    assert all(u.state is RemoteState.OPEN for u in updates)


def test_doctor_checks_the_key(county: Callable[..., Integration]) -> None:
    host = host_for()
    assert host.check_connection(county()) == "5 services, api_key accepted"  # type: ignore[attr-defined]
    wrong = county(name="county-wrong", password=Secret("not-the-key-1234"))
    with pytest.raises(LoginRefused) as refused:
        host.check_connection(wrong)  # type: ignore[attr-defined]
    assert "Invalid api_key" in str(refused.value) and "not-the-key-1234" not in str(refused.value)


def test_the_options_are_checked(county: Callable[..., Integration]) -> None:
    # The plugin declares its options and the host checks them, each problem one line in the
    # host's words (config check puts the file and integrations.county before each).
    lines = host_for().check_integration(  # type: ignore[attr-defined]
        county(options={"fromat": "xml", "updates": "yes", "ids_per_request": 0})
    )
    text = "\n".join(lines)
    assert "fromat: unknown key; did you mean 'format'?" in text
    assert "updates: 'yes' is not valid; use one of mysociety, none" in text
    assert "ids_per_request: 0 is out of range; use a positive number" in text
    assert not any(line.startswith("integrations.") for line in lines)


# -- servers that misbehave -----------------------------------------------------------------


@pytest.fixture
def hostile(loopback: LoopbackServer) -> tuple[LoopbackServer, Integration]:
    return loopback, make_integration("open311", f"{loopback.url}/v2", name="hostile",
                                      password=Secret(KEY), options={"format": "xml"})  # fmt: skip


def test_single_item_xml_lists_and_string_booleans(hostile) -> None:  # type: ignore[no-untyped-def]
    server, integration = hostile
    server.route("GET", r"/v2/services\.xml", Reply(200, (
        b"<?xml version='1.0' encoding='utf-8'?><services><service><service_code>A</service_code>"
        b"<service_name>Alpha</service_name><metadata>True</metadata><type>realtime</type>"
        b"</service></services>"), {"Content-Type": "text/xml"}))  # fmt: skip
    server.route("GET", r"/v2/services/A\.xml", Reply(200, (
        b"<service_definition><service_code>A</service_code><attributes><attribute>"
        b"<variable>true</variable><code>k</code><datatype>singlevaluelist</datatype>"
        b"<required>TRUE</required><order>1</order><description>Kind:</description>"
        b"<values><value><key>x</key><name>Ex</name></value></values></attribute></attributes>"
        b"</service_definition>"), {"Content-Type": "text/xml"}))  # fmt: skip
    [rt] = plugin.list_request_types(integration)
    [q] = rt.questions
    assert (q.type, q.required, q.options, q.text) == ("choice", True, ("Ex",), "Kind")


def test_an_html_login_page_and_an_echoed_key_are_refused_cleanly(hostile) -> None:  # type: ignore[no-untyped-def]
    server, integration = hostile
    server.route("GET", r"/v2/services\.xml", Reply(200, b"<html>Sign in</html>",
                                                    {"Content-Type": "text/html"}))  # fmt: skip
    with pytest.raises(DefiniteError, match="HTML page"):
        plugin.list_request_types(integration)
    echo = (f"<errors><error><code>400</code><description>bad key {KEY}</description></error>"
            f"</errors>").encode()  # fmt: skip
    server.route("POST", r"/v2/requests\.xml", Reply(400, echo, {"Content-Type": "text/xml"}))
    with pytest.raises(DefiniteError) as refused:
        plugin.submit(integration, issue(20))
    assert "400: bad key ***" in str(refused.value) and KEY not in str(refused.value)


@pytest.mark.parametrize("body", [
    b"<service_requests><request><service_request_id/></request></service_requests>",
    b"<service_requests></service_requests>",
])  # fmt: skip
def test_a_create_answered_with_no_id_is_ambiguous_with_the_time_it_was_sent(hostile, body) -> None:  # type: ignore[no-untyped-def]
    server, integration = hostile
    server.route("POST", r"/v2/requests\.xml", Reply(200, body, {"Content-Type": "text/xml"}))
    with pytest.raises(AmbiguousError) as doubt:
        plugin.submit(integration, issue(21))
    assert doubt.value.plugin_state and "sent_at" in doubt.value.plugin_state


def test_the_look_up_after_doubt_searches_a_window_around_the_attempt(hostile) -> None:  # type: ignore[no-untyped-def]
    server, integration = hostile
    found = (b"<service_requests><request><service_request_id>88</service_request_id>"
             b"<description>Tag\n\n[scf-test-22-1]</description></request></service_requests>")  # fmt: skip
    server.route("GET", r"/v2/requests\.xml", Reply(200, found, {"Content-Type": "text/xml"}))
    retry = issue(22, submit_attempted=True, plugin_state={"sent_at": "2026-03-02T09:00:00Z"})
    again = plugin.submit(integration, retry)
    assert again.remote_id == "88" and not again.created
    query = dict(server.requests[-1].query)
    assert (query["start_date"], query["service_code"]) == ("2026-03-02T08:00:00Z", "GRAF")
    assert not any(r.method == "POST" for r in server.requests)


def test_unknown_statuses_and_odd_ids_never_break_a_batch(hostile) -> None:  # type: ignore[no-untyped-def]
    server, integration = hostile
    records = (b"<service_requests><request><service_request_id>5</service_request_id>"
               b"<status>in_progress</status><description>x [scf-a-1]</description></request>"
               b"</service_requests>")  # fmt: skip
    server.route("GET", r"/v2/requests\.xml", Reply(200, records, {"Content-Type": "text/xml"}))
    updates = {u.issue_id: u for u in plugin.poll(
        dataclasses.replace(integration, options={"format": "xml"}),
        [Tracked(1, "5"), Tracked(2, "6,7"), Tracked(3, "9")])}  # fmt: skip
    assert updates[1].state is RemoteState.OPEN and updates[1].status == "in_progress"
    assert updates[2].state is RemoteState.UNREADABLE
    assert updates[3].state is RemoteState.MISSING


def test_a_server_without_json_names_the_format_option(
    county: Callable[..., Integration], emulator: Open311Emulator
) -> None:
    emulator.state.xml_only = True
    with pytest.raises(DefiniteError, match='offers XML only, set format = "xml"'):
        plugin.list_request_types(county())
    assert plugin.list_request_types(county(name="county-xml", options={"format": "xml"}))
