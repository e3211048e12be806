"""Values that cross the hook boundary: frozen dataclasses, no dicts of dicts.

Plugins receive and return these; the host stores them. Everything here is immutable so a
plugin can cache it, and hashable-friendly tuples stand where lists would be mutable.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal, Protocol

from .errors import ConfigError, TransientError

QuestionType = Literal["text", "choice", "date", "number", "multichoice", "datetime", "info"]
# The types that take one of ``Question.options`` (``multichoice``: several, one answer each).
CHOICE_TYPES = frozenset({"choice", "multichoice"})
CommentKind = Literal["comment", "system", "remote"]
# How a remote system's comments meant for the resident are told from the crews' own:
# "prefix" (they start with the pull prefix, ``To SCF:``), "flag" (the system marks them
# public), "both" (flagged public and prefixed).
CommentAudience = Literal["prefix", "flag", "both"]


class Status(StrEnum):
    """Local issue status; the values are the JSON strings of ``scf issues show --json``."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"
    ARCHIVED = "archived"


class RemoteState(StrEnum):
    """How the host reads a remote status, after the integration's status lists applied."""

    OPEN = "open"
    CLOSED = "closed"
    CANCELED = "canceled"
    MISSING = "missing"
    UNREADABLE = "unreadable"


class Secret:
    """A password or token that never shows itself in a repr, str, log or traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret itself; call only where it goes onto the wire."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def frozen_mapping(data: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """Return a read-only view of a copy of ``data`` (for settings plugins must not change)."""
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True)
class ActivityRule:
    """Post ``message`` when the remote ``field`` gets a new non-empty value."""

    field: str
    message: str


@dataclass(frozen=True)
class Messages:
    """Message templates of one integration; None means the host's default."""

    acknowledged: str | None = None
    closed: str | None = None
    canceled: str | None = None
    closed_by_status: Mapping[str, str] = field(default_factory=frozen_mapping)
    canceled_by_status: Mapping[str, str] = field(default_factory=frozen_mapping)


# The keys of an ``[integrations.NAME]`` table the host reads itself; every other key is the
# plugin's (``Integration.options``). Exported so a plugin's check can suggest one of these for
# a misspelt key it does not know.
INTEGRATION_KEYS = frozenset({
    "plugin", "environment", "closed_statuses", "cancel_statuses",
    "request_types", "address_validation", "timezone", "poll_batch_size",
    "poll_interval_seconds", "request_types_refresh_hours",
    "max_concurrency", "timeout_seconds", "max_response_mb", "verify_tls", "ca_bundle",
    "messages", "activity", "custom_fields",
})  # fmt: skip

OptionKind = Literal["text", "integer", "number", "boolean", "texts", "choice", "secret"]
_KIND_FIX = {
    "text": "use a string",
    "integer": "use an integer",
    "number": "use a number",
    "boolean": "use true or false",
    "texts": "use a list of strings",
}


@dataclass(frozen=True)
class Option:
    """One option a plugin declares (its ``plugin_options`` hook): a key of the integration's
    (or geocoder's) table the host checks and hands over in ``options``, typed, with its
    default filled in.

    ``kind``: ``text`` (a string; a number is taken as its text), ``integer``, ``number`` (a
    float; an integer is taken),
    ``boolean``, ``texts`` (a list of strings; whole numbers in it are kept as text: ids),
    ``choice`` (one of ``choices``) or ``secret`` (never in the config: a named extra secret,
    stored with ``scf credentials set NAME --env ENV --key KEY`` or ``SCF_<NAME>_<ENV>_<KEY>``,
    handed over in ``Integration.secrets``). ``minimum`` and ``maximum`` bound a number
    (inclusive). ``required``: the config must set it (a missing secret is said only when the
    plugin asks for it: :meth:`Integration.secret`). ``per_environment``: it may be set in
    ``[integrations.NAME.ENV]`` (the active environment's value wins, as for an endpoint's
    agency or app id); when False, only in ``[integrations.NAME]``. ``fix`` ends the line
    that says a value is wrong (default: what the kind and range ask for).
    """

    name: str
    kind: OptionKind
    default: Any = None
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    required: bool = False
    per_environment: bool = True
    fix: str = ""

    def fix_text(self) -> str:
        """What to write instead of a wrong value: ``fix``, else the kind's rule."""
        if self.fix:
            return self.fix
        if self.kind == "choice":
            return f"use one of {', '.join(self.choices)}"
        if self.kind == "secret":
            return f"store it with `scf credentials set NAME --env ENV --key {self.name}`"
        low, high = self.minimum, self.maximum
        bounds = (
            f" from {low:g} to {high:g}" if low is not None and high is not None
            else f" of at least {low:g}" if low is not None
            else f" of at most {high:g}" if high is not None
            else ""
        )  # fmt: skip
        return _KIND_FIX[self.kind] + bounds


class Options(tuple[Option, ...]):
    """The options a plugin declares, in order: what its ``plugin_options`` hook returns
    (``Options(Option("srid", "integer", 4326, "…"), …)``), and how it reads them back."""

    def __new__(cls, *declared: Option) -> Options:
        """Declare ``declared``, in the order ``scf plugins`` lists them."""
        return super().__new__(cls, declared)

    def named(self, name: str) -> Option:
        """The declaration of ``name``.

        :raises KeyError: when no option of that name is declared.
        """
        for option in self:
            if option.name == name:
                return option
        raise KeyError(name)

    def value(self, settings: Integration | Geocoder, name: str) -> Any:
        """The option's value in ``settings``: as configured (the host checked and typed it
        when it read the config), else its default (a hand-built ``Integration``, in tests)."""
        value = settings.options.get(name)
        return self.named(name).default if value is None else value


INTEGRATION_STATE_LIMIT = 16_000  # characters of JSON: a cursor, an ETag, a few times


class StateKeeper(Protocol):
    """Where integration states are kept: the store (every worker shares it), or this process
    (:class:`MemoryStates`, for a plugin's tests). The host's, never a plugin's."""

    def read_integration_state(self, name: str) -> tuple[str | None, int]:
        """The state's JSON text (None when none was written) and its version (0: none)."""
        ...

    def write_integration_state(self, name: str, text: str, version: int) -> bool:
        """Keep ``text`` as version ``version + 1`` if the state is still at ``version``;
        False (nothing written) when another writer got there first."""
        ...


class MemoryStates:
    """A :class:`StateKeeper` in this process's memory: the states of integrations no store
    keeps (a plugin's tests, the contract suite)."""

    def __init__(self) -> None:
        self._states: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()

    def read_integration_state(self, name: str) -> tuple[str | None, int]:
        """The kept text and version (None, 0 when none)."""
        with self._lock:
            text, version = self._states.get(name, (None, 0))
            return text, version

    def write_integration_state(self, name: str, text: str, version: int) -> bool:
        """Compare-and-set in memory."""
        with self._lock:
            if self._states.get(name, ("", 0))[1] != version:
                return False
            self._states[name] = (text, version + 1)
            return True

    def clear(self) -> None:
        """Forget every state (between tests)."""
        with self._lock:
            self._states.clear()


MEMORY_STATES = MemoryStates()  # for integrations the host has given no store


@dataclass(frozen=True)
class SavedState:
    """An integration's state as read: ``value`` (empty at first) and its ``version`` (0
    until the first write), which a write must name (compare-and-set)."""

    value: Mapping[str, Any]
    version: int


class IntegrationState:
    """A small JSON object the host keeps for a whole integration (a changes feed's cursor,
    an ETag, when a list was last read), shared by every worker and process on the store,
    read and written with compare-and-set. Get it as ``integration.state``.

    ``write`` stores a new value only if nobody wrote since the version you read; on False,
    read again and decide again. ``update`` does that loop for you.
    """

    def __init__(self, name: str, keeper: StateKeeper) -> None:
        self.name = name
        self._keeper = keeper

    def read(self) -> SavedState:
        """The state now (``SavedState({}, 0)`` before the first write)."""
        text, version = self._keeper.read_integration_state(self.name)
        value = json.loads(text) if text else {}
        return SavedState(frozen_mapping(value if isinstance(value, dict) else {}), version)

    def write(self, value: Mapping[str, Any], version: int) -> bool:
        """Keep ``value`` if the state is still at ``version`` (as :meth:`read` gave it).

        :returns: True when written; False when another worker wrote first (nothing written).
        :raises ValueError: when ``value`` is not a JSON object of at most
            ``INTEGRATION_STATE_LIMIT`` characters.
        """
        if not isinstance(value, Mapping):
            raise ValueError(f"an integration state is a JSON object, not {type(value).__name__}")
        try:
            text = json.dumps(dict(value), sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"an integration state must be JSON ({exc})") from None
        if len(text) > INTEGRATION_STATE_LIMIT:
            raise ValueError(
                f"an integration state of {len(text)} characters; the limit is "
                f"{INTEGRATION_STATE_LIMIT}: keep a cursor, not a cache"
            )
        return self._keeper.write_integration_state(self.name, text, version)

    def update(
        self, change: Callable[[Mapping[str, Any]], Mapping[str, Any]], attempts: int = 5
    ) -> SavedState:
        """Read, apply ``change`` to the value, write; again when another worker wrote in
        between (``change`` may then run more than once: keep it free of side effects).

        :returns: the state as written.
        :raises TransientError: when ``attempts`` writes in a row lost the race.
        """
        for _ in range(attempts):
            saved = self.read()
            value = change(saved.value)
            if self.write(value, saved.version):
                return SavedState(frozen_mapping(value), saved.version + 1)
        raise TransientError(
            f"the state of integration {self.name} kept changing under {attempts} writes; "
            f"tried again on the next pass"
        )


@dataclass(frozen=True)
class Integration:
    """One ``[integrations.NAME]`` section, with its active environment resolved.

    ``options`` holds the keys the host does not know; they belong to the plugin. When the
    plugin declares its options (``plugin_options``), the host checks them as it reads the
    config and ``options`` holds every declared one, typed, defaults filled in; else they are
    as written, for the plugin's ``check_integration`` to check. An option set in the active
    environment's table wins over the integration's.

    ``secrets`` holds the named extra secrets the plugin declares (``Option`` of kind
    ``secret``), beside ``password``; read one with :meth:`secret`.

    :attr:`state` is the integration's own small JSON object, kept by the host (the store,
    when the host has one: ``state_keeper``, which the host sets; else this process).
    """

    name: str
    plugin: str
    environment: str
    url: str
    user: str
    password: Secret | None
    closed_statuses: tuple[str, ...] = ()
    cancel_statuses: tuple[str, ...] = ()
    request_types: tuple[str, ...] = ("*",)
    address_validation: str | None = None
    timezone: str = "UTC"
    timezone_configured: bool = False  # False: the config names no zone, so UTC is assumed
    poll_batch_size: int = 500
    poll_interval_seconds: float = 60.0
    request_types_refresh_hours: float = 24.0  # how often the sync loop reloads them; 0: never
    max_concurrency: int = 4
    timeout_seconds: float = 30.0
    max_response_mb: float = 32.0
    verify_tls: bool | str = True
    messages: Messages = field(default_factory=Messages)
    activity: tuple[ActivityRule, ...] = ()
    custom_fields: Mapping[str, str] = field(default_factory=frozen_mapping)
    options: Mapping[str, Any] = field(default_factory=frozen_mapping)
    secrets: Mapping[str, Secret] = field(default_factory=frozen_mapping)
    state_keeper: StateKeeper | None = field(default=None, compare=False, repr=False)

    @property
    def state(self) -> IntegrationState:
        """The integration's state (see :class:`IntegrationState`), shared by every worker."""
        return IntegrationState(self.name, self.state_keeper or MEMORY_STATES)

    @functools.cached_property  # read for every polled request
    def watched_fields(self) -> tuple[str, ...]:
        """The remote fields that activity rules watch, each once, in config order."""
        return tuple(dict.fromkeys(rule.field for rule in self.activity))

    def secret(self, key: str) -> Secret:
        """The named extra secret ``key`` of the active environment (an app secret beside
        the password), as ``scf credentials set NAME --env ENV --key KEY`` stored it.

        :raises ConfigError: when it is not set; the text says how to set it.
        """
        found = self.secrets.get(key)
        if found:
            return found
        variable = "_".join(
            "".join(c if c.isascii() and c.isalnum() else "_" for c in part).upper()
            for part in (self.name, self.environment, key)
        )
        raise ConfigError(
            f"integration {self.name} ({self.environment}) has no {key}; store it with "
            f"`scf credentials set {self.name} --env {self.environment} --key {key}` or set "
            f"SCF_{variable}"
        )


@dataclass(frozen=True)
class Geocoder:
    """One ``[geocoders.NAME]`` section."""

    name: str
    plugin: str
    url: str
    user: str | None = None
    password: Secret | None = None
    min_score: float = 85.0
    on_reject: Literal["submit", "hold"] = "submit"
    timeout_seconds: float = 30.0
    max_response_mb: float = 32.0
    verify_tls: bool | str = True
    options: Mapping[str, Any] = field(default_factory=frozen_mapping)


@dataclass(frozen=True)
class Question:
    """A secondary question of a request type.

    Types: ``text``; ``choice`` (one of ``options``); ``multichoice`` (one or more of
    ``options``: the issue keeps one :class:`Answer` per option chosen); ``date``
    (``YYYY-MM-DD``); ``datetime`` (ISO 8601, kept as given); ``number`` (within ``minimum``
    and ``maximum`` when set); ``info`` (text shown to the resident, never answered).

    ``answer_refs`` maps each accepted answer (an option's text, or ``""`` for the types
    without options) to the remote system's id for it. ``asked_when`` lists
    ``(question_id, option)`` pairs: when non-empty, the question is asked (and required) only
    if one of those options was chosen; empty means always asked. ``meta`` is the plugin's
    own: the host stores it with the question and never reads it (a datatype, a field name).
    """

    id: str
    text: str
    type: QuestionType
    required: bool = True
    private: bool = False
    options: tuple[str, ...] = ()
    answer_refs: tuple[tuple[str, str], ...] = ()
    asked_when: tuple[tuple[str, str], ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    meta: Mapping[str, Any] = field(default_factory=frozen_mapping)

    def ref_for(self, answer: str) -> str | None:
        """The remote id of ``answer`` (an option's text, or any text for the other types)."""
        key = answer if self.type in CHOICE_TYPES else ""
        return dict(self.answer_refs).get(key)


@dataclass(frozen=True)
class RequestType:
    """A request type offered by an integration, with its questions in presentation order."""

    code: str
    name: str
    integration: str
    questions: tuple[Question, ...] = ()
    ref: str = ""


@dataclass(frozen=True)
class Answer:
    """An answer to a question, as stored on an issue; ``ref`` is the remote answer id.

    ``meta`` is the question's own ``Question.meta`` (what the plugin said of it when it
    listed the request type: a datatype, a field name), handed back at ``submit``; empty
    elsewhere, and for a question the cached request type no longer has.
    """

    question_id: str
    question: str
    answer: str
    private: bool = False
    ref: str | None = None
    meta: Mapping[str, Any] = field(default_factory=frozen_mapping, compare=False)


@dataclass(frozen=True)
class AddressCheck:
    """What a geocoder made of an issue's address.

    ``accepted`` says whether the host should use ``address`` (the verified one) on the remote
    request; a rejected check keeps the candidate (if any) so staff can see what was found.
    """

    query: str
    accepted: bool
    address: str | None = None
    score: float | None = None
    lat: float | None = None
    lng: float | None = None
    candidate_type: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class Issue:
    """A local issue as plugins see it.

    ``type_ref`` is the request type's remote id; ``submit_attempted`` is true when an earlier
    submit may have reached the remote system, so ``submit`` must look before it creates.
    ``marker`` is the link the remote request carries back to this issue (Cityworks
    ``OtherSystemId``): unique per store and per submission, at most 30 characters.
    ``plugin_state`` is what the plugin last returned for this issue (``Submission``,
    ``Resolution`` or ``AmbiguousError``'s ``plugin_state``), kept by the host; empty at first.
    """

    id: int
    request_type: str
    summary: str
    lat: float
    lng: float
    description: str = ""
    address: str | None = None
    reporter_name: str | None = None
    reporter_email: str | None = None
    image_url: str | None = None
    answers: tuple[Answer, ...] = ()
    type_ref: str = ""
    status: Status = Status.OPEN
    remote_id: str | None = None
    address_check: AddressCheck | None = None
    submit_attempted: bool = False
    created_at: datetime | None = None
    marker: str = ""
    plugin_state: Mapping[str, Any] = field(default_factory=frozen_mapping)

    def __post_init__(self) -> None:
        # An issue built without a marker (tests, older callers) gets the pre-store-id form.
        if not self.marker:
            object.__setattr__(self, "marker", f"scf-{self.id}")


@dataclass(frozen=True)
class Comment:
    """A comment on an issue. ``push_attempted``: an earlier push may have reached the remote.

    ``public``: whether the comment is for the resident to see. Every local comment is (the
    CRM shows it on the resident's report), so a plugin whose remote system marks comments
    public or internal (``Capabilities.comment_audience`` ``"flag"`` or ``"both"``) pushes it
    marked public when this is True, internal when False.
    """

    id: int
    issue_id: int
    author: str
    text: str
    kind: CommentKind = "comment"
    created_at: datetime | None = None
    remote_id: str | None = None
    push_attempted: bool = False
    kept_here: str | None = None  # why a local comment was not sent (no comment API there)
    via: str | None = None  # the API key's name when a client posted it through the door
    public: bool = True


def attachment_name(marker: str, attachment_id: int) -> str:
    """The unique name a photo is stored under remotely: the issue's marker and the photo's
    id (``scf-k3m9qz2a-1042-1-7.jpg``): two photos of one issue never share it, and a
    look-up after an uncertain upload finds this very one."""
    return f"{marker}-{attachment_id}.jpg"


@dataclass(frozen=True)
class Attachment:
    """A resident's photo, as ``push_attachment`` gets it: a clean JPEG (re-encoded, no
    metadata) with the name to store it under. ``filename`` is unique
    (:func:`attachment_name`: the issue's marker and the photo's id); ``original_name`` is the
    name the resident's file had (``image.jpg``), for a caption or a description beside it.
    ``push_attempted``: an earlier upload may have reached the remote system, so look for it
    (by ``filename``) before uploading again."""

    id: int
    issue_id: int
    filename: str
    content_type: str
    size: int
    content: bytes = field(repr=False)
    push_attempted: bool = False
    remote_id: str | None = None
    original_name: str = ""


class CheckWarning(str):
    """A line of ``check_integration`` or ``check_geocoder`` that is a warning, not a problem:
    ``scf config check`` and ``scf doctor`` show it, but the integration keeps working
    (``return [CheckWarning("timeout_seconds: 300 is long; …")]``)."""

    __slots__ = ()


def problems_and_warnings(lines: list[str]) -> tuple[list[str], list[str]]:
    """Split a check's lines into problems (the integration is skipped) and warnings."""
    problems = [line for line in lines if not isinstance(line, CheckWarning)]
    return problems, [str(line) for line in lines if isinstance(line, CheckWarning)]


@dataclass(frozen=True)
class Capabilities:
    """What a plugin's remote system does, so the host can adapt (``capabilities`` hook).

    ``naive_local_dates``: the remote system writes dates without a zone, in its own local
    time, so the integration needs ``timezone`` (``scf config check`` warns without one).
    ``push_comments``: it takes local comments (``push_comment``); when False, comments stay
    here, shown as kept here, never counted as sent nor retried. ``pull_comments``: its
    ``poll`` can report remote comments. ``cancellation``: it can tell a cancelled request
    from a closed one (when False, the contract's cancel test expects the request to stay
    open). ``attachments``: it takes photos (``push_attachment``, which a plugin may leave
    out: photos then stay here, shown as kept here, with no error and no retry). The contract
    suite skips the tests of what a plugin declares it does not do.

    ``remote_cancel``: it can cancel a request from here (the ``cancel_request`` hook): ``scf
    issues withdraw --remote`` and the console offer it only then.

    ``comment_audience``: how the remote system's comments for the resident are told from the
    crews' own, which ``poll`` leaves out. ``"prefix"``: staff start them with the pull prefix
    (``To SCF:``, removed before they reach the resident); ``"flag"``: the remote system marks
    them public (the text comes as it is); ``"both"``: flagged public and prefixed. Pushed
    comments say whether they are public (``Comment.public``): a system with a flag stores
    them so.
    """

    naive_local_dates: bool = False
    push_comments: bool = True
    pull_comments: bool = True
    cancellation: bool = True
    attachments: bool = True
    comment_audience: CommentAudience = "prefix"
    remote_cancel: bool = False


PLUGIN_STATE_LIMIT = 4000  # characters of JSON: a token and a few times, not a cache


@dataclass(frozen=True)
class Submission:
    """The answer to ``submit``: the remote id, and whether this call created it.

    A remote system that creates requests later (an Open311 ``batch`` service) answers with a
    ``token`` and no ``remote_id``: the issue then waits as *pending* until
    ``resolve_pending`` finds the id. ``plugin_state`` (a JSON object of at most
    ``PLUGIN_STATE_LIMIT`` characters) is kept on the issue and handed back on later calls.
    """

    remote_id: str = ""
    created: bool = True
    status: str | None = None
    token: str | None = None
    plugin_state: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Pending:
    """An issue whose create was accepted under a token, waiting for its remote id."""

    issue_id: int
    token: str
    marker: str
    plugin_state: Mapping[str, Any] = field(default_factory=frozen_mapping)
    since: datetime | None = None


@dataclass(frozen=True)
class Resolution:
    """What ``resolve_pending`` found for one :class:`Pending` issue.

    ``remote_id`` set: the request exists (the issue is acknowledged, naming it). None: not
    yet (asked again later). ``lost`` set: the remote system will never create it (the token
    is unknown or was refused); the issue goes back to be submitted, after a look-up by its
    marker, and ``lost`` says why.
    """

    issue_id: int
    remote_id: str | None = None
    status: str | None = None
    lost: str | None = None
    plugin_state: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Tracked:
    """One issue to poll: the local id, the remote request it is linked to, and the marker
    that request must carry (``RemoteUpdate.marker`` reports what it does carry)."""

    issue_id: int
    remote_id: str
    marker: str = ""
    plugin_state: Mapping[str, Any] = field(default_factory=frozen_mapping)


@dataclass(frozen=True)
class RemoteComment:
    """A remote comment meant for the resident (by ``Capabilities.comment_audience``; a
    ``To SCF:`` prefix already removed)."""

    remote_id: str
    text: str
    author: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True)
class RemoteUpdate:
    """What ``poll`` found for one tracked issue.

    ``fields`` holds the current values of the fields the integration's activity rules watch
    (empty values left out); ``comments`` all remote comments meant for the resident, old
    and new, as ``Capabilities.comment_audience`` tells them (never the plugin's own): the
    host keeps each once by ``remote_id``.

    ``marker`` is the link marker the remote request carries (``""`` when it carries none;
    None only where the remote system has no place for one). The host applies an update only
    when it matches the issue's own marker. ``remote_closed`` is the remote system's own
    "closed" flag (Cityworks ``IsClosed``), so a closed request whose status neither status
    list names is flagged for staff instead of staying open in silence. ``error`` says why a
    record could not be read (``state`` is then UNREADABLE); it is recorded on that issue only.
    Beside a readable state it says which part could not be read (some comments): the update
    is applied, and the error recorded on the issue while it stays open.
    ``reason`` is the remote system's own reason for a cancel (or close), kept on the issue
    for staff and offered to the message templates as ``{reason}``.
    """

    issue_id: int
    remote_id: str
    state: RemoteState
    status: str | None = None
    fields: tuple[tuple[str, str], ...] = ()
    comments: tuple[RemoteComment, ...] = ()
    marker: str | None = None
    remote_closed: bool = False
    error: str | None = None
    reason: str | None = None  # why it was closed or cancelled remotely (Cityworks CancelReason)


@dataclass(frozen=True)
class NewIssue:
    """A validated report, ready to be stored."""

    request_type: str
    integration: str | None
    type_ref: str
    summary: str
    lat: float
    lng: float
    description: str = ""
    address: str | None = None
    reporter_name: str | None = None
    reporter_email: str | None = None
    image_url: str | None = None
    answers: tuple[Answer, ...] = ()
    reporter_phone: str | None = None
    reported_via: str | None = None  # the Open311 API key's name, for reports sent over HTTP
