"""scf-plugins: the host that keeps 311 issues in step with remote work-order systems.

Plugin authors need only what this module exports: the ``hookimpl`` marker, the value types
that cross the hook boundary, and the error types to raise.
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
    ActivityRule,
    AddressCheck,
    Answer,
    Attachment,
    Capabilities,
    CheckWarning,
    Comment,
    Geocoder,
    Integration,
    Issue,
    Messages,
    Pending,
    Question,
    RemoteComment,
    RemoteState,
    RemoteUpdate,
    RequestType,
    Resolution,
    Secret,
    Status,
    Submission,
    Tracked,
)
from .net.http import Answer as HttpAnswer
from .net.http import HttpClient, HttpPolicy
from .net.redaction import redact, register_secret
from .pull_prefix import DEFAULT_PULL_PREFIX, pull_pattern

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_PULL_PREFIX",
    "ActivityRule",
    "AddressCheck",
    "AmbiguousError",
    "Answer",
    "Attachment",
    "Capabilities",
    "CheckWarning",
    "Comment",
    "ConfigError",
    "DefiniteError",
    "Geocoder",
    "HttpAnswer",
    "HttpClient",
    "HttpPolicy",
    "Integration",
    "Issue",
    "LoginRefused",
    "Messages",
    "Pending",
    "Question",
    "RemoteComment",
    "RemoteError",
    "RemoteState",
    "RemoteUpdate",
    "RequestType",
    "Resolution",
    "ScfError",
    "Secret",
    "Status",
    "Submission",
    "Tracked",
    "TransientError",
    "UserError",
    "hookimpl",
    "pull_pattern",
    "redact",
    "register_secret",
]
