"""The Open311 emulator as the host's stand-in (``start_standin``): serving on a free
loopback port, with city staff acting on its state directly."""

from __future__ import annotations

from collections.abc import Mapping

from scf_plugins import AttachedFile
from scf_plugins.testing.standins import ServerStandIn

from .emulator import EmulatorState, Open311Emulator


class EmulatorStaff:
    """City staff in the emulator (a :class:`scf_plugins.StandInStaff`). GeoReport has one
    closed status; what staff write in ``status_notes`` tells a cancellation (an integration's
    ``cancel_notes``) from a close."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def close(self, remote_id: str, status: str) -> None:
        """Close the request (``status_notes`` "Fixed"; GeoReport has no other closed status)."""
        self.state.staff("close", remote_id)

    def cancel(self, remote_id: str, status: str, reason: str = "") -> None:
        """Close the request with ``status`` (and the reason) as its notes, so a
        ``cancel_notes`` phrase naming the status makes it a cancellation."""
        self.state.staff("cancel", remote_id, notes=f"{status}: {reason}" if reason else status)

    def comment(self, remote_id: str, text: str, public: bool = False) -> None:
        """Post a staff update on the request (updates have no public flag: the ``To SCF:``
        prefix tells the resident's)."""
        self.state.staff("comment", remote_id, text=text)

    def set_field(self, remote_id: str, field: str, value: str) -> None:
        """Set a field of the request record."""
        self.state.staff("set_field", remote_id, field=field, value=value)

    def requests_with(self, marker: str) -> int:
        """How many requests (made or queued) carry the marker in their description."""
        return self.state.with_marker(f"[{marker}]")

    def comment_texts(self, remote_id: str) -> list[str]:
        """The texts of the request's updates, oldest first."""
        with self.state.lock:
            return [u["description"] for u in self.state.updates
                    if u["service_request_id"] == remote_id]  # fmt: skip

    def set_status(self, remote_id: str, status: str) -> None:
        """Give the request any raw status."""
        self.state.staff("status", remote_id, status=status)

    def process_pending(self) -> None:
        """The back office makes every request accepted under a token (the batch service's);
        the contract asks it of a plugin whose creates can wait under a token."""
        self.state.process_batch()

    def drop_next_answer(self) -> None:
        """Store the next created request but drop the connection before answering."""
        self.state.inject("drop_after_commit", match="requests")

    def calls(self) -> int:
        """How many calls the emulator has answered."""
        with self.state.lock:
            return sum(self.state.counts.values())

    def attachments(self, remote_id: str) -> list[bytes]:
        """None: GeoReport takes a ``media_url``, not files."""
        return []

    def attached_files(self, remote_id: str) -> list[AttachedFile]:
        """None: GeoReport takes a ``media_url``, not files."""
        return []


class EmulatorStandIn(ServerStandIn):
    """A running Open311 emulator, as a :class:`scf_plugins.StandIn`; leaving ``with`` stops
    it."""

    def __init__(self, users: Mapping[str, str]) -> None:
        # GeoReport knows API keys, not logins: each password is a key it accepts.
        state = EmulatorState(api_keys=set(users.values())) if users else EmulatorState()
        super().__init__(Open311Emulator(state).start(), EmulatorStaff(state))
