"""The ``scf`` command line: the root group and its commands, one module per area."""

from . import admin, db, issues, links, notifications, running, serving, smtp, staff  # noqa: F401  (importing registers the commands)
from .root import cli, main

__all__ = ["cli", "main"]
