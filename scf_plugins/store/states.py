"""Integration states: each integration's small JSON object (a changes feed's cursor, an
ETag), kept for every worker and process on the store, written with compare-and-set.

The :class:`~scf_plugins.models.StateKeeper` the host hands plugins through
``Integration.state`` (:meth:`~scf_plugins.plugins.PluginHost.keep_state_in`). A write names
the version it read: it is kept (as the next version) only if no other writer got there
first, in one statement: an insert for the first version, else an update of that version's
row. Text and checks are the caller's (:class:`~scf_plugins.models.IntegrationState`).
"""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from ..timeutil import utcnow
from .base import StoreBase
from .tables import integration_states


class IntegrationStates(StoreBase):
    """The store's side of ``Integration.state``."""

    def read_integration_state(self, name: str) -> tuple[str | None, int]:
        """The state's JSON text and version; (None, 0) before the first write."""
        table = integration_states
        with self.read() as conn:
            row = conn.execute(
                select(table.c.state, table.c.version).where(table.c.integration == name)
            ).first()
        return (None, 0) if row is None else (str(row.state), int(row.version))

    def write_integration_state(self, name: str, text: str, version: int) -> bool:
        """Keep ``text`` as version ``version + 1`` if the state is at ``version``; False,
        with nothing written, when another writer changed it first."""
        table = integration_states
        now = utcnow()
        if version == 0:
            try:
                with self.transaction() as conn:
                    conn.execute(insert(table).values(
                        integration=name, state=text, version=1, updated_at=now))  # fmt: skip
            except IntegrityError:  # another writer made the first version
                return False
            return True
        with self.transaction() as conn:
            done = conn.execute(
                update(table)
                .where(table.c.integration == name, table.c.version == version)
                .values(state=text, version=version + 1, updated_at=now)
            )
            return done.rowcount == 1
