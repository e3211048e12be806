"""The plugin manager: loading plugins, and routing each call to the plugin config names.

The rest of the host calls the small typed methods of :class:`PluginHost`, never
``pm.hook.*``: each method picks the one plugin that serves the integration or geocoder
(pluggy's ``subset_hook_caller``, as pytest does for conftest hooks), so two plugins can
never both answer and a plugin never checks whether a call is meant for it.

Whatever a plugin raises that is not one of the host's errors (a ``KeyError`` on an answer it
did not expect, a ``RecursionError`` on one nested too deeply) leaves these methods as a
:class:`~scf_plugins.errors.RemoteError` naming the plugin and the hook, so every caller
handles a plugin's bug the way it handles a refusal: one line, one issue or batch charged,
the loop going on (see :func:`plugin_failure`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import logging
import os
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pluggy

from . import hookspecs
from .errors import AmbiguousError, ConfigError, DefiniteError, RemoteError, ScfError
from .net.lookonly import ChangeRefused

if TYPE_CHECKING:
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
        StateKeeper,
        Submission,
        Tracked,
    )
    from .standin import StandIn

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "scf_plugins"
DISABLE_ENV = "SCF_DISABLE_PLUGINS"
# The hooks that change the remote system: a bug met in one may come after the change was
# made (a create sent, its answer then misread), so the failure is ambiguous and the retry
# goes through the plugin's look-up first; any other hook's bug is a definite error.
CHANGING_HOOKS = frozenset({"submit", "push_comment", "push_attachment", "cancel_request"})


class PluginFailure(ScfError):
    """What the error a plugin's unexpected exception becomes also is (:func:`plugin_failure`):
    the plugin broke its contract, which raises only the host's error kinds. The contract
    suite (:mod:`scf_plugins.testing.contract`) fails a plugin on it."""


class _DefiniteFailure(PluginFailure, DefiniteError):
    """A plugin's unexpected exception in a hook that changes nothing remotely."""


class _AmbiguousFailure(PluginFailure, AmbiguousError):
    """A plugin's unexpected exception in a hook whose change may have been made."""


def plugin_failure(plugin: str, hook: str, exc: Exception) -> RemoteError:
    """The error a plugin's unexpected exception becomes: "plugin cityworks, hook poll:
    KeyError: 'Value'". Its traceback is logged at debug (a text log keeps it on one line).

    A changing hook's (:data:`CHANGING_HOOKS`) is an :class:`AmbiguousError`: the create,
    comment or photo may have been carried out before the plugin failed, so it is looked up
    by its marker before it is sent again, never sent twice; any other hook's is a
    :class:`DefiniteError` (retried with the long back-off: a bug is not fixed by retrying).
    Either is a :class:`PluginFailure` too.
    """
    text = f"plugin {plugin}, hook {hook}: {type(exc).__name__}: {exc}"
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s; traceback:\n%s", text, "".join(traceback.format_exception(exc)))
    kind = _AmbiguousFailure if hook in CHANGING_HOOKS else _DefiniteFailure
    return kind(text)


@contextlib.contextmanager
def blaming(plugin: str, hook: str) -> Iterator[None]:
    """Turn what the block raises that is not the host's own into a :func:`plugin_failure`
    of ``plugin`` and ``hook`` (the block calls the hook, or reads what it answered)."""
    try:
        yield
    except (ScfError, ChangeRefused):
        raise  # the plugin's own error kinds, and the host's refusal of a change unsent
    except Exception as exc:
        raise plugin_failure(plugin, hook, exc) from exc


@dataclass(frozen=True)
class PluginInfo:
    """One installed plugin, for ``scf plugins``."""

    name: str
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]


def disabled_from_env() -> set[str]:
    """The plugin names switched off by ``SCF_DISABLE_PLUGINS`` (comma separated)."""
    raw = os.environ.get(DISABLE_ENV, "")
    return {name.strip() for name in raw.split(",") if name.strip()}


def build_manager(
    disabled: Iterable[str] | None = None, *, load_entry_points: bool = True
) -> PluginHost:
    """Build the plugin manager: specs, entry points of the ``scf_plugins`` group, checks.

    :param disabled: plugin names not to load; default: ``SCF_DISABLE_PLUGINS``.
    :param load_entry_points: False gives a host with no plugins (tests register their own).
    :returns: the :class:`PluginHost`; plugins that failed to import are listed in its
        ``failures`` and the rest are loaded.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    skip = set(disabled_from_env() if disabled is None else disabled)
    failures: dict[str, str] = {}
    dists: dict[str, tuple[str, str]] = {}
    if load_entry_points:
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in skip or pm.has_plugin(ep.name):
                continue
            try:
                module = ep.load()
            except Exception as exc:  # a broken plugin must not take the host down
                failures[ep.name] = f"{type(exc).__name__}: {exc}"
                log.warning("plugin %r failed to load and is skipped: %s", ep.name, exc)
                continue
            pm.register(module, name=ep.name)
            if ep.dist is not None:
                dists[ep.name] = (ep.dist.name, ep.dist.version)
    pm.check_pending()
    return PluginHost(pm, failures=failures, distributions=dists)


class PluginHost:
    """Typed, routed access to the plugins. Build it with :func:`build_manager`."""

    def __init__(
        self,
        pm: pluggy.PluginManager,
        *,
        failures: dict[str, str] | None = None,
        distributions: dict[str, tuple[str, str]] | None = None,
    ) -> None:
        self.pm = pm
        self.failures = dict(failures or {})
        self._dists = dict(distributions or {})
        self._callers: dict[tuple[str, str], Any] = {}
        self._options: dict[str, tuple[Option, ...] | None] = {}
        self._states: StateKeeper | None = None

    def keep_state_in(self, keeper: StateKeeper) -> None:
        """Keep the integrations' states (``Integration.state``) in ``keeper``, the store
        (the engine and the CLI set it); until then a plugin's state lives in this process."""
        self._states = keeper

    # -- registry --------------------------------------------------------------------------

    def register(self, plugin: object, name: str) -> None:
        """Register a plugin object under ``name`` (tests, and built-in plugins)."""
        self.pm.register(plugin, name=name)
        self.pm.check_pending()
        self._callers.clear()
        self._options.clear()

    def unregister(self, name: str) -> None:
        """Remove the plugin registered under ``name``."""
        self.pm.unregister(name=name)
        self._callers.clear()
        self._options.clear()

    def names(self) -> list[str]:
        """Names of the loaded plugins, sorted."""
        return sorted(name for name, _ in self.pm.list_name_plugin() if name is not None)

    def info(self) -> list[PluginInfo]:
        """What each loaded plugin is and which hooks it implements."""
        out = []
        for name in self.names():
            plugin = self.pm.get_plugin(name)
            hooks = tuple(sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or []))
            dist, version = self._dists.get(name, (None, None))
            out.append(PluginInfo(name=name, distribution=dist, version=version, hooks=hooks))
        return out

    def _caller(self, hook: str, plugin: str) -> Any:
        key = (hook, plugin)
        if key not in self._callers:
            if not self.pm.has_plugin(plugin):
                raise ConfigError(self._missing(plugin))
            others = [p for n, p in self.pm.list_name_plugin() if n != plugin]
            self._callers[key] = self.pm.subset_hook_caller(hook, remove_plugins=others)
        return self._callers[key]

    def implements(self, hook: str, plugin: str) -> bool:
        """Whether the plugin registered as ``plugin`` implements ``hook``."""
        return self.pm.has_plugin(plugin) and bool(self._caller(hook, plugin).get_hookimpls())

    def _missing(self, plugin: str) -> str:
        if plugin in self.failures:
            return f"plugin {plugin!r} is installed but failed to load ({self.failures[plugin]})"
        installed = ", ".join(self.names()) or "none"
        return (
            f"plugin {plugin!r} is not installed (installed: {installed}); "
            f"install its distribution or fix the plugin name"
        )

    def _call(self, hook: str, plugin: str, **kwargs: Any) -> Any:
        """Call ``hook`` of ``plugin`` alone; what it raises that is not the host's own
        becomes a :func:`plugin_failure`. The integration it is given keeps its state where
        this host keeps states (:meth:`keep_state_in`)."""
        integration = kwargs.get("integration")
        if self._states is not None and integration and integration.state_keeper is None:
            kwargs["integration"] = dataclasses.replace(integration, state_keeper=self._states)
        caller = self._caller(hook, plugin)
        with blaming(plugin, hook):
            return caller(**kwargs)

    def _first(self, hook: str, plugin: str, **kwargs: Any) -> Any:
        result = self._call(hook, plugin, **kwargs)
        if result is None and hook != "validate_address":
            raise DefiniteError(f"plugin {plugin!r} does not implement {hook}")
        return result

    # -- the hooks, routed --------------------------------------------------------------------

    def list_request_types(self, integration: Integration) -> list[RequestType]:
        """Request types the integration's plugin offers (see the hook spec)."""
        results = self._call("list_request_types", integration.plugin, integration=integration)
        with blaming(integration.plugin, "list_request_types"):  # each answer must be a list
            return [rt for batch in results for rt in batch]

    def submit(self, integration: Integration, issue: Issue) -> Submission:
        """Create (or find) the remote request of ``issue`` (see the hook spec)."""
        result: Submission = self._first(
            "submit", integration.plugin, integration=integration, issue=issue
        )
        return result

    def poll(self, integration: Integration, tracked: list[Tracked]) -> list[RemoteUpdate]:
        """Read a batch of remote requests (see the hook spec)."""
        result: list[RemoteUpdate] = self._first(
            "poll", integration.plugin, integration=integration, tracked=tracked
        )
        return result

    def resolve_pending(self, integration: Integration, pending: list[Pending]) -> list[Resolution]:
        """The remote ids of creates left pending under a token (see the hook spec)."""
        result: list[Resolution] = self._first(
            "resolve_pending", integration.plugin, integration=integration, pending=pending
        )
        return result

    def check_connection(self, integration: Integration) -> str | None:
        """One line proving the endpoint takes the credentials, or None when the plugin has
        no such check (see the hook spec)."""
        result = self._call("check_connection", integration.plugin, integration=integration)
        return None if result is None else str(result)

    def push_comment(self, integration: Integration, issue: Issue, comment: Comment) -> str:
        """Add a local comment to the remote request; returns the remote comment id."""
        result = self._first(
            "push_comment",
            integration.plugin,
            integration=integration,
            issue=issue,
            comment=comment,
        )
        return str(result)

    def push_attachment(
        self, integration: Integration, issue: Issue, attachment: Attachment
    ) -> str:
        """Attach a photo to the remote request; returns the remote attachment id."""
        result = self._first(
            "push_attachment",
            integration.plugin,
            integration=integration,
            issue=issue,
            attachment=attachment,
        )
        return str(result)

    def cancel_request(self, integration: Integration, issue: Issue, reason: str) -> str:
        """Cancel the issue's remote request (see the hook spec); one line of what was done."""
        result = self._first(
            "cancel_request", integration.plugin, integration=integration, issue=issue,
            reason=reason,
        )  # fmt: skip
        return str(result)

    def cancels_remotely(self, integration: Integration) -> bool:
        """Whether the integration's plugin cancels remote requests (the hook, and its
        capability)."""
        return (
            self.implements("cancel_request", integration.plugin)
            and self.capabilities(integration).remote_cancel
        )

    def takes_attachments(self, integration: Integration) -> bool:
        """Whether the integration's plugin uploads photos (the hook, and its capability)."""
        return (
            self.implements("push_attachment", integration.plugin)
            and self.capabilities(integration).attachments
        )

    def validate_address(self, geocoder: Geocoder, issue: Issue) -> AddressCheck | None:
        """Check the issue's address with the geocoder's plugin (see the hook spec)."""
        result: AddressCheck | None = self._first(
            "validate_address", geocoder.plugin, geocoder=geocoder, issue=issue
        )
        return result

    def place_address(self, geocoder: Geocoder, address: str) -> AddressCheck | None:
        """Where the geocoder places ``address`` (see the hook spec); None when it cannot."""
        from .models import AddressCheck

        result = self._call("place_address", geocoder.plugin, geocoder=geocoder, address=address)
        return result if isinstance(result, AddressCheck) else None

    def probe_geocoder(self, geocoder: Geocoder) -> str:
        """One harmless read of the geocoder, for ``scf doctor``."""
        return str(self._first("probe_geocoder", geocoder.plugin, geocoder=geocoder))

    def capabilities(self, integration: Integration) -> Capabilities:
        """What the integration's remote system does (the defaults when the plugin is silent)."""
        from .models import Capabilities

        result = self._call("capabilities", integration.plugin, integration=integration)
        return result if isinstance(result, Capabilities) else Capabilities()

    def list_statuses(self, integration: Integration) -> list[str] | None:
        """The remote system's status codes, or None when its plugin cannot list them."""
        result = self._call("list_statuses", integration.plugin, integration=integration)
        return None if result is None else [str(code) for code in result]

    def plugin_options(self, plugin: str) -> tuple[Option, ...] | None:
        """The options ``plugin`` declares (see the ``plugin_options`` hook), or None when it
        declares none or is not loaded (its options are then left as written)."""
        if not self.pm.has_plugin(plugin):
            return None
        if plugin not in self._options:
            result = self._call("plugin_options", plugin)
            with blaming(plugin, "plugin_options"):  # the answer must be Options
                self._options[plugin] = None if result is None else tuple(result)
        return self._options[plugin]

    def check_options(self, settings: Integration | Geocoder) -> list[str]:
        """The declared options of ``settings`` checked as the config reader checks them, for
        settings built by hand (a test), one ``key: problem`` line each; none for settings
        read from a config (the reader has checked them) or a plugin that declares none."""
        from .config.options import check_options

        declared = self.plugin_options(settings.plugin)
        if declared is None:
            return []
        _, problems = check_options(declared, settings.plugin, settings.options)
        return [f"{key}: {text}" for key, text in problems]

    def check_integration(self, integration: Integration) -> list[str]:
        """The integration's declared options (:meth:`check_options`), then the plugin's own
        checks of its settings."""
        found = self.check_options(integration)
        results = self._call("check_integration", integration.plugin, integration=integration)
        with blaming(integration.plugin, "check_integration"):  # each answer must be a list
            return found + [line for batch in results for line in batch]

    def check_geocoder(self, geocoder: Geocoder) -> list[str]:
        """The geocoder's declared options (:meth:`check_options`), then the plugin's own
        checks of its settings."""
        found = self.check_options(geocoder)
        results = self._call("check_geocoder", geocoder.plugin, geocoder=geocoder)
        with blaming(geocoder.plugin, "check_geocoder"):  # each answer must be a list
            return found + [line for batch in results for line in batch]

    def register_commands(self, cli: click.Group) -> None:
        """Let every plugin add its commands to the CLI."""
        self.pm.hook.register_commands(cli=cli)

    def start_standin(self, plugin: str, users: Mapping[str, str]) -> StandIn | None:
        """Start the stand-in server of ``plugin`` (see the hook spec), or None when that
        plugin has none.

        :raises ConfigError: when no plugin of that name is loaded.
        """
        result: StandIn | None = self._call("start_standin", plugin, users=users)
        return result
