"""The store's own secrets (store.meta_secrets): made once, on first use, and the same for
every worker on the store, even two asking at the same moment."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from scf_plugins.store.meta_secrets import meta_secret
from scf_plugins.store.store import Store
from scf_plugins.store.tables import meta


def test_a_secret_is_made_once_and_every_worker_reads_the_same(scf_database: str) -> None:
    workers = [Store.open(scf_database) for _ in range(4)]
    together = threading.Barrier(len(workers), timeout=10)

    def ask(store: Store) -> bytes:
        together.wait()
        return meta_secret(store, "test_signing_key")

    try:
        with ThreadPoolExecutor(len(workers)) as pool:
            keys = list(pool.map(ask, workers))
        assert len(set(keys)) == 1 and len(keys[0]) == 32
        assert meta_secret(workers[0], "test_signing_key") == keys[0]  # kept
        assert meta_secret(workers[0], "another_key") != keys[0]
        with workers[0].read() as conn:
            stored = conn.execute(select(meta.c.value).where(meta.c.key == "test_signing_key"))
            assert [bytes.fromhex(value) for value in stored.scalars()] == keys[:1]
    finally:
        for store in workers:
            store.close()
