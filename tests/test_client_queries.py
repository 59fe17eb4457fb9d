"""The rewards page and the rewards API issue a fixed number of queries, however many rewards."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from flask_loyalty_rewards import CodeSource
from tests import host
from tests.support.clients import log_in
from tests.support.factories import Rows
from tests.support.sql import statements

#: customer loader, campaigns, balance, per-customer limits, pool codes, points summary (3)
MOST_QUERIES = 9


def queries_for(app: Flask, client: Any, url: str) -> list[str]:
    with app.app_context():
        engine = host.db.engine
    with statements(engine) as seen:
        response = client.get(url)
    assert response.status_code == 200
    return [s for s in seen if s.lstrip().upper().startswith("SELECT")]


@pytest.mark.parametrize("url", ["/loyalty/", "/loyalty/api/rewards"])
def test_rewards_with_200_campaigns_take_a_bounded_number_of_queries(
    app: Flask, shop: Rows, url: str
) -> None:
    customer = shop.customer()
    shop.earn(customer, 150)
    client = app.test_client()
    log_in(client, customer)
    shop.campaign(name="Reward from a pool", code_source=CodeSource.POOL)
    shop.campaigns(1, per_customer_limit=2)
    one = queries_for(app, client, url)
    shop.campaigns(198, per_customer_limit=2)
    many = queries_for(app, client, url)
    assert len(many) <= MOST_QUERIES, many
    assert len(many) == len(one)
    assert client.get(url).get_data(as_text=True).count("Reward ") == 200
