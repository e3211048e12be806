"""Operator commands: retry what failed, correct an issue not yet sent, list by trouble, and
refuse points outside the service area."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scf_plugins.intake.area import from_config


def with_area(w: Any, value: str) -> None:
    text = w.path.read_text().replace(
        'bot_name = "Testville 311"', f'bot_name = "Testville 311"\nservice_area = {value}'
    )
    w.path.write_text(text)


def listed(w: Any, status: str) -> list[int]:
    result = w.cli("issues", "list", "--status", status, "--json")
    assert result.exit_code == 0, result.output
    return [row["id"] for row in json.loads(result.stdout)]


def test_retry_failing_clears_the_back_off_of_just_those(world: Any) -> None:
    w = world()
    a, b, c = (w.report(summary=f"n{n}") for n in range(3))
    w.emulator.state.inject("html", count=2, match="servicerequest/create")
    report = w.sync()
    assert report.errors == 2 and report.acknowledged == 1
    failing = listed(w, "failing")
    assert len(failing) == 2 and set(failing) < {a, b, c}
    assert all(w.show(i)["sync"]["next_attempt_at"] for i in failing)
    result = w.cli("issues", "retry", "--failing", "--integration", "cityworks")
    assert result.exit_code == 0, result.output
    assert "2 issue(s) and 0 comment(s) or photo(s) will be tried again" in result.output
    assert all(w.show(i)["sync"]["next_attempt_at"] is None for i in failing)
    w.later(seconds=31)  # the creates whose answers were lost are looked up, not re-sent
    assert w.sync().acknowledged == 2
    assert len(w.emulator.state.requests) == 3


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((), "give issue ids, or --failing, or --stuck"),
        (("1", "--failing"), "give issue ids, or --failing, or --stuck"),
        (("--failing", "--stuck"), "give issue ids, or --failing, or --stuck"),
        (("--stuck", "--integration", "nope"), "there is no integration 'nope'"),
        (("--failing",), "no issue is failing; nothing to retry"),
        (("999",), "none of these issues is Open and waiting to be sent"),
    ],
)
def test_retry_refuses_what_does_not_apply(world: Any, args: tuple[str, ...], says: str) -> None:
    w = world()
    result = w.cli("issues", "retry", *args)
    assert result.exit_code == 1 and says in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_edit_corrects_swapped_coordinates_before_the_issue_is_sent(world: Any) -> None:
    w = world()
    issue_id = w.report(lat="-72.9279", lng="41.3083")  # latitude and longitude swapped
    result = w.cli("issues", "edit", str(issue_id), "--lat", "41.3083", "--lng", "-72.9279",
                   "--answer", "502=Larger than a dinner plate")  # fmt: skip
    assert result.exit_code == 0, result.output
    shown = w.show(issue_id)
    assert (shown["lat"], shown["lng"]) == (41.3083, -72.9279)
    answers = {a["question_id"]: a["answer"] for a in shown["answers"]}
    assert answers["502"] == "Larger than a dinner plate" and answers["501"] == "Yes"
    bad = w.cli("issues", "edit", str(issue_id), "--lat", "91")
    assert bad.exit_code == 1 and "--lat 91.0 is out of range" in bad.output
    assert w.sync().acknowledged == 1
    linked = w.cli("issues", "edit", str(issue_id), "--lat", "41.31")
    assert linked.exit_code == 1 and "linked to remote request" in linked.output
    assert "only an issue not yet sent can be edited" in linked.output
    assert w.cli("issues", "edit", "999", "--lat", "1").exit_code == 1
    assert "nothing to change" in w.cli("issues", "edit", str(issue_id)).output


def test_edit_refuses_an_issue_whose_create_may_have_gone_through(world: Any) -> None:
    w = world()
    issue_id = w.report()
    w.emulator.state.inject("drop_after_commit", count=1, match="servicerequest/create")
    w.sync()
    result = w.cli("issues", "edit", str(issue_id), "--lat", "41.31")
    assert result.exit_code == 1 and "may already have reached the remote system" in result.output


def test_held_and_unrouted_filters(world: Any) -> None:
    w = world()
    issue_id = w.report()
    w.sync()
    w.emulator.state.staff("cancel", w.remote_id(issue_id))
    w.sync()
    assert listed(w, "unrouted") == [issue_id]
    assert listed(w, "held") == []


def test_a_point_outside_the_service_area_is_refused_with_the_likely_mistake(world: Any) -> None:
    w = world()
    with_area(w, "[-73.0, 41.2, -72.8, 41.4]")
    assert w.report() > 0  # inside
    swapped = w.cli("report", "--type", "POTHOLE", "--summary", "x", "--lat", "-72.9279",
                    "--lng", "41.3083", "--answer", "501=No", "--answer", "503=a@b.org")  # fmt: skip
    assert swapped.exit_code == 1
    assert "outside the service area" in swapped.output and "swap them" in swapped.output
    zero = w.cli("report", "--type", "POTHOLE", "--summary", "x", "--lat", "0", "--lng", "0",
                 "--answer", "501=No", "--answer", "503=a@b.org")  # fmt: skip
    assert zero.exit_code == 1 and "0,0 is what a form sends" in zero.output
    sign = w.cli("report", "--type", "POTHOLE", "--summary", "x", "--lat", "41.3",
                 "--lng", "72.9", "--answer", "501=No", "--answer", "503=a@b.org")  # fmt: skip
    assert sign.exit_code == 1 and "minus signs" in sign.output


def test_service_area_from_geojson_with_a_hole(tmp_path: Path) -> None:
    ring = [[-73.0, 41.2], [-72.8, 41.2], [-72.8, 41.4], [-73.0, 41.4], [-73.0, 41.2]]
    hole = [[-72.95, 41.25], [-72.85, 41.25], [-72.85, 41.35], [-72.95, 41.35], [-72.95, 41.25]]
    path = tmp_path / "city.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {},
         "geometry": {"type": "Polygon", "coordinates": [ring, hole]}}]}))  # fmt: skip
    area = from_config("city.geojson", tmp_path)
    assert area.contains(41.21, -72.99) and not area.contains(41.3, -72.9)
    assert area.contains(41.2, -72.9)  # on the edge
    for bad, says in [
        ([1, 2, 3], "four numbers"),
        ([10, 0, -10, 1], "min < max"),
        ("missing.geojson", "cannot read"),
        (5, "a box"),
    ]:
        with pytest.raises(ValueError, match=says):
            from_config(bad, tmp_path)
    (tmp_path / "empty.geojson").write_text('{"type": "Point", "coordinates": [0, 0]}')
    with pytest.raises(ValueError, match="no Polygon"):
        from_config("empty.geojson", tmp_path)


def test_request_types_are_refreshed_on_schedule_and_a_gone_type_keeps_its_issues(
    world: Any,
) -> None:
    w = world(extra="request_types_refresh_hours = 24")
    kept = w.report()  # loads the types; POTHOLE is offered
    engine = w.engine()
    engine.refresh_types_if_due()  # fresh: nothing to do
    w.emulator.state.problem(101)["Active"] = False  # POTHOLE withdrawn remotely
    engine.refresh_types_if_due()
    assert w.store().request_type("POTHOLE") is not None  # not due yet
    w.later(hours=25)
    w.engine().refresh_types_if_due()
    assert w.store().request_type("POTHOLE") is None
    refused = w.cli("report", "--type", "POTHOLE", "--summary", "x", "--lat", "41.3",
                    "--lng", "-72.9")  # fmt: skip
    assert refused.exit_code == 1 and "unknown request type 'POTHOLE'" in refused.output
    assert len(refused.output.strip().splitlines()) == 1
    assert w.show(kept)["status"] == "open"  # the open issue stays, and is still submitted


def test_comments_stay_here_where_the_remote_system_has_no_comment_api(
    run: Any, fake_host: Any
) -> None:
    from scf_plugins import Capabilities, hookimpl
    from scf_plugins.testing.fake import FakeRemote

    class NoComments(FakeRemote):
        @hookimpl
        def capabilities(self, integration: Any) -> Capabilities:
            return Capabilities(push_comments=False, pull_comments=False)

    host, _ = fake_host
    host.unregister("fake-a")
    plugin = NoComments("fake-a")
    host.register(plugin, "fake-a")
    made = run("report", "--type", "POTHOLE", "--summary", "x", "--lat", "41.3", "--lng", "-72.9",
               "--answer", "1=No", "--answer", "2=a@b.org", "--json")  # fmt: skip
    issue_id = json.loads(made.stdout)["id"]
    assert run("sync", "--once").exit_code == 0
    said = run("comment", str(issue_id), "Still there")
    assert said.exit_code == 0 and "it stays here: fake-a has no comment API" in said.output
    for _ in range(2):
        result = run("sync", "--once")
        assert result.exit_code == 0 and "out 0" in result.output
    assert not [c for c in plugin.calls if c[0] == "push_comment"]
    [comment] = [c for c in json.loads(run("issues", "show", str(issue_id), "--json").stdout)
                 ["comments"] if c["kind"] == "comment"]  # fmt: skip
    assert comment["kept_here"] == "kept here: fake-a has no comment API"
    shown = run("issues", "show", str(issue_id)).output
    assert "(kept here: fake-a has no comment API)" in shown


def test_a_plugin_warning_is_shown_but_does_not_disable_the_integration(
    run: Any, fake_host: Any
) -> None:
    from scf_plugins import CheckWarning, hookimpl
    from scf_plugins.testing.fake import FakeRemote

    class Warns(FakeRemote):
        @hookimpl
        def check_integration(self, integration: Any) -> list[str]:
            return [CheckWarning("max_concurrency: 4 may be more than this site allows")]

    host, _ = fake_host
    host.unregister("fake-a")
    host.register(Warns("fake-a"), "fake-a")
    checked = run("config", "check")
    assert checked.exit_code == 0, checked.output
    assert "warning:" in checked.stderr and "may be more than this site allows" in checked.stderr
    made = run("report", "--type", "POTHOLE", "--summary", "x", "--lat", "41.3", "--lng", "-72.9",
               "--answer", "1=No", "--answer", "2=a@b.org", "--json")  # fmt: skip
    issue_id = json.loads(made.stdout)["id"]
    assert "acknowledged 1" in run("sync", "--once").output
    assert json.loads(run("issues", "show", str(issue_id), "--json").stdout)["status"] == (
        "acknowledged"
    )
    doctor = run("doctor")
    assert "may be more than this site allows" in doctor.output
