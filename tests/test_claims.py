"""Claims that share: concurrent claimers each win work, never the same rows, never nothing
while work remains (the lost race of a select-then-update under READ COMMITTED)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from scf_plugins.engine import leases
from scf_plugins.models import NewIssue, Status
from scf_plugins.store.store import Store
from scf_plugins.store.tables import issues
from scf_plugins.timeutil import utcnow


@pytest.fixture
def store(scf_database: str) -> Any:
    opened = Store.open(scf_database)
    yield opened
    opened.close()


def open_issues(conn: Any) -> list[Any]:
    return [issues.c.status == Status.OPEN.value, issues.c.integration == "cw"]


def test_two_claimers_racing_both_get_work(store: Any) -> None:
    for n in range(100):
        store.create_issue(NewIssue("POTHOLE", "cw", "101", f"hole {n}", 1.0, 2.0))
    now = utcnow()
    claim = dict(now=now, lease=timedelta(minutes=1), limit=16, columns=(issues.c.id,))
    won_b: list[Any] = []
    with store.engine.connect() as a:
        transaction = a.begin()
        won_a = leases.claim(a, issues, open_issues(a), owner="A", **claim)

        def claimer_b() -> None:
            with store.transaction() as b:
                won_b.extend(leases.claim(b, issues, open_issues(b), owner="B", **claim))

        racer = threading.Thread(target=claimer_b)
        racer.start()
        if store.engine.dialect.name == "postgresql":
            # SKIP LOCKED: B takes other rows at once instead of waiting on A's.
            racer.join(2)
            assert not racer.is_alive() and len(won_b) == 16
        # SQLite has one writer at a time: B's transaction waits for A's commit, so waiting
        # for B here would only wait out the join.
        transaction.commit()
    racer.join(10)
    ids_a, ids_b = {r["id"] for r in won_a}, {r["id"] for r in won_b}
    assert len(ids_a) == len(ids_b) == 16 and not ids_a & ids_b


def test_a_claim_returns_only_the_columns_asked_for(store: Any) -> None:
    store.create_issue(NewIssue("POTHOLE", "cw", "101", "hole", 1.0, 2.0))
    with store.transaction() as conn:
        [row] = leases.claim(
            conn, issues, open_issues(conn), owner="A", now=utcnow(),
            lease=timedelta(minutes=1), limit=5, columns=(issues.c.id, issues.c.summary),
        )  # fmt: skip
    assert dict(row) == {"id": 1, "summary": "hole"}


def test_the_outbox_sends_the_oldest_comments_first_whatever_their_issue(world: Any) -> None:
    """Comments go oldest first across issues (one at a time here, so in the order claimed),
    not issue by issue: one issue's many comments never hold the others' back."""
    w = world()
    w.path.write_text(w.path.read_text().replace("max_concurrency = 4", "max_concurrency = 1"))
    ids = [w.report(summary=f"Pothole {n}") for n in range(3)]
    w.sync()
    texts = [f"note {n}" for n in range(12)]
    for n, text in enumerate(texts):  # round-robin: 0, 3, 6, 9 on the first issue…
        assert w.cli("comment", str(ids[n % 3]), text).exit_code == 0
    assert w.sync().comments_out == 12
    sent = sorted(
        (c for issue_id in ids for c in w.emulator.state.comments[w.remote_id(issue_id)]),
        key=lambda c: c["CommentId"],
    )
    assert [c["Comments"].split(": ", 1)[-1] for c in sent] == texts
