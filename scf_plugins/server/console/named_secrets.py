"""The named extra secrets an integration's plugin declares (an ``Option`` of kind
``secret``, such as Accela's ``app_secret``), as an integration's page shows them: a readable
name for the form's label and button, the plugin's description as its hint, and whether each
is set in each environment (in words, never the value).

They are stored as ``scf credentials set NAME --env ENV --key KEY`` stores them (saved through
:func:`.passwords.save`); ``SCF_<NAME>_<ENV>_<KEY>`` in the environment wins over the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .endpoints import password_state

if TYPE_CHECKING:
    from ...config.settings import Settings
    from ...models import Option
    from ...plugins import PluginHost


@dataclass(frozen=True)
class NamedSecret:
    """One declared secret of one environment: its key (``app_secret``), its label (``App
    secret``), the plugin's words for it (``The application's secret``; may be empty) and
    whether it is set (:func:`.endpoints.password_state`'s words)."""

    key: str
    label: str
    hint: str
    state: str


def label(key: str) -> str:
    """A secret's name as a person reads it: ``app_secret`` is ``App secret``."""
    words = key.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _hint(option: Option) -> str:
    text = option.description.strip()
    return text[:1].upper() + text[1:] if text else ""


def declared(host: PluginHost, settings: Settings, name: str) -> tuple[Option, ...]:
    """The secrets integration ``name``'s plugin declares, in its order (none when the plugin
    declares no options, or is not loaded)."""
    options = host.plugin_options(settings.integrations[name].plugin) or ()
    return tuple(option for option in options if option.kind == "secret")


def by_environment(
    host: PluginHost, settings: Settings, name: str, environments: Iterable[str]
) -> dict[str, list[NamedSecret]]:
    """Each environment's declared secrets with their states. Runs off the event loop (it
    reads the secrets file)."""
    options = declared(host, settings, name)
    return {
        env: [
            NamedSecret(o.name, label(o.name), _hint(o), password_state(name, env, o.name))
            for o in options
        ]
        for env in environments
    }
