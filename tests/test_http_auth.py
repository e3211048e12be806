"""The HTTP client's JSON bodies and ``auth`` hook, and the OAuth2 tokens that fill it:
grants, refresh before expiry, a new login when the refresh is refused, one re-login and one
retry on a 401, one token per integration in a process, never a token in a log or error."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Mapping
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import requests_mock
from freezegun import freeze_time

from scf_plugins import (
    DefiniteError,
    HttpClient,
    HttpPolicy,
    LoginRefused,
    OAuth2,
    Secret,
    TransientError,
)
from scf_plugins.net.oauth2 import forget_tokens

API = "https://api.example.test/v1"
TOKEN_URL = "https://auth.example.test/oauth2/token"
PASSWORD = "Oauth-Pass-2291"
APP_SECRET = "App-Secret-6612"


@pytest.fixture(autouse=True)
def _no_tokens_kept() -> Iterator[None]:
    # The tokens are process-wide by design; each test starts with none.
    forget_tokens()
    yield
    forget_tokens()


def client(**kwargs: object) -> HttpClient:
    return HttpClient("permits", API, True, HttpPolicy(timeout=5.0), system="Acme", **kwargs)  # type: ignore[arg-type]


def oauth(http: HttpClient, **kwargs: object) -> OAuth2:
    fields: dict[str, object] = {
        "grant": "password", "client_id": "app-1", "client_secret": Secret(APP_SECRET),
        "user": "scf-int", "password": Secret(PASSWORD), "scope": "records",
    }  # fmt: skip
    fields.update(kwargs)
    auth = OAuth2(http, "permits", TOKEN_URL, **fields)  # type: ignore[arg-type]
    http.auth = auth
    return auth


def form(request: object) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.text).items()}  # type: ignore[attr-defined]


def tokens(*answers: Mapping[str, object]) -> list[dict[str, object]]:
    return [{"json": dict(a), "status_code": 200} for a in answers]


def test_json_bodies_go_as_json_and_not_with_form_fields() -> None:
    http = client()
    with requests_mock.Mocker() as m:
        m.post(f"{API}/records", json={"result": {"id": "R-1"}})
        answer = http.request("POST", f"{API}/records", what="create", idempotent=False,
                              json={"name": "Pothole", "when": None, "n": [1, 2]})  # fmt: skip
        sent = m.request_history[0]
        assert sent.headers["Content-Type"] == "application/json"
        assert json.loads(sent.body) == {"name": "Pothole", "when": None, "n": [1, 2]}
        assert answer.json() == {"result": {"id": "R-1"}}
        m.post(f"{API}/null", json={})
        http.request("POST", f"{API}/null", what="null", idempotent=True, json=None)
        assert m.request_history[1].body == b"null"
    with pytest.raises(TypeError, match="json alone"):
        http.request("POST", f"{API}/x", what="x", idempotent=True, json={}, data={"a": "1"})


class Counting:
    """An HttpAuth that counts how often it is asked and told of a refusal."""

    def __init__(self) -> None:
        self.version = 1
        self.refusals: list[Mapping[str, str]] = []

    def headers(self) -> Mapping[str, str]:
        return {"Authorization": f"key-{self.version}"}

    def refused(self, sent: Mapping[str, str]) -> None:
        self.refusals.append(sent)
        self.version += 1


def test_a_401_renews_the_credentials_once_and_retries_once_even_a_change() -> None:
    auth = Counting()
    http = client(auth=auth)
    with requests_mock.Mocker() as m:
        m.post(f"{API}/records", [{"status_code": 401, "json": {"code": "token_expired"}},
                                  {"status_code": 200, "json": {"id": 7}}])  # fmt: skip
        answer = http.request("POST", f"{API}/records", what="create", idempotent=False,
                              json={"a": 1})  # fmt: skip
        assert answer.json() == {"id": 7}
        assert [r.headers["Authorization"] for r in m.request_history] == ["key-1", "key-2"]
        assert auth.refusals == [{"Authorization": "key-1"}]
        # Refused again after the renewal: the credentials are wrong, said once.
        m.get(f"{API}/records", status_code=401, json={"code": "unauthorized_app"})
        with pytest.raises(LoginRefused, match="again after they were renewed"):
            http.request("GET", f"{API}/records", what="read", idempotent=True)
        assert m.call_count == 4 and len(auth.refusals) == 2
        # A call made without the client's auth carries none, and a 401 comes back as is.
        m.get(f"{API}/public", status_code=401)
        assert http.request("GET", f"{API}/public", what="public", idempotent=True,
                            auth=False).status == 401  # fmt: skip
        assert "Authorization" not in m.request_history[-1].headers


def test_a_401_is_logged_refused_not_ok(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="scf_plugins.net.http")
    with requests_mock.Mocker() as m:
        m.get(f"{API}/x", status_code=401)
        client().request("GET", f"{API}/x", what="read", idempotent=True)
    assert [getattr(r, "outcome", None) for r in caplog.records] == ["refused"]


def test_the_password_grant_sends_the_account_and_the_token_as_asked() -> None:
    http = client()
    auth = oauth(http, form={"agency_name": "ISLANDTON", "environment": "TEST"},
                 token_headers={"x-accela-appid": "app-1"},
                 authorization=lambda t: {"Authorization": t, "x-accela-agency": "ISLANDTON"})  # fmt: skip
    with requests_mock.Mocker() as m:
        m.post(TOKEN_URL, json={"access_token": "tok-A", "token_type": "bearer",
                                "expires_in": "900", "refresh_token": "ref-A"})  # fmt: skip
        m.get(f"{API}/records", json={"result": []})
        http.request("GET", f"{API}/records", what="read", idempotent=True)
        http.request("GET", f"{API}/records", what="read", idempotent=True)
        login = m.request_history[0]
        assert form(login) == {
            "grant_type": "password", "username": "scf-int", "password": PASSWORD,
            "client_id": "app-1", "client_secret": APP_SECRET, "scope": "records",
            "agency_name": "ISLANDTON", "environment": "TEST",
        }  # fmt: skip
        assert login.headers["x-accela-appid"] == "app-1"
        assert "Authorization" not in login.headers
        calls = m.request_history[1:]
        assert [c.headers["Authorization"] for c in calls] == ["tok-A", "tok-A"]
        assert calls[0].headers["x-accela-agency"] == "ISLANDTON"
    assert auth.logins == 1


def test_the_client_credentials_grant_with_basic_client_authentication() -> None:
    http = client()
    oauth(http, grant="client_credentials", user="", password=None, client_auth="basic")
    with requests_mock.Mocker() as m:
        m.post(TOKEN_URL, json={"access_token": "tok-C", "expires_in": 3600})
        m.get(f"{API}/x", json={})
        http.request("GET", f"{API}/x", what="read", idempotent=True)
        login = m.request_history[0]
        assert form(login) == {"grant_type": "client_credentials", "scope": "records"}
        assert login.headers["Authorization"].startswith("Basic ")
        assert m.request_history[1].headers["Authorization"] == "Bearer tok-C"


def test_a_token_is_refreshed_before_it_runs_out_and_a_refused_refresh_logs_in_again() -> None:
    http = client()
    auth = oauth(http)
    with freeze_time("2026-03-01 09:00:00") as clock, requests_mock.Mocker() as m:
        m.post(TOKEN_URL, [
            *tokens({"access_token": "tok-1", "expires_in": "900", "refresh_token": "ref-1"},
                    {"access_token": "tok-2", "expires_in": 900, "refresh_token": "ref-2"}),
            {"status_code": 400, "json": {"error": "invalid_grant"}},
            *tokens({"access_token": "tok-3", "expires_in": 900, "refresh_token": "ref-3"}),
        ])  # fmt: skip
        m.get(f"{API}/x", json={})

        def call() -> str:
            http.request("GET", f"{API}/x", what="read", idempotent=True)
            return str(m.request_history[-1].headers["Authorization"])

        assert call() == "Bearer tok-1"
        clock.tick(timedelta(minutes=13))  # 2 minutes left: still good (60 s margin)
        assert call() == "Bearer tok-1"
        clock.tick(timedelta(seconds=70))  # within the margin: refreshed first
        assert call() == "Bearer tok-2"
        refresh = form(m.request_history[-2])
        assert refresh["grant_type"] == "refresh_token" and refresh["refresh_token"] == "ref-1"
        clock.tick(timedelta(hours=9))  # the refresh token lapsed: refused, then a login
        assert call() == "Bearer tok-3"
        grants = [form(r)["grant_type"] for r in m.request_history if r.url == TOKEN_URL]
        assert grants == ["password", "refresh_token", "refresh_token", "password"]
    assert auth.logins == 2


def test_a_401_mid_pass_takes_one_renewal_and_the_call_goes_through() -> None:
    http = client()
    auth = oauth(http)
    with requests_mock.Mocker() as m:
        m.post(TOKEN_URL, tokens({"access_token": "old", "expires_in": 900},
                                 {"access_token": "new", "expires_in": 900}))  # fmt: skip
        m.post(f"{API}/records", [{"status_code": 401, "json": {"code": "token_expired"}},
                                  {"status_code": 200, "json": {"id": 1}}])  # fmt: skip
        assert http.request("POST", f"{API}/records", what="create", idempotent=False,
                            json={}).json() == {"id": 1}  # fmt: skip
        auths = [r.headers.get("Authorization") for r in m.request_history]
        assert auths == [None, "Bearer old", None, "Bearer new"]
    assert auth.logins == 2  # no refresh token was given: a new login


def test_one_token_per_integration_in_a_process_whatever_the_threads_and_clients() -> None:
    first, second = client(), client()
    auth = oauth(first)
    oauth(second)  # a client rebuilt for the same integration and credentials
    with requests_mock.Mocker() as m:
        m.post(TOKEN_URL, json={"access_token": "shared", "expires_in": 900})
        m.get(f"{API}/x", json={})
        threads = [
            threading.Thread(target=http.request, args=("GET", f"{API}/x"),
                             kwargs={"what": "read", "idempotent": True})
            for http in [first, second] * 8
        ]  # fmt: skip
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        assert sum(r.url == TOKEN_URL for r in m.request_history) == 1
        assert {r.headers.get("Authorization") for r in m.request_history[1:]} == {"Bearer shared"}
    assert auth.logins == 1
    other = client()
    oauth(other, password=Secret("Another-Pass-1"))  # other credentials: a token of their own
    with requests_mock.Mocker() as m:
        m.post(TOKEN_URL, json={"access_token": "theirs", "expires_in": 900})
        m.get(f"{API}/x", json={})
        other.request("GET", f"{API}/x", what="read", idempotent=True)
        assert m.request_history[-1].headers["Authorization"] == "Bearer theirs"


@pytest.mark.parametrize(
    ("answer", "kind", "text"),
    [
        ({"status_code": 400, "json": {"error": "invalid_request",
                                       "error_description": "Invalid user name or password."}},
         LoginRefused, "invalid_request"),
        ({"status_code": 200, "json": {"token_type": "bearer"}}, DefiniteError, "without an access_token"),
        ({"status_code": 200, "text": "<html>login</html>"}, DefiniteError, "without an access_token"),
        ({"status_code": 503, "text": "busy"}, TransientError, "unavailable"),
        ({"status_code": 404, "text": "nope"}, LoginRefused, "not a token endpoint"),
    ],
)  # fmt: skip
def test_token_endpoint_failures_become_the_host_kinds(
    answer: dict[str, object], kind: type[Exception], text: str
) -> None:
    http = client()
    oauth(http)
    with requests_mock.Mocker() as m:
        m.post(TOKEN_URL, **answer)  # type: ignore[arg-type]
        m.get(f"{API}/x", json={})
        with pytest.raises(kind, match=text):
            http.request("GET", f"{API}/x", what="read", idempotent=True)
        assert m.call_count == 1  # no call went out without a token


def test_no_token_password_or_secret_in_a_log_or_an_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    http = client()
    auth = oauth(http)
    shown: list[str] = []
    with requests_mock.Mocker() as m:
        m.post(TOKEN_URL, [
            *tokens({"access_token": "Tok-Secret-7781", "expires_in": 900,
                     "refresh_token": "Ref-Secret-4410"}),
            {"status_code": 401, "json": {"error": "invalid_client"}},
        ])  # fmt: skip
        m.get(f"{API}/x", status_code=401)
        for attempt in (lambda: http.request("GET", f"{API}/x", what="read", idempotent=True),
                        auth.login):  # fmt: skip
            try:
                attempt()
            except LoginRefused as exc:
                shown += [str(exc), repr(exc)]
    assert len(shown) == 4
    shown += [r.getMessage() for r in caplog.records]
    shown += [json.dumps(r.__dict__, default=str) for r in caplog.records]
    for secret in ("Tok-Secret-7781", "Ref-Secret-4410", PASSWORD, APP_SECRET):
        assert not any(secret in line for line in shown), secret


def test_a_password_grant_without_a_password_says_how_to_store_it() -> None:
    http = client()
    oauth(http, password=None)
    with requests_mock.Mocker() as m:
        with pytest.raises(LoginRefused, match="scf credentials set"):
            http.request("GET", f"{API}/x", what="read", idempotent=True)
        assert m.call_count == 0
