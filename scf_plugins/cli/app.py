"""What a CLI command works with: the config, the plugins and the store, each built on first use."""

from __future__ import annotations

import getpass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ..config.settings import Settings, config_path, load_config
from ..plugins import PluginHost, build_manager

if TYPE_CHECKING:
    from ..store.store import Store


class _LazyStates:
    """The store's integration states, the store opened only when a plugin asks for one
    (most commands never do, and some run where no store can be opened)."""

    def __init__(self, app: App) -> None:
        self.app = app

    def read_integration_state(self, name: str) -> tuple[str | None, int]:
        """As the store reads it."""
        return self.app.store.read_integration_state(name)

    def write_integration_state(self, name: str, text: str, version: int) -> bool:
        """As the store writes it."""
        return self.app.store.write_integration_state(name, text, version)


class App:
    """Lazily built settings, plugin host and store for one CLI invocation."""

    def __init__(self, config: str | None = None, host: PluginHost | None = None) -> None:
        self.config_arg = config
        self._host = host

    @property
    def config_path(self) -> Path:
        """The config file this invocation uses."""
        return config_path(self.config_arg)

    @cached_property
    def settings(self) -> Settings:
        """The loaded, checked org config (the plugins' declared options checked too)."""
        return load_config(self.config_path, plugin_options=self.host.plugin_options)

    @cached_property
    def host(self) -> PluginHost:
        """The plugin host (entry points loaded), keeping integrations' states in the store
        (opened when a plugin first asks for one)."""
        host = self._host or build_manager()
        host.keep_state_in(_LazyStates(self))
        return host

    @cached_property
    def actor(self) -> str:
        """Who the audit log says acted: the operating-system user running this command."""
        try:
            user = getpass.getuser()
        except Exception:  # no user name known (a container's bare uid): still an entry
            user = ""
        return f"{user or 'unknown'} (cli)"

    @cached_property
    def store(self) -> Store:
        """The store named by the config (SQLAlchemy is imported only here, on first use)."""
        from ..store.store import Store

        return Store.open(self.settings.organization.database)
