"""What the host knows of a plugin's stand-in server, and of city staff working in it.

A plugin may start a stand-in of its remote system (an emulator, a fake geocoder) through the
``start_standin`` hook; ``scf demo`` runs on them. The host knows the object it gets back only
by the protocols here, so it never imports a plugin. :class:`Staff` is also what the contract
suite (:mod:`scf_plugins.testing.contract`) needs a plugin's tests to provide; it lives here,
without pytest, so the hook spec can name it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class Staff(Protocol):
    """What city staff do in the remote system, as the contract needs it.

    Two more methods are asked only of the plugins that need them, so they are not part of
    the protocol (a plugin without them still type-checks): ``cancel_reasons(remote_id) ->
    list[str]``, the reason of each time the request was cancelled through the API, oldest
    first (a plugin that cancels from here: ``cancel_request``); and ``process_pending() ->
    None``, the back office making every create accepted under a token (a plugin whose
    ``submit`` returns tokens, with a ``contract_pending_request_type``).
    """

    def close(self, remote_id: str, status: str) -> None:
        """Close the request with this (closed) status."""

    def cancel(self, remote_id: str, status: str) -> None:
        """Cancel the request with this (cancel) status."""

    def comment(self, remote_id: str, text: str, public: bool = False) -> None:
        """Add a staff comment to the request; ``public`` marks it for the public where the
        remote system has such a flag (``Capabilities.comment_audience`` ``"flag"`` or
        ``"both"``; the contract passes it only then), else it is ignored."""

    def set_field(self, remote_id: str, field: str, value: str) -> None:
        """Set a field of the request (the one the integration's activity rule watches)."""

    def requests_with(self, marker: str) -> int:
        """How many remote requests carry this issue marker (``Issue.marker``)."""

    def comment_texts(self, remote_id: str) -> list[str]:
        """The texts of every comment on the request."""

    def set_status(self, remote_id: str, status: str) -> None:
        """Give the request a status neither of the integration's status lists names."""

    def drop_next_answer(self) -> None:
        """Have the remote system carry out the next create but lose its answer (close the
        connection, or time out, after the request is stored)."""

    def calls(self) -> int:
        """How many calls (HTTP requests) the remote system has received so far."""

    def attachments(self, remote_id: str) -> list[bytes]:
        """The bytes of every file attached to the request (only asked of a plugin that
        takes photos: ``push_attachment`` and ``Capabilities.attachments``)."""


@dataclass(frozen=True)
class AttachedFile:
    """A file attached to a remote request, as city staff see it there."""

    id: str
    name: str  # the file name alone, without the server's folder
    content: bytes = field(repr=False)


class StandInStaff(Staff, Protocol):
    """City staff at a stand-in: everything :class:`Staff` does, a cancel that gives its
    reason, and the attached files with their remote ids and names (what ``scf demo`` shows)."""

    def cancel(self, remote_id: str, status: str, reason: str = "") -> None:
        """Cancel the request with this (cancel) status, saying why when the remote system
        keeps a reason."""

    def attached_files(self, remote_id: str) -> list[AttachedFile]:
        """Every file attached to the request, oldest first (empty when the remote system
        takes no files)."""


class StandIn(Protocol):
    """A stand-in server a plugin started (``start_standin``): it serves on a loopback port
    until the ``with`` block around it ends, which stops it and closes its connections."""

    @property
    def url(self) -> str:
        """What a config's ``url`` takes to reach it (an integration's or a geocoder's)."""

    @property
    def staff(self) -> StandInStaff | None:
        """City staff working in it; None for a stand-in that keeps no requests (a
        geocoder)."""

    def __enter__(self) -> StandIn:
        """Return the stand-in itself (it is already serving)."""

    def __exit__(self, *exc: object) -> None:
        """Stop serving and close every open connection."""
