"""A redemption sends the number of statements docs/guides/databases.rst says, on each backend.

Round trips, not the work, set what a redemption costs, so the count is part of the contract: a
change that adds one shows here, and the docs' table must change with it. Counted are the
statements sent through the driver plus the COMMIT.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from tests import host

#: Statements of one redemption by keys (load, work, COMMIT), as the databases guide lists them.
STATEMENTS = {
    # customer and campaign in one query, the whole redemption (its event included) in one, COMMIT
    "postgresql": 3,
    # BEGIN IMMEDIATE, load, gate, active points after, lots, reward, entry, allocations,
    # lots again, history, the event, the campaign's limit, COMMIT
    "sqlite": 13,
    # the same without BEGIN IMMEDIATE
    "mariadb": 12,
}
#: What an idempotency key adds: its look-up, and (step by step) its insert.
KEY_STATEMENTS = {"postgresql": 1, "sqlite": 2, "mariadb": 2}


@contextmanager
def sent_statements() -> Iterator[list[str]]:
    statements: list[str] = []
    engine = host.db.engine

    def sent(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def committed(conn: Any) -> None:
        statements.append("COMMIT")

    sa.event.listen(engine, "before_cursor_execute", sent)
    sa.event.listen(engine, "commit", committed)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", sent)
        sa.event.remove(engine, "commit", committed)


@pytest.fixture
def keys(make_customer: Any, make_campaign: Any) -> tuple[Any, Any]:
    """A customer with points and a campaign, by key, on a fresh session: as a request has."""
    customer = make_customer()
    host.loyalty.earn_points(customer, 1_000)
    campaign = make_campaign(cost_in_points=10)
    ids = customer.id, campaign.id
    host.db.session.remove()
    return ids


def test_a_redemption_sends_the_documented_number_of_statements(
    backend: str, keys: tuple[Any, Any]
) -> None:
    with sent_statements() as statements:
        host.loyalty.redeem(*keys)
    assert len(statements) == STATEMENTS[backend], statements


def test_an_idempotency_key_adds_the_documented_number_of_statements(
    backend: str, keys: tuple[Any, Any]
) -> None:
    with sent_statements() as statements:
        host.loyalty.redeem(*keys, idempotency_key="order-1")
    assert len(statements) == STATEMENTS[backend] + KEY_STATEMENTS[backend], statements
