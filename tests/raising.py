"""Plugins that fail on cue, for the tests of a loop that outlives them: a remote system
(``Raising``, the in-memory ``FakeRemote`` whose hooks raise what a test names) and a geocoder
(``RaisingGeocoder``), a config with a failing integration ``boom`` beside a healthy
``fine``, and ``main`` to run ``scf`` in a subprocess with them (``python raising.py ARGS``;
``SCF_TEST_RAISE="poll=KeyError,submit=ValueError"`` says what fails)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

from scf_plugins import (
    AddressCheck,
    Attachment,
    Comment,
    Geocoder,
    Integration,
    Issue,
    Pending,
    RemoteUpdate,
    RequestType,
    Resolution,
    Submission,
    Tracked,
    hookimpl,
)
from scf_plugins.testing import FakeRemote

HOOKS = ("submit", "poll", "push_comment", "push_attachment", "list_request_types",
         "resolve_pending", "validate_address", "check_integration")  # fmt: skip
RAISE_ENV = "SCF_TEST_RAISE"

# `boom` serves potholes through a plugin that fails on cue, `fine` graffiti through a
# healthy one; `boom` checks its addresses with a geocoder that fails on cue too.
CONFIG = """
[organization]
name = "City of Testville"

[integrations.boom]
plugin = "boom"
environment = "test"
request_types = ["POTHOLE"]
request_types_refresh_hours = 1
{boom}

[integrations.boom.test]
url = "http://127.0.0.1:9/boom"
user = "scf-int"

[integrations.fine]
plugin = "fine"
environment = "test"
request_types = ["GRAFFITI"]
poll_interval_seconds = 1

[integrations.fine.test]
url = "http://127.0.0.1:9/fine"
user = "scf-int"

[geocoders.geo]
plugin = "geo-boom"
url = "http://127.0.0.1:9/geocode"
{tail}
"""
POTHOLE = ("1=No", "2=r@example.org")


def nested(depth: int = 0) -> int:
    """What a reader of an answer nested without end does: recurse until Python stops it."""
    return nested(depth + 1) + 1


def make(kind: str) -> BaseException:
    """The exception a test names: ``RecursionError`` (a real one), ``KeyError`` or
    ``ValueError`` (as a plugin's reading of an answer it did not expect raises them)."""
    if kind == "RecursionError":
        try:
            nested()
        except RecursionError as exc:
            return exc
    if kind == "KeyError":
        return KeyError("Value")
    if kind == "ValueError":
        return ValueError("invalid literal for int() with base 10: 'n/a'")
    raise AssertionError(f"no such failure {kind!r}")


@dataclass
class Failing:
    """Which hooks raise what (hook name -> exception kind); a test changes it at will."""

    fail: dict[str, str] = field(default_factory=dict)

    def check(self, hook: str) -> None:
        """Raise what ``hook`` is set to raise, if anything."""
        kind = self.fail.get(hook)
        if kind is not None:
            raise make(kind)


@dataclass(eq=False)
class Raising(FakeRemote):
    """The in-memory remote system, each of its hooks raising on cue (``failing``), and
    taking photos."""

    failing: Failing = field(default_factory=Failing)
    photos: list[str] = field(default_factory=list)

    @hookimpl
    def list_request_types(self, integration: Integration) -> list[RequestType]:
        """The types, unless set to fail."""
        self.failing.check("list_request_types")
        return FakeRemote.list_request_types(self, integration)

    @hookimpl
    def submit(self, integration: Integration, issue: Issue) -> Submission:
        """Create, unless set to fail."""
        self.failing.check("submit")
        return FakeRemote.submit(self, integration, issue)

    @hookimpl
    def resolve_pending(self, integration: Integration, pending: list[Pending]) -> list[Resolution]:
        """Resolve tokens, unless set to fail."""
        self.failing.check("resolve_pending")
        return FakeRemote.resolve_pending(self, integration, pending)

    @hookimpl
    def poll(self, integration: Integration, tracked: list[Tracked]) -> list[RemoteUpdate]:
        """Read the requests, unless set to fail."""
        self.failing.check("poll")
        return FakeRemote.poll(self, integration, tracked)

    @hookimpl
    def push_comment(self, integration: Integration, issue: Issue, comment: Comment) -> str:
        """Add a comment, unless set to fail."""
        self.failing.check("push_comment")
        return FakeRemote.push_comment(self, integration, issue, comment)

    @hookimpl
    def push_attachment(
        self, integration: Integration, issue: Issue, attachment: Attachment
    ) -> str:
        """Keep a photo's name, unless set to fail."""
        self.failing.check("push_attachment")
        self.photos.append(attachment.filename)
        return f"photo-{len(self.photos)}"

    @hookimpl
    def check_integration(self, integration: Integration) -> list[str]:
        """Nothing to check, unless set to fail."""
        self.failing.check("check_integration")
        return []


@dataclass(eq=False)  # a plugin object is a key of pluggy's registry
class RaisingGeocoder:
    """A geocoder that accepts every address, unless set to fail."""

    failing: Failing = field(default_factory=Failing)

    @hookimpl
    def validate_address(self, geocoder: Geocoder, issue: Issue) -> AddressCheck | None:
        """Accept the reported point."""
        self.failing.check("validate_address")
        return AddressCheck(issue.address or "here", True, "1 MAIN ST", 99.0, issue.lat, issue.lng)


def register(host: Any, failing: Failing) -> tuple[Raising, FakeRemote, RaisingGeocoder]:
    """Register ``boom`` (failing on cue), ``fine`` and ``geo-boom`` (failing on cue) with
    ``host``; returns them."""
    boom, fine, geo = Raising("boom", failing=failing), FakeRemote("fine"), RaisingGeocoder(failing)
    host.register(boom, "boom")
    host.register(fine, "fine")
    host.register(geo, "geo-boom")
    return boom, fine, geo


def main(argv: list[str]) -> None:
    """``scf ARGV`` with these plugins only; ``SCF_TEST_RAISE`` says which hooks fail."""
    from scf_plugins.cli import cli
    from scf_plugins.cli.app import App
    from scf_plugins.plugins import build_manager

    wanted = os.environ.get(RAISE_ENV, "")
    failing = Failing(dict(pair.split("=", 1) for pair in wanted.split(",") if pair))
    host = build_manager(load_entry_points=False)
    register(host, failing)
    cli.main(args=argv, prog_name="scf", obj=App(host=host))


if __name__ == "__main__":
    main(sys.argv[1:])
