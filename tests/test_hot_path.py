"""A redemption sends the number of statements docs/guides/databases.rst says, on each backend.

Round trips, not the work, set what a redemption costs, so the count is part of the contract: a
change that adds one shows here, and the docs' table must change with it. Counted are the
statements sent through the driver and the transaction's own: the ``BEGIN`` psycopg sends
before the first statement of a transaction, and the ``COMMIT`` (none when nothing is open).
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_loyalty_rewards import RewardUnavailable
from tests import host
from tests.support.clients import csrf_token, log_in
from tests.support.sql import round_trips

#: Statements of one redemption by keys (load, work, COMMIT), as the databases guide lists them.
STATEMENTS = {
    # customer and campaign in one query, the whole redemption (its event included) in one,
    # each committing by itself: no BEGIN, no COMMIT
    "postgresql": 2,
    # BEGIN IMMEDIATE, load, gate, active points after, lots, reward, entry, allocations,
    # lots again, history, the event, the campaign's limit, COMMIT
    "sqlite": 13,
    # the same without BEGIN IMMEDIATE
    "mariadb": 12,
}
#: With a total limit, PostgreSQL's load commits by itself and the statement runs in a
#: transaction (BEGIN, the statement, COMMIT); SQLite and MariaDB count the limit anyway.
LIMITED_STATEMENTS = {"postgresql": 4, "sqlite": 13, "mariadb": 12}
#: What an idempotency key adds: its look-up, and (step by step) its insert.
KEY_STATEMENTS = {"postgresql": 1, "sqlite": 2, "mariadb": 2}
#: What the API's POST adds: the customer loader's query, whose transaction the redemption
#: then owns (no savepoint); on PostgreSQL the BEGIN before it and the COMMIT after the
#: statement too, as the redemption cannot autocommit in a transaction already open.
API_STATEMENTS = {"postgresql": 3, "sqlite": 1, "mariadb": 1}


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
    with round_trips(host.db.engine) as statements:
        host.loyalty.redeem(*keys)
    assert len(statements) == STATEMENTS[backend], statements


def test_an_idempotency_key_adds_the_documented_number_of_statements(
    backend: str, keys: tuple[Any, Any]
) -> None:
    with round_trips(host.db.engine) as statements:
        host.loyalty.redeem(*keys, idempotency_key="order-1")
    assert len(statements) == STATEMENTS[backend] + KEY_STATEMENTS[backend], statements


def test_the_api_adds_the_documented_number_of_statements(
    backend: str, app: Flask, keys: tuple[Any, Any]
) -> None:
    """The redemption owns the transaction of the customer loader's read (no savepoint) and
    loads the campaign inside it."""
    client = log_in(app.test_client(), keys[0])
    headers = {"X-CSRFToken": csrf_token(client), "Idempotency-Key": "order-1"}
    host.db.session.remove()
    with round_trips(host.db.engine) as statements:
        answer = client.post(
            "/loyalty/api/redeemed-rewards", json={"campaign_id": keys[1]}, headers=headers
        )
    assert answer.status_code == 201, answer.get_json()
    expected = API_STATEMENTS[backend] + STATEMENTS[backend] + KEY_STATEMENTS[backend]
    assert len(statements) == expected, statements


def test_a_redemption_that_must_do_more_after_its_statement_keeps_one_transaction(
    backend: str, keys: tuple[Any, Any]
) -> None:
    """A total limit may still refuse after the statement, which must undo the redemption."""
    campaign = host.db.session.get(host.models.RewardCampaign, keys[1])
    campaign.total_limit = 5
    host.db.session.commit()
    host.db.session.remove()
    with round_trips(host.db.engine) as statements:
        host.loyalty.redeem(*keys)
    if backend == "postgresql":  # the load commits by itself; the rest is one transaction
        assert statements[1] == "BEGIN", statements
    assert statements[-1] == "COMMIT", statements
    assert len(statements) == LIMITED_STATEMENTS[backend], statements


@pytest.mark.parametrize("active", [True, False], ids=["redeemed", "refused"])
def test_after_a_redemption_the_session_is_transactional_again(
    keys: tuple[Any, Any], make_campaign: Any, active: bool
) -> None:
    """The autocommit of PostgreSQL's one-statement redemption ends with it, also when it is
    refused while autocommitting (here after the load): the host's next writes are a
    transaction, which a rollback undoes."""
    campaign_id = make_campaign(cost_in_points=10, active=active).id
    host.db.session.remove()
    with nullcontext() if active else pytest.raises(RewardUnavailable):
        host.loyalty.redeem(keys[0], campaign_id)
    campaign = host.db.session.get(host.models.RewardCampaign, campaign_id)
    campaign.name = "Renamed"
    host.db.session.flush()
    host.db.session.rollback()
    host.db.session.remove()
    assert host.db.session.get(host.models.RewardCampaign, campaign_id).name != "Renamed"


def test_over_psycopg_the_statement_goes_out_numbered_and_a_hosts_own_cursors_are_kept(
    backend: str, keys: tuple[Any, Any]
) -> None:
    """The one statement is sent with ``$n`` placeholders through psycopg's raw cursor (psycopg
    would rewrite its named ones on every call); on connections where the host chose other
    cursors (here client-side binding) it goes through those, named, and redeems the same."""
    if backend != "postgresql":
        pytest.skip("the one-statement redemption is PostgreSQL's")
    import psycopg

    with round_trips(host.db.engine) as statements:
        host.loyalty.redeem(*keys)
    assert "$1" in statements[-1] and "%(" not in statements[-1], statements[-1][:200]

    def client_side(dbapi_connection: Any, *args: Any) -> None:
        dbapi_connection.cursor_factory = psycopg.ClientCursor

    engine = host.db.engine
    sa.event.listen(engine, "checkout", client_side)
    try:
        with round_trips(host.db.engine) as statements:
            reward = host.loyalty.redeem(*keys)
        factory = host.db.session.connection().connection.driver_connection.cursor_factory
        assert factory is psycopg.ClientCursor
    finally:
        sa.event.remove(engine, "checkout", client_side)
        host.db.session.remove()
        engine.dispose()  # no pooled connection keeps the client-side cursors
    assert len(statements) == STATEMENTS[backend], statements
    assert "$1" not in statements[-1], statements[-1][:200]
    assert reward.cost_in_points == 10 and reward.active_points_after == 980
