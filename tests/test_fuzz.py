"""Bad input, fuzzed: every case ends in a clear error or a recorded one, never a traceback."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scf_plugins import ScfError, Tracked
from scf_plugins.config.settings import check_config

# Derandomized: the same examples on every run, so CI is deterministic (the examples still
# cover each strategy broadly; raise max_examples locally to search deeper).
FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
texts = st.text(max_size=60) | st.sampled_from(["", "   ", "x" * 6000, "\x00", "a\nb", "é😀"])
json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)


def count(run) -> int:  # type: ignore[no-untyped-def]
    return len(json.loads(run("issues", "list", "--json").stdout))


@FUZZ
@given(
    summary=texts,
    description=texts,
    lat=st.floats(),
    lng=st.floats(),
    email=st.none() | texts,
    image=st.none() | texts,
    answers=st.lists(
        st.tuples(st.sampled_from(["1", "2", "3", "4", "5", "9", ""]), texts), max_size=6
    ),
)
def test_report_arguments(run, summary, description, lat, lng, email, image, answers) -> None:  # type: ignore[no-untyped-def]
    before = count(run)
    args = [
        "report",
        "--type",
        "POTHOLE",
        "--summary",
        summary,
        "--description",
        description,
        "--lat",
        repr(lat),
        "--lng",
        repr(lng),
        "--json",
    ]
    if email is not None:
        args += ["--email", email]
    if image is not None:
        args += ["--image-url", image]
    for qid, value in answers:
        args += ["--answer", f"{qid}={value}"]
    result = run(*args)
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if result.exit_code == 0:
        issue_id = json.loads(result.stdout)["id"]
        shown = json.loads(run("issues", "show", str(issue_id), "--json").stdout)
        assert shown["summary"] == summary.strip()
        assert math.isfinite(shown["lat"]) and -90 <= shown["lat"] <= 90
        assert count(run) == before + 1
    else:
        assert result.output.strip().count("\n") <= 2  # click usage errors take 3 lines
        assert count(run) == before


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if math.isfinite(value) else "nan"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"


toml_values = st.recursive(
    st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False)
    | st.text(max_size=15),
    lambda c: (
        st.lists(c, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "COMPLETE"]), c, max_size=2)
    ),
    max_leaves=6,
)
INTEGRATION_KEYS = [
    "plugin",
    "environment",
    "version",
    "srid",
    "closed_statuses",
    "cancel_statuses",
    "request_types",
    "address_validation",
    "timezone",
    "poll_batch_size",
    "max_concurrency",
    "timeout_seconds",
    "verify_tls",
    "ca_bundle",
    "messages",
    "activity",
    "custom_fields",
    "colour",
    "token",
]


@FUZZ
@given(
    org=st.dictionaries(
        st.sampled_from(
            ["name", "bot_name", "archive_after_days", "private_keywords", "database", "x"]
        ),
        toml_values,
        max_size=4,
    ),
    integration=st.dictionaries(st.sampled_from(INTEGRATION_KEYS), toml_values, max_size=8),
    endpoint=st.dictionaries(
        st.sampled_from(["url", "user", "password", "verify_tls"]), toml_values, max_size=3
    ),
)
def test_config_files(tmp_path: Path, org, integration, endpoint) -> None:  # type: ignore[no-untyped-def]
    lines = ["[organization]"] + [f"{k} = {_toml(v)}" for k, v in org.items()]
    lines += ["[integrations.cw]"] + [f"{k} = {_toml(v)}" for k, v in integration.items()]
    lines += ["[integrations.cw.test]"] + [f"{k} = {_toml(v)}" for k, v in endpoint.items()]
    path = tmp_path / "fuzz.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    settings_, problems = check_config(path, resolve_secrets=False)
    for problem in problems:
        assert problem.startswith(str(path)) and "\n" not in problem
    assert (settings_ is None) == bool(problems)


@FUZZ
@given(qa=json_values)
def test_qa_payloads(qa) -> None:  # type: ignore[no-untyped-def]
    from scf_cityworks.mapping import questions_from_qa

    if not isinstance(qa, dict):
        qa = {"Questions": qa, "Answers": qa}
    for question in questions_from_qa(qa, "FUZZ"):
        assert question.type in ("text", "choice", "date")


@FUZZ
@given(request=json_values, comments=json_values)
def test_request_payloads(make_cw_integration, request, comments) -> None:  # type: ignore[no-untyped-def]
    from scf_cityworks.mapping import update_from

    request = request if isinstance(request, dict) else None
    comments = comments if isinstance(comments, list) else []
    update = update_from(Tracked(1, "5"), request, comments, make_cw_integration)
    assert update.issue_id == 1


@pytest.fixture
def make_cw_integration():  # type: ignore[no-untyped-def]
    from scf_plugins import Integration, Secret

    return Integration(
        name="cw",
        plugin="cityworks",
        environment="test",
        url="http://127.0.0.1:9/Cityworks/Services/AMS",
        user="u",
        password=Secret("pw-123456"),
        options={"version": "15.8", "srid": 3857},
        closed_statuses=("CLOSED",),
        cancel_statuses=("CANCEL",),
    )


@FUZZ
@given(body=json_values, by_ids=json_values, comments=json_values)
def test_poll_survives_any_answer(
    requests_mock, make_cw_integration, body, by_ids, comments
) -> None:  # type: ignore[no-untyped-def]
    from scf_cityworks import plugin

    from scf_plugins.resources import close_resources

    close_resources()  # each example logs in afresh
    site = "http://127.0.0.1:9/Cityworks/Services/"
    requests_mock.post(
        site + "General/Authentication/Authenticate",
        json={"Status": 0, "Value": {"Token": "tok-fuzz-1"}},
    )
    requests_mock.post(
        site + "Ams/ServiceRequest/ByIds",
        json=body if isinstance(body, dict) else {"Status": 0, "Value": by_ids},
    )
    requests_mock.post(site + "Ams/Comment/ByActivitySids", json={"Status": 0, "Value": comments})
    tracked = [Tracked(1, "5"), Tracked(2, "6")]
    try:
        updates = plugin.poll(integration=make_cw_integration, tracked=tracked)
    except ScfError:
        return
    assert sorted(u.issue_id for u in updates) == [1, 2]


@FUZZ
@given(candidates=json_values)
def test_geocoder_candidates(candidates) -> None:  # type: ignore[no-untyped-def]
    from scf_arcgis.plugin import judge

    from scf_plugins import Geocoder

    geocoder = Geocoder(name="g", plugin="arcgis", url="http://127.0.0.1:9/x/GeocodeServer")
    items = candidates if isinstance(candidates, list) else [candidates]
    check = judge(items, 4326, geocoder, "1 Main St")
    assert check.accepted in (True, False)
