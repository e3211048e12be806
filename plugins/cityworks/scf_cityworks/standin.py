"""The Cityworks emulator as the host's stand-in (``start_standin``): serving on a free
loopback port, with city staff acting on its state directly."""

from __future__ import annotations

from collections.abc import Mapping

from scf_plugins import AttachedFile
from scf_plugins.testing.standins import ServerStandIn

from .emulator import Emulator, EmulatorState


class EmulatorStaff:
    """City staff in the emulator (a :class:`scf_plugins.StandInStaff`): what they do goes
    through the emulator's own staff actions, as ``scf emulator cityworks staff`` does."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def close(self, remote_id: str, status: str) -> None:
        """Close the request with this closed status."""
        self.state.staff("close", int(remote_id), status=status)

    def cancel(self, remote_id: str, status: str, reason: str = "") -> None:
        """Cancel the request with this cancel status and ``CancelReason``."""
        self.state.staff("cancel", int(remote_id), status=status, reason=reason)

    def comment(self, remote_id: str, text: str, public: bool = False) -> None:
        """Add a staff comment to the request (Cityworks comments have no public flag: the
        ``To SCF:`` prefix tells the resident's)."""
        self.state.staff("comment", int(remote_id), text=text)

    def set_field(self, remote_id: str, field: str, value: str) -> None:
        """Set a field of the request (``DispatchTo``, say)."""
        self.state.staff("set_field", int(remote_id), field=field, value=value)

    def requests_with(self, marker: str) -> int:
        """How many requests carry this marker in ``OtherSystemId``."""
        with self.state.lock:
            return sum(1 for r in self.state.requests.values() if r["OtherSystemId"] == marker)

    def comment_texts(self, remote_id: str) -> list[str]:
        """The texts of the request's comments, oldest first."""
        with self.state.lock:
            return [c["Comments"] for c in self.state.comments.get(int(remote_id), [])]

    def set_status(self, remote_id: str, status: str) -> None:
        """Give the request any status code."""
        self.state.staff("status", int(remote_id), status=status.upper())

    def drop_next_answer(self) -> None:
        """Store the next created request but drop the connection before answering."""
        self.state.inject("drop_after_commit", match="servicerequest/create")

    def calls(self) -> int:
        """How many API calls the emulator has answered."""
        with self.state.lock:
            return sum(self.state.counts.values())

    def cancel_reasons(self, remote_id: str) -> list[str]:
        """The ``CancelReason`` of each time the request was cancelled, oldest first."""
        with self.state.lock:
            return list(self.state.cancellations.get(int(remote_id), []))

    def attachments(self, remote_id: str) -> list[bytes]:
        """The bytes of every file attached to the request."""
        return [f.content for f in self.attached_files(remote_id)]

    def attached_files(self, remote_id: str) -> list[AttachedFile]:
        """Every file attached to the request, named as uploaded (without the server's
        folder that ``Attachment`` carries)."""
        with self.state.lock:
            return [
                AttachedFile(
                    id=str(record["Id"]),
                    name=str(record["Attachment"]).rsplit("\\", 1)[-1],
                    content=self.state.attachment_files.get(record["Id"], b""),
                )
                for record in self.state.attachments.get(int(remote_id), [])
            ]


class EmulatorStandIn(ServerStandIn):
    """A running emulator, as a :class:`scf_plugins.StandIn`; leaving ``with`` stops it."""

    def __init__(self, users: Mapping[str, str]) -> None:
        # No logins asked for: the emulator's own default one (scf-int), as `scf emulator`.
        state = EmulatorState(users=dict(users)) if users else EmulatorState()
        super().__init__(Emulator(state).start(), EmulatorStaff(state))
