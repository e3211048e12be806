"""The store's own secrets, kept in ``scf_meta``: random keys made the first time one is asked
for (the console's cookie-signing key, the unsubscribe links' key and the opt-outs' salt).

Kept in the store, a secret is the same for every worker on it and survives a restart.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .tables import meta

if TYPE_CHECKING:
    from .store import Store

SECRET_BYTES = 32


def meta_secret(store: Store, name: str) -> bytes:
    """The secret ``name`` (32 random bytes), made and kept under that key of ``scf_meta`` if
    it is not there yet; when two workers make it at once, the one stored first wins and both
    use it."""
    with store.read() as conn:
        found = conn.execute(select(meta.c.value).where(meta.c.key == name)).scalar()
    if found is None:
        try:
            with store.transaction() as conn:
                value = secrets.token_hex(SECRET_BYTES)
                conn.execute(meta.insert().values(key=name, value=value))
        except IntegrityError:
            pass  # another worker made it first: use theirs
        with store.read() as conn:
            found = conn.execute(select(meta.c.value).where(meta.c.key == name)).scalar()
    return bytes.fromhex(str(found))
