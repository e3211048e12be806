"""scf-plugins: the host that keeps 311 issues in step with remote work-order systems.

Plugin authors need only what this module exports: the ``hookimpl`` marker, the value types
that cross the hook boundary, the error types to raise, the HTTP client (with its ``HttpAuth``
hook and the ``OAuth2`` tokens that fill it), ``resource_for`` (the one place a plugin keeps a
client per integration), redaction and the
reading of damaged answers (``Salvaged``, ``Gap``) a plugin's client is built on, and the
protocols of a stand-in server (``start_standin``). A plugin imports nothing else of the
host, except what :mod:`scf_plugins.testing` exports.
"""

from .errors import (
    AmbiguousError,
    ConfigError,
    DefiniteError,
    LoginRefused,
    RemoteError,
    ScfError,
    TransientError,
    UserError,
)
from .hookspecs import hookimpl
from .models import (
    INTEGRATION_KEYS,
    ActivityRule,
    AddressCheck,
    Answer,
    Attachment,
    Capabilities,
    CheckWarning,
    Comment,
    Geocoder,
    Integration,
    IntegrationState,
    Issue,
    Messages,
    Option,
    Options,
    Pending,
    Question,
    QuestionType,
    RemoteComment,
    RemoteState,
    RemoteUpdate,
    RequestType,
    Resolution,
    SavedState,
    Secret,
    Status,
    Submission,
    Tracked,
    attachment_name,
    frozen_mapping,
)
from .net.http import Answer as HttpAnswer
from .net.http import HttpAuth, HttpClient, HttpPolicy
from .net.oauth2 import OAuth2
from .net.redaction import redact, register_secret
from .net.salvage import Gap, Salvaged
from .pull_prefix import DEFAULT_PULL_PREFIX, pull_pattern
from .resources import resource_for
from .standin import AttachedFile, Staff, StandIn, StandInStaff

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_PULL_PREFIX",
    "INTEGRATION_KEYS",
    "ActivityRule",
    "AddressCheck",
    "AmbiguousError",
    "Answer",
    "AttachedFile",
    "Attachment",
    "Capabilities",
    "CheckWarning",
    "Comment",
    "ConfigError",
    "DefiniteError",
    "Gap",
    "Geocoder",
    "HttpAnswer",
    "HttpAuth",
    "HttpClient",
    "HttpPolicy",
    "Integration",
    "IntegrationState",
    "Issue",
    "LoginRefused",
    "Messages",
    "OAuth2",
    "Option",
    "Options",
    "Pending",
    "Question",
    "QuestionType",
    "RemoteComment",
    "RemoteError",
    "RemoteState",
    "RemoteUpdate",
    "RequestType",
    "Resolution",
    "Salvaged",
    "SavedState",
    "ScfError",
    "Secret",
    "Staff",
    "StandIn",
    "StandInStaff",
    "Status",
    "Submission",
    "Tracked",
    "TransientError",
    "UserError",
    "attachment_name",
    "frozen_mapping",
    "hookimpl",
    "pull_pattern",
    "redact",
    "register_secret",
    "resource_for",
]
