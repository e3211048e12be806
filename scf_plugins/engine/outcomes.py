"""What a sync pass reports, and how it reads the errors it meets."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import AmbiguousError, ScfError, TransientError
from ..intake.sanitize import clean
from ..net.redaction import redact


@dataclass
class PassReport:
    """What one pass did; ``errors`` counts every failed remote operation."""

    submitted: int = 0
    acknowledged: int = 0
    closed: int = 0
    cancelled: int = 0
    activity: int = 0
    comments_in: int = 0
    comments_out: int = 0
    archived: int = 0
    held: int = 0
    errors: int = 0
    polled: int = 0
    pending: int = 0  # creates accepted under a token, their remote id still to come
    photos_out: int = 0
    photos_purged: int = 0  # photos whose bytes were deleted under [images] purge_after_days
    emails: int = 0  # notifications emailed to residents
    contacts_purged: int = 0  # issues whose reporter's details went ([privacy])
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def busy(self) -> bool:
        """Whether the pass did anything, or met an error (worth a line in a long run)."""
        return bool(
            self.submitted or self.acknowledged or self.closed or self.cancelled
            or self.activity or self.comments_in or self.comments_out or self.archived
            or self.held or self.errors or self.polled or self.pending or self.photos_out
            or self.photos_purged or self.emails or self.contacts_purged
        )  # fmt: skip

    def fields(self) -> dict[str, int | float]:
        """The counts, as structured log fields."""
        return {
            "submitted": self.submitted, "acknowledged": self.acknowledged,
            "closed": self.closed, "cancelled": self.cancelled, "activity": self.activity,
            "comments_in": self.comments_in, "comments_out": self.comments_out,
            "archived": self.archived, "held": self.held, "errors": self.errors,
            "polled": self.polled, "pending": self.pending, "photos_out": self.photos_out,
            "photos_purged": self.photos_purged, "emails": self.emails,
            "contacts_purged": self.contacts_purged, "seconds": round(self.seconds, 3),
        }  # fmt: skip

    def summary(self) -> str:
        """One line for a log or a terminal."""
        return (
            f"submitted {self.submitted}, "
            + (f"pending {self.pending}, " if self.pending else "")
            + f"acknowledged {self.acknowledged}, closed "
            f"{self.closed}, cancelled {self.cancelled}, comments in {self.comments_in} "
            f"out {self.comments_out}, "
            + (f"photos out {self.photos_out}, " if self.photos_out else "")
            + (f"emails {self.emails}, " if self.emails else "")
            + f"archived {self.archived}, "
            + (f"photos purged {self.photos_purged}, " if self.photos_purged else "")
            + (f"contacts purged {self.contacts_purged}, " if self.contacts_purged else "")
            + f"errors {self.errors} "
            f"({self.seconds:.2f} s)"
        )


def error_kind(exc: BaseException) -> str:
    """``ambiguous``, ``transient`` or ``definite``: what the retry rules go by."""
    if isinstance(exc, AmbiguousError):
        return "ambiguous"
    if isinstance(exc, TransientError):
        return "transient"
    return "definite"  # refused, misconfigured, or a plugin bug: retry slowly


def uncertain(exc: BaseException) -> bool:
    """Whether the remote call may have been carried out (so the retry must look first)."""
    return isinstance(exc, AmbiguousError) or not isinstance(exc, ScfError)


def describe(exc: BaseException) -> str:
    """One redacted line for an error; a plugin's unexpected exception is named as such."""
    text = (
        str(exc)
        if isinstance(exc, ScfError)
        else (f"unexpected {type(exc).__name__} in the plugin: {exc}")
    )
    return clean(redact(text), 2000)
