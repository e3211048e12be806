"""The hook contract between the host and remote-system plugins.

A plugin is a module (or object) registered under the ``scf_plugins`` entry-point group. It
implements some of the hooks below with ``@hookimpl`` (``from scf_plugins import hookimpl``).

The host routes every call to the one plugin the config names for that integration or
geocoder, so an implementation never checks whether a call is meant for it. Arguments are
passed by keyword: keep the argument names exactly as they are here (you may leave out the
ones you do not use).

Errors: raise :class:`scf_plugins.DefiniteError` when the remote refused the call,
:class:`scf_plugins.TransientError` when nothing happened and a retry is safe, and
:class:`scf_plugins.AmbiguousError` when the call may have been carried out. Never put a
password or token into an error message.

What must outlive a call for a whole integration (a changes feed's cursor, an ETag) goes in
``integration.state``: a small JSON object in the store, shared by every worker, written with
compare-and-set (:class:`~scf_plugins.IntegrationState`); what belongs to one issue, in
``plugin_state``.

State that is costly to build (an HTTP session, a token, a projection) is kept by the host, one
per integration: ``resource_for(integration, build)`` builds it on first use, gives it back
while the integration's settings stay the same, and closes and rebuilds it when they (or its
credentials) change. Keep no module-level cache of your own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import click

    from .models import (
        AddressCheck,
        Attachment,
        Capabilities,
        Comment,
        Geocoder,
        Integration,
        Issue,
        Option,
        Pending,
        RemoteUpdate,
        RequestType,
        Resolution,
        Submission,
        Tracked,
    )
    from .standin import StandIn

PROJECT = "scf_plugins"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def list_request_types(integration: Integration) -> list[RequestType]:
    """Return the request types the remote system offers to the public.

    :param integration: the integration's settings (endpoint, credentials, options).
    :returns: every request type the remote offers, each with its questions in presentation
        order (``Question.answer_refs`` filled so the host can send answers back). The host
        filters them by the integration's ``request_types`` setting and marks private
        questions; a plugin may filter too.
    """


@hookspec(firstresult=True)
def submit(integration: Integration, issue: Issue) -> Submission:
    """Create the remote request for a new local issue and return its remote id.

    :param integration: the integration's settings.
    :param issue: the local issue, with its answers (``Answer.ref`` is the remote answer id,
        ``Answer.meta`` the question's own ``meta`` as the plugin listed it), ``type_ref`` (the
        request type's remote id) and, when a geocoder checked the address,
        ``address_check``. Store ``issue.marker`` on the remote request as its link back to
        the issue (at most 30 characters; it changes when the issue is routed again).
    :returns: a :class:`Submission` whose ``remote_id`` is a non-empty string of the shape the
        remote system uses (check it: an id that cannot be read is an
        :class:`AmbiguousError`, since the request may exist). Must be idempotent: when
        ``issue.submit_attempted`` is true an earlier call may have created the request, so
        look it up first by ``issue.marker``, and only by it, and return it with
        ``created=False`` instead of creating another.
    :raises AmbiguousError: when the create may have happened but its answer was lost or
        could not be read. Give it ``plugin_state`` to keep what the retry's look-up needs
        (when the create was sent, say): the next call gets it as ``issue.plugin_state``.

    A remote system that creates requests later (an Open311 ``batch`` service) returns
    ``Submission(token=...)`` without a ``remote_id``: the issue waits, visibly pending, and
    the host asks :func:`resolve_pending` for the id. Return ``plugin_state`` (a small JSON
    object) to have it handed back on every later call for this issue.
    """


@hookspec(firstresult=True)
def resolve_pending(integration: Integration, pending: list[Pending]) -> list[Resolution]:
    """Find the remote ids of creates that ``submit`` left pending under a token.

    Called in the submit step, for a batch of pending issues (at most
    ``integration.poll_batch_size``), each asked again later (from a few seconds up to five
    minutes apart) until it resolves. Needed only by a plugin whose ``submit`` returns
    tokens.

    :param integration: the integration's settings.
    :param pending: the issues waiting, each with its ``token``, ``marker`` and
        ``plugin_state``.
    :returns: one :class:`Resolution` per pending issue: ``remote_id`` once the request
        exists (the issue is acknowledged, its message naming that id), None while it does not
        yet, or ``lost`` when it never will (the issue is then submitted again, after a
        look-up by its marker). An issue left out is asked again later.
    :raises RemoteError: when the remote system could not be asked; every issue of the batch
        is asked again later.
    """


@hookspec(firstresult=True)
def poll(integration: Integration, tracked: list[Tracked]) -> list[RemoteUpdate]:
    """Read the current state of a batch of remote requests.

    :param integration: the integration's settings; ``closed_statuses``, ``cancel_statuses``
        and ``watched_fields`` say what to report.
    :param tracked: a batch of linked issues (at most ``integration.poll_batch_size``). Answer
        the whole batch in as few remote calls as the remote API allows; the host never calls
        ``poll`` once per issue.
    :returns: one :class:`RemoteUpdate` per tracked issue, in any order, each with
        ``marker`` set to the marker the remote request carries (the host applies an update
        only when it matches ``Tracked.marker``) and ``remote_closed`` set from the remote
        system's own closed flag, and ``comments`` the remote comments meant for the resident
        (by ``Capabilities.comment_audience``). Ids the remote cannot find follow one rule: an
        id of the remote's own shape that no request has (one it no longer has) is
        ``state=MISSING``; an id the remote can never have (the wrong shape: a word where ids
        are numbers) is ``state=UNREADABLE`` with ``error`` saying why, as is a record that
        cannot be read; a readable request whose comments could not all be read keeps its
        state, with ``error`` saying so. One bad record never raises for the batch.
    """


@hookspec(firstresult=True)
def push_comment(integration: Integration, issue: Issue, comment: Comment) -> str:
    """Add a local comment to the issue's remote request.

    :param integration: the integration's settings.
    :param issue: the issue; ``issue.remote_id`` is the remote request.
    :param comment: the local comment. When ``comment.push_attempted`` is true an earlier
        push may have succeeded: look for it before adding it again. ``comment.public`` says
        whether it is for the public: where the remote system marks comments public or
        internal (``Capabilities.comment_audience``), store it so.
    :returns: the remote comment's id, so the host never pulls its own comment back.
    """


@hookspec(firstresult=True)
def push_attachment(integration: Integration, issue: Issue, attachment: Attachment) -> str:
    """Attach a resident's photo to the issue's remote request (optional).

    Called after the request exists, with comments; never before the acknowledgement. A
    plugin without this hook (or whose ``capabilities`` say ``attachments=False``) leaves
    photos here: ``scf issues show`` says so, with no error and no retry.

    :param integration: the integration's settings.
    :param issue: the issue; ``issue.remote_id`` is the remote request.
    :param attachment: the photo: a clean JPEG (``content``) and the unique name to store it
        under (``filename``: the issue's marker and the photo's id, ``scf-…-7.jpg``), with the
        resident's own file name beside it (``original_name``, for a caption). When
        ``attachment.push_attempted`` is true an earlier upload may have succeeded: look for
        it by ``filename`` first.
    :returns: the remote attachment's id.
    :raises RemoteError: as for any other call (an upload whose answer was lost is
        ambiguous).
    """


@hookspec(firstresult=True)
def cancel_request(integration: Integration, issue: Issue, reason: str) -> str:
    """Cancel the issue's remote request, because staff withdrew the issue here (optional:
    ``scf issues withdraw ID --remote``, and the console's "Also cancel the remote request").

    Called only for a plugin that implements it and declares ``Capabilities.remote_cancel``,
    and only for an issue linked in the integration's live environment, before the issue is
    closed here. Cancel once: when the request is cancelled already (an earlier call's answer
    was lost, or a second withdraw after the first one's local change failed), say so and
    change nothing. Make the change through ``HttpClient.request(..., idempotent=False)``.

    :param integration: the integration's settings.
    :param issue: the issue; ``issue.remote_id`` is the request, ``issue.marker`` its marker.
    :param reason: why staff withdrew it (what the resident is told); keep it on the remote
        request where the system keeps a cancel reason.
    :returns: one line saying what was done (``"cancelled with status CANCEL"``, or ``"it was
        cancelled already"``).
    :raises DefiniteError: when the remote system refuses (no permission to cancel, or a
        request closed there, which cannot be cancelled): the issue stays as it is here.
    :raises RemoteError: as for any other call; nothing is changed here.
    """


@hookspec(firstresult=True)
def validate_address(geocoder: Geocoder, issue: Issue) -> AddressCheck | None:
    """Check the issue's address (or, without one, its point) against a geocoder.

    :param geocoder: the geocoder's settings (``min_score``, options).
    :param issue: the issue; ``address`` may be None, ``lat``/``lng`` are WGS84.
    :returns: an :class:`AddressCheck` (``accepted`` says whether to use its address), or None
        when the geocoder has nothing to say about this issue (then the reported address is
        sent as it is). The host holds ``lat``/``lng`` to the rules of a reported point
        (finite, in range, inside the service area); a place that breaks them, or a
        projection that fails (a pyproj error, an overflow), makes the check rejected with
        the reason "could not be placed: …" and no coordinates.
    :raises TransientError: when the geocoder cannot be reached; the issue waits for it.
    """


@hookspec(firstresult=True)
def place_address(geocoder: Geocoder, address: str) -> AddressCheck | None:
    """Find where an address is, for a report that gives an address and no point (an
    Open311 ``address_string``).

    :param geocoder: the geocoder's settings (``min_score``, options).
    :param address: the address as the resident wrote it.
    :returns: an :class:`AddressCheck` whose ``lat``/``lng`` (WGS84) place the address when
        ``accepted``; None when this geocoder cannot place addresses (the report is then
        refused, naming the point it needs). The place is checked as in
        :func:`validate_address`; one that cannot be right refuses the report (a 400).
    :raises TransientError: when the geocoder cannot be reached.
    """


@hookspec(firstresult=True)
def capabilities(integration: Integration) -> Capabilities:
    """Say what the integration's remote system does, so the host can adapt.

    A remote system without a comment API declares ``push_comments=False``: local comments
    then stay here (shown as kept here), are never counted as sent and never retried, and
    ``push_comment`` is never called. The contract suite skips the tests of what is declared
    unsupported.

    :param integration: the integration's settings (a capability may depend on them).
    :returns: a :class:`Capabilities`; a plugin that does not implement this hook gets the
        defaults (comments both ways, dates with a zone).
    """


@hookspec(firstresult=True)
def list_statuses(integration: Integration) -> list[str]:
    """Read the status codes the remote system uses (Cityworks ``ServiceRequest/Statuses``).

    :param integration: the integration's settings.
    :returns: every status code a request can have; ``scf doctor`` names those that neither
        ``closed_statuses`` nor ``cancel_statuses`` lists, and configured ones the remote does
        not have. A plugin whose remote system cannot list them leaves this hook out.
    :raises RemoteError: what failed, as for any other call.
    """


@hookspec(firstresult=True)
def check_connection(integration: Integration) -> str:
    """Prove, for ``scf doctor``, that the endpoint answers and takes the credentials.

    Make the fewest harmless calls that show both (log in; or a read that needs the key);
    never create anything.

    :param integration: the integration's settings, with its password or key.
    :returns: one line saying what was found (a version, a user, how many services).
    :raises LoginRefused: when the credentials are refused (doctor says how to set them).
    :raises RemoteError: when the endpoint cannot be reached or answers nonsense.
    """


@hookspec(firstresult=True)
def plugin_options() -> Sequence[Option]:
    """Declare the plugin's options: the keys of its integrations' (or geocoders') tables that
    are the plugin's, each with its kind, default, range and description (optional).

    The host then checks them in one place as it reads the config (an unknown key, with a
    did-you-mean; a wrong type; a value out of range; a required one missing; one set in an
    environment's table that may not be), each problem one line naming the file, the key and
    the fix; hands them over in ``Integration.options`` (or ``Geocoder.options``) typed, with
    their defaults filled in; and lists them in ``scf plugins --json``. Named extra secrets
    (an app secret beside the password) are options of kind ``secret``: the host looks them
    up (``scf credentials set NAME --env ENV --key KEY``, or ``SCF_<NAME>_<ENV>_<KEY>``) and
    hands them over in ``Integration.secrets``. A plugin without this hook gets its options
    as written, and checks them itself in :func:`check_integration`.

    :returns: the declared options, in the order to list them: an :class:`~scf_plugins.Options`
        (whose ``value(integration, name)`` reads one back, its default when unset).
    """


@hookspec
def check_integration(integration: Integration) -> list[str]:
    """Check an integration's settings without touching the network.

    The options a plugin declares (:func:`plugin_options`) are checked by the host before
    this is called: check here only what their declarations cannot say (a rule across
    options, a template).

    :param integration: the integration's settings, including the plugin's own ``options``.
    :returns: one line per problem, each naming the key and the fix (empty when all is well).
        A problem disables the integration (the engine skips it, and says why); a line made
        a :class:`CheckWarning` is only shown (``scf config check``, ``scf doctor``).
    """


@hookspec
def check_geocoder(geocoder: Geocoder) -> list[str]:
    """Check a geocoder's settings without touching the network.

    :param geocoder: the geocoder's settings.
    :returns: one line per problem, each naming the key and the fix (empty when all is well).
    """


@hookspec(firstresult=True)
def probe_geocoder(geocoder: Geocoder) -> str:
    """Make one harmless read of the geocoder (its service description), for ``scf doctor``.

    :param geocoder: the geocoder's settings.
    :returns: one line saying what was found (for example the locator's input field and
        spatial reference).
    :raises RemoteError: what failed, as for any other call.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``scf`` command line (called on every plugin, not routed).

    :param cli: the root ``scf`` group; add a command, or a subcommand of an existing group
        such as ``cli.commands["emulator"]``.
    :returns: nothing.
    """


@hookspec(firstresult=True)
def start_standin(users: Mapping[str, str]) -> StandIn:
    """Start a stand-in of the plugin's remote system (an emulator, a fake), for ``scf demo``.

    Optional, and never called by the sync engine: the host calls it on the one plugin it
    names (``PluginHost.start_standin(plugin, users)``), so a demo or a test can run against
    your remote system without importing your package. Serve on a free port of 127.0.0.1
    (port 0), in a daemon thread, with state in memory only, and return once it answers.

    :param users: the logins it must accept, login name to password (for a system that takes
        an API key, the password is the key); empty when the caller needs no login (a
        geocoder without tokens).
    :returns: a :class:`~scf_plugins.StandIn`, already serving: ``url`` is what a config's
        ``url`` takes; ``staff`` (a :class:`~scf_plugins.StandInStaff`) plays city staff in
        it, None for a stand-in that keeps no requests (a geocoder); leaving the ``with``
        block around it stops it and closes its connections.
    """
