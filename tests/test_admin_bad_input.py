"""Bad input to the admin's forms and actions: a clear message, never a 500, never a write.

Ids no row can have (2**63 overflowed the database driver), numbers in other scripts' digits
(an Arabic-Indic five was taken as 5), NaN and amounts past a column's size all answer with a
flashed message or a field error, and change nothing.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_loyalty_rewards import CodeSource
from tests import host
from tests.support.admin import CAMPAIGNS, GRID, POINTS, campaign_form, csrf_token, flashes
from tests.support.clients import log_in

#: Ids that are not ids of any row: past INTEGER, past BIGINT, negative, zero, not ASCII.
BAD_IDS = [str(2**31), str(2**63), str(10**30), "-1", "0", "\u0665", "1_0", " ", "1e3", "x"]


def all_rows(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    with app.app_context():
        try:
            return {
                t.name: sorted(
                    (tuple(r) for r in host.db.session.execute(sa.select(t)).all()), key=repr
                )
                for t in host.models.tables()
            }
        finally:
            host.db.session.remove()


@pytest.fixture
def row(admin_data: Any) -> int:
    """One redeemed reward, with its customer and campaign."""
    return int(admin_data.redeemed(admin_data.customer(), admin_data.campaign(cost_in_points=5)))


#: Each row action of the grid and of the payouts, with the message for an unknown row.
ROW_ACTIONS = [
    (GRID + "usage/", {"used": "1"}, "That redeemed reward does not exist."),
    (GRID + "delivery/", {"status": "shipped"}, "That redeemed reward does not exist."),
    (GRID + "cancel/", {"reason": "typo"}, "That redeemed reward does not exist."),
    (GRID + "action/", {"action": "mark_used"}, "does not exist"),
    (CAMPAIGNS + "action/", {"action": "deactivate"}, "not a campaign"),
    ("/admin/loyalty/cashback/retry/", {}, "That payout does not exist."),
]


def test_actions_on_an_id_no_row_has_say_so_and_change_nothing(
    app: Flask, admin_client: Any, row: int
) -> None:
    token = csrf_token(admin_client)
    before = all_rows(app)
    for url, fields, message in ROW_ACTIONS:
        for bad_id in BAD_IDS:
            data = {**fields, "id": bad_id, "rowid": bad_id, "csrf_token": token}
            response = admin_client.post(url, data=data, follow_redirects=True)
            assert response.status_code == 200, (url, bad_id)
            assert message in flashes(response.get_data(as_text=True)), (url, bad_id)
    assert all_rows(app) == before


def test_pages_of_an_id_no_row_has_are_not_found(admin_client: Any, row: int) -> None:
    for bad_id in BAD_IDS:
        pool = admin_client.get(
            CAMPAIGNS + "pool/", query_string={"id": bad_id}, follow_redirects=True
        )
        assert "That reward campaign does not exist." in flashes(pool.get_data(as_text=True))
        for url in (CAMPAIGNS + "edit/", CAMPAIGNS + "details/", GRID + "details/"):
            response = admin_client.get(url, query_string={"id": bad_id}, follow_redirects=True)
            assert response.status_code == 200, (url, bad_id)
            assert "does not exist" in flashes(response.get_data(as_text=True)), (url, bad_id)


def test_an_adjustment_takes_ascii_digits_only(
    app: Flask, admin_client: Any, admin_data: Any
) -> None:
    customer = admin_data.customer()
    token = csrf_token(admin_client, f"{POINTS}customer/?customer_id={customer}")
    before = all_rows(app)
    for delta in ["\u0665", "\u0661\u0660", "1_0", "5e1", "NaN", str(2**63), "-" + str(2**63)]:
        response = admin_client.post(
            f"{POINTS}customer/adjust/?customer_id={customer}",
            data={"delta": delta, "reason": "gift", "csrf_token": token},
            follow_redirects=True,
        )
        shown = flashes(response.get_data(as_text=True))
        assert "No points changed" in shown or "Refused" in shown, delta
    assert all_rows(app) == before


def test_redeeming_on_behalf_takes_the_reward_by_ascii_digits_only(
    app: Flask, admin_client: Any, admin_data: Any
) -> None:
    customer = admin_data.customer()
    campaign = admin_data.campaign(cost_in_points=1)
    digits = "".join(chr(0x0660 + int(d)) for d in str(campaign))
    admin_data.run(lambda s, m: host.loyalty.earn_points(customer, 10))
    token = csrf_token(admin_client, f"{POINTS}customer/?customer_id={customer}")
    before = all_rows(app)
    response = admin_client.post(
        f"{POINTS}customer/redeem/?customer_id={customer}",
        data={"campaign": digits, "charge_points": "y", "csrf_token": token},
        follow_redirects=True,
    )
    assert "Nothing redeemed" in flashes(response.get_data(as_text=True))
    assert all_rows(app) == before


#: Campaign form values past a bound (docs: bounds), by field.
OUT_OF_BOUNDS = [
    ("cost_in_points", str(2**63)),
    ("cost_in_points", str(10**12 + 1)),
    ("cost_in_points", "\u0661\u0660\u0660"),
    ("total_limit", str(2**31)),
    ("total_limit", str(10**25)),
    ("per_customer_limit", str(2**31)),
    ("days_valid", "36501"),
    ("tax_value", "NaN"),
    ("tax_value", "sNaN"),
    ("tax_value", "Infinity"),
    ("tax_value", "10000000000"),
    ("tax_value", "0.001"),
    ("reward_value", "-Infinity"),
    ("cashback_point_value", "1e30"),
    ("cashback_point_value", "1" + "0" * 30),
    ("cashback_point_value", "NaN"),
    ("cashback_point_value", "0.0000001"),
]


def test_a_campaign_value_out_of_bounds_is_a_field_error(app: Flask, admin_client: Any) -> None:
    token = csrf_token(admin_client, CAMPAIGNS + "new/")
    before = all_rows(app)
    for field, value in OUT_OF_BOUNDS:
        data = campaign_form(**{field: value}, csrf_token=token)
        if field == "cashback_point_value":
            data.update(reward_type="cashback", fulfillment_tracking="", currency="EUR")
        response = admin_client.post(CAMPAIGNS + "new/", data=data)
        assert response.status_code == 200, (field, value)
        assert field_errors(response.get_data(as_text=True), field), (field, value)
    assert all_rows(app) == before


def field_errors(page: str, field: str) -> bool:
    """Whether the form marks ``field`` invalid (Flask-Admin's Bootstrap 4 markup)."""
    return bool(re.search(rf'class="[^"]*is-invalid[^"]*"[^>]*id="{field}"', page))


# -- fuzzing every admin form and action and the client's redeem form -----------------------------

#: What a careless admin or an attacker types: text, huge and negative numbers, NaN, other
#: scripts' digits, ids past every column.
TYPED = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["NaN", "sNaN", "-Infinity", "1e30", "0.001", "", " ", "1_0", "y"]),
    st.lists(st.integers(0, 9), min_size=1, max_size=4).map(
        lambda ds: "".join(chr(0x0660 + d) for d in ds)
    ),
    st.sampled_from([str(2**31), str(2**63), str(2**64), "-" + str(2**63)]),
)


def fuzz_targets(ids: dict[str, int]) -> list[tuple[str, dict[str, str]]]:
    """Every admin form and action, and the client's redeem form, with valid values."""
    customer, campaign, reward = ids["customer"], ids["campaign"], ids["reward"]
    return [
        (CAMPAIGNS + "new/", campaign_form()),
        (f"{CAMPAIGNS}edit/?id={campaign}", campaign_form()),
        (CAMPAIGNS + "action/", {"action": "deactivate", "rowid": str(campaign)}),
        (f"{CAMPAIGNS}pool/?id={ids['pool']}", {"text": "FUZZ1"}),
        (GRID + "usage/", {"id": str(reward), "used": "1"}),
        (GRID + "delivery/", {"id": str(reward), "status": "shipped"}),
        (GRID + "cancel/", {"id": str(reward), "reason": "typo"}),
        (GRID + "action/", {"action": "unmark_used", "rowid": str(reward)}),
        (f"{POINTS}customer/adjust/?customer_id={customer}", {"delta": "5", "reason": "gift"}),
        (
            f"{POINTS}customer/redeem/?customer_id={customer}",
            {"campaign": str(campaign), "charge_points": "y"},
        ),
        ("/admin/loyalty/cashback/retry/", {"id": str(ids["payout"])}),
        ("/admin/loyalty/cashback/cancel/", {"id": str(ids["payout"]), "reason": "typo"}),
        ("/admin/loyalty/cashback/settle/", {"id": str(ids["payout"]), "outcome": "paid"}),
        (f"/loyalty/rewards/{campaign}/redeem", {"idempotency_key": "k" * 22}),
    ]


def refused(client: Any, url: str, response: Any) -> bool:
    """Whether the request was turned down: a form shown again, or only error flashes."""
    with client.session_transaction() as flask_session:
        shown = flask_session.pop("_flashes", [])
    if url.startswith("/loyalty/"):  # the client's redeem form redirects to the new reward
        return bool(response.status_code != 303)
    if 'id="loyalty-pool-report"' in response.get_data(as_text=True):
        return False
    return response.status_code != 302 or not any(c == "success" for c, _ in shown)


def fuzz_admin(app: Flask, admin_client: Any, admin_data: Any, examples: int) -> int:
    from tests.support.cashback import cashback_campaign, cashback_customer

    customer = admin_data.customer()
    campaign = admin_data.campaign(cost_in_points=5)
    admin_data.run(lambda s, m: host.loyalty.earn_points(customer, 50))

    def cashback_payout(session: Any, models: Any) -> int:
        redeemed = host.loyalty.redeem(cashback_customer(points=600), cashback_campaign())
        return int(
            session.query(models.CashbackPayout).filter_by(redeemed_reward_id=redeemed.id).one().id
        )

    ids = {
        "customer": customer,
        "campaign": campaign,
        "pool": admin_data.campaign(code_source=CodeSource.POOL),
        "reward": admin_data.redeemed(customer, campaign, used=True),
        "payout": admin_data.run(cashback_payout),
    }
    targets = fuzz_targets(ids)
    token = csrf_token(admin_client)
    log_in(admin_client, admin_client.admin_id)
    sent: list[int] = []

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        target=st.sampled_from(range(len(targets))),
        changes=st.dictionaries(st.sampled_from(range(24)), TYPED, min_size=1, max_size=4),
    )
    def post_garbage(target: int, changes: dict[int, str]) -> None:
        url, data = targets[target]
        names = sorted({*data, "id", "rowid"})
        data = {**data, **{names[i % len(names)]: v for i, v in changes.items()}}
        before = all_rows(app)
        response = admin_client.post(url, data={**data, "csrf_token": token})
        sent.append(response.status_code)
        assert response.status_code < 500, (url, data)
        if refused(admin_client, url, response):
            assert all_rows(app) == before, (url, data)

    post_garbage()
    assert admin_data.run(lambda s, m: host.loyalty.verify()) == []
    return len(sent)


@pytest.mark.backends("sqlite")
def test_garbage_posted_to_every_form_is_refused_without_a_write(
    app: Flask, admin_client: Any, admin_data: Any
) -> None:
    assert fuzz_admin(app, admin_client, admin_data, examples=80) == 80


@pytest.mark.backends("postgresql")
def test_garbage_posted_to_every_form_is_refused_without_a_write_on_postgresql(
    app: Flask, admin_client: Any, admin_data: Any
) -> None:
    assert fuzz_admin(app, admin_client, admin_data, examples=20) == 20
