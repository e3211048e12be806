"""The Accela emulator as the host's stand-in (``start_standin``): serving on a free loopback
port, with city staff acting on its state directly."""

from __future__ import annotations

from collections.abc import Mapping

from scf_plugins import AttachedFile
from scf_plugins.testing.standins import ServerStandIn

from .emulator import AccelaEmulator, AgencyState

APP_ID = "scf-app"  # the application the emulator knows when it is not told of another


class EmulatorStaff:
    """City staff in the emulator (a :class:`scf_plugins.StandInStaff`): what they do goes
    through the emulator's own staff actions, as ``scf emulator accela staff`` does."""

    def __init__(self, state: AgencyState) -> None:
        self.state = state

    def close(self, remote_id: str, status: str) -> None:
        """Close the record with this status value (its status type CLOSED or COMPLETE)."""
        self.state.staff("close", remote_id, status=status)

    def cancel(self, remote_id: str, status: str, reason: str = "") -> None:
        """Void the record with this status value (status type VOID) and ``statusReason``."""
        self.state.staff("void", remote_id, status=status, reason=reason)

    def comment(self, remote_id: str, text: str, public: bool = False) -> None:
        """Add a staff comment to the record (Accela's v4 comments have no public flag: the
        ``To SCF:`` prefix tells the resident's, so ``public`` changes nothing)."""
        self.state.staff("comment", remote_id, text=text)

    def cancel_reasons(self, remote_id: str) -> list[str]:
        """The ``statusReason`` of each time a client voided the record, oldest first."""
        with self.state.lock:
            return list(self.state.cancellations.get(remote_id, []))

    def set_field(self, remote_id: str, field: str, value: str) -> None:
        """Set a top-level field of the record (``assignedUser``, say)."""
        self.state.staff("set_field", remote_id, field=field, value=value)

    def requests_with(self, marker: str) -> int:
        """How many records carry this marker in ``shortNotes``."""
        return self.state.with_marker(marker)

    def comment_texts(self, remote_id: str) -> list[str]:
        """The texts of the record's comments, oldest first."""
        return [str(c["text"]) for c in self.state.comments_of(remote_id)]

    def set_status(self, remote_id: str, status: str) -> None:
        """Give the record any status value (typed as the agency configures it, else OPEN)."""
        self.state.staff("status", remote_id, status=status)

    def drop_next_answer(self) -> None:
        """Create the next record but drop the connection before answering."""
        self.state.inject("drop_after_commit", match="post /v4/records ")

    def calls(self) -> int:
        """How many calls the emulator has answered (token requests included)."""
        with self.state.lock:
            return sum(self.state.counts.values())

    def attachments(self, remote_id: str) -> list[bytes]:
        """The bytes of every document on the record."""
        return [f.content for f in self.attached_files(remote_id)]

    def attached_files(self, remote_id: str) -> list[AttachedFile]:
        """Every document on the record, oldest first, named as uploaded."""
        with self.state.lock:
            return [
                AttachedFile(str(d["id"]), str(d["fileName"]), self.state.files.get(d["id"], b""))
                for d in self.state.documents_of(remote_id)
            ]


class EmulatorStandIn(ServerStandIn):
    """A running Accela emulator, as a :class:`scf_plugins.StandIn`; leaving ``with`` stops
    it. Its application is ``scf-app``, secret ``emulator-secret``; agency ``ISLANDTON``."""

    def __init__(self, users: Mapping[str, str]) -> None:
        # No logins asked for: the emulator's own default one (scf-int), as `scf emulator`.
        state = AgencyState(users=dict(users)) if users else AgencyState()
        super().__init__(AccelaEmulator(state).start(), EmulatorStaff(state))
