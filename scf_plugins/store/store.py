"""The local store: issues, answers, comments, photos, cached request types and sync state.

SQLAlchemy Core over SQLite by default (any SQLAlchemy URL works, PostgreSQL for several
machines). :meth:`Store.open` connects (:mod:`.connect`) and brings the schema to this scf's
head (:mod:`.migrate`). The API is put together from one module per job:

- :mod:`.base`: the engine, the store's identity, transactions and reads;
- :mod:`.request_types`: the cache of request types;
- :mod:`.reads` and :mod:`.writes`: reading issues, and what people and clients change;
- :mod:`.photos`: residents' photos;
- :mod:`.states`: each integration's own state (``Integration.state``);
- :mod:`.rows`: rows to models, used by all of the above and by the engine.

The names callers import from here (``IssueRecord``, ``insert_comment``, …) stay importable
from this module.
"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from ..models import NewIssue
from . import migrate
from .connect import SQLITE_BUSY_MS, connect, database_error, readable_by_others
from .photos import Photos, insert_photo
from .reads import IssueReads
from .request_types import RequestTypeCache
from .rows import (
    ATTACHMENT_INFO,
    AttachmentInfo,
    IssueRecord,
    address_check_from_json,
    comment_from_row,
    issue_from_row,
    plugin_state_of,
    request_type_from_json,
    request_type_to_json,
)
from .states import IntegrationStates
from .tables import announced, store_id
from .writes import IssueWrites, insert_answers, insert_comment, next_generation


class Store(RequestTypeCache, IssueReads, IssueWrites, Photos, IntegrationStates):
    """The store behind one database URL."""

    @classmethod
    def open(cls, url: str) -> Store:
        """Connect to ``url``, creating the schema or bringing it to the head as needed
        (a SQLite store is upgraded here, after a copy; see :mod:`.migrate`).

        :raises ConfigError: an unusable URL or database, or a schema this scf may not use.
        """
        engine = connect(url)
        store = cls(engine)
        try:
            migrate.prepare(engine)
            with store.read() as conn:
                store.store_id = store_id(conn)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise database_error(url, exc) from None
        except BaseException:
            engine.dispose()
            raise
        return store


__all__ = [
    "ATTACHMENT_INFO",
    "SQLITE_BUSY_MS",
    "AttachmentInfo",
    "IssueRecord",
    "NewIssue",
    "Store",
    "address_check_from_json",
    "announced",
    "comment_from_row",
    "insert_answers",
    "insert_comment",
    "insert_photo",
    "issue_from_row",
    "next_generation",
    "plugin_state_of",
    "readable_by_others",
    "request_type_from_json",
    "request_type_to_json",
]
