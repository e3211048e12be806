"""The Cityworks plugin's options, declared for the host, which checks, types and lists
them (``scf plugins --json``) and hands them over in ``Integration.options``.

``version``, ``srid`` and ``image_url_field`` keep the TOML keys they had when the host read
them itself, in ``[integrations.NAME]`` only, so a config written for an earlier release
loads unchanged.
"""

from __future__ import annotations

from scf_plugins import DEFAULT_PULL_PREFIX, Option, Options

DEFAULT_CALLER_FIRST_NAME = "SeeClickFix 311 CRM"
DEFAULT_COMMENT_PREFIX = "[311] {author}: "

OPTIONS = Options(
    Option(
        "version",
        "text",
        "",
        'the Cityworks version, as its About page shows it, e.g. version = "15.8"',
        per_environment=False,
        fix='use a string like "15.8"',
    ),
    Option(
        "srid",
        "integer",
        4326,
        "the spatial reference Cityworks stores points in (15.8 and later: 3857)",
        per_environment=False,
        fix="use an integer EPSG or ESRI code",
    ),
    Option(
        "image_url_field",
        "text",
        None,
        "a request field (Text1…Text20) that gets the resident's photo URL",
        per_environment=False,
        fix="name a remote field",
    ),
    Option("caller_first_name", "text", DEFAULT_CALLER_FIRST_NAME,
           "CallerFirstName of every request scf creates"),
    Option("initiated_by_app", "text", "scf-plugins", "InitiatedByApp of every request"),
    Option("optional_questions", "texts", (),
           'question ids imported as optional (the rest are required), or ["*"]',
           fix='use a list of question ids, or ["*"]'),
    Option("auth", "choice", "forms", 'how scf logs in: "forms" (a Cityworks login) or '
           '"windows" (NTLM, with the windows extra)', choices=("forms", "windows")),
    Option("comment_prefix", "text", DEFAULT_COMMENT_PREFIX,
           "what starts a comment scf adds ({author}, {via})"),
    Option("pull_prefix", "text", DEFAULT_PULL_PREFIX,
           "what staff start a comment with to reach the resident"),
)  # fmt: skip
