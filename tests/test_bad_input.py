"""Bad input gets a clear LoyaltyError or ValueError and writes nothing."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from flask_loyalty_rewards import (
    InvalidInput,
    LoyaltyError,
    LoyaltyRewards,
    NotFound,
    RewardType,
    RewardUnavailable,
    bounds,
    errors,
)
from flask_loyalty_rewards.cashback.payouts import cashback_amount
from flask_loyalty_rewards.services.campaigns import check_campaign
from tests.host import db, loyalty, models
from tests.support.admin import campaign_values

NAIVE = dt.datetime(2026, 6, 1, 12, 0)


def row_counts() -> dict[str, int]:
    return {
        t.name: db.session.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
        for t in models.tables()
    }


@pytest.fixture
def customer(frozen_clock, make_customer):
    alice = make_customer()
    loyalty.earn_points(alice, 500)
    return alice


def refused_without_writes(call: Any, error: type[Exception] = ValueError) -> Exception:
    before = row_counts()
    with pytest.raises(error) as raised:
        call()
    db.session.rollback()
    assert row_counts() == before
    return raised.value


@pytest.mark.parametrize("points", [0, -5, 10**13, 1.5, "100", None, True, float("nan")])
def test_earning_an_impossible_number_of_points_is_refused(customer, points):
    error = refused_without_writes(lambda: loyalty.earn_points(customer, points))
    assert isinstance(error, InvalidInput | LoyaltyError)


def test_earning_with_a_naive_expiry_is_refused(customer):
    error = refused_without_writes(lambda: loyalty.earn_points(customer, 10, expires_at=NAIVE))
    assert "timezone-aware" in str(error)


def test_earning_points_that_expired_already_is_refused(customer, frozen_clock):
    refused_without_writes(
        lambda: loyalty.earn_points(
            customer, 10, expires_at=frozen_clock() - dt.timedelta(seconds=1)
        )
    )


def test_pending_points_must_become_available_before_they_expire(customer, frozen_clock):
    now = frozen_clock()
    refused_without_writes(
        lambda: loyalty.earn_points(
            customer,
            10,
            expires_at=now + dt.timedelta(days=1),
            available_from=now + dt.timedelta(days=2),
        )
    )


@pytest.mark.parametrize("who", ["1", 1.0, None, True, 2**70, object()])
def test_a_customer_of_the_wrong_type_is_refused(ctx, frozen_clock, who):
    refused_without_writes(lambda: loyalty.earn_points(who, 10))


def test_an_unknown_customer_is_refused(ctx, frozen_clock):
    refused_without_writes(lambda: loyalty.earn_points(987_654, 10), NotFound)


@pytest.mark.parametrize("campaign", ["1", 1.5, None, -1, 0, 2**40])
def test_a_campaign_of_the_wrong_type_is_refused(customer, campaign):
    refused_without_writes(lambda: loyalty.redeem(customer, campaign))


def test_an_unknown_campaign_is_refused(customer):
    error = refused_without_writes(lambda: loyalty.redeem(customer, 424_242), RewardUnavailable)
    assert error.reason == "not_found"  # type: ignore[attr-defined]


def test_redeeming_by_keys_names_the_one_that_is_unknown(customer, make_campaign):
    campaign_id = make_campaign().id
    refused_without_writes(lambda: loyalty.redeem(987_654, campaign_id), NotFound)
    error = refused_without_writes(lambda: loyalty.redeem(customer.id, 424_242), RewardUnavailable)
    assert error.reason == "not_found"  # type: ignore[attr-defined]


@pytest.mark.parametrize("who", ["1", 1.0, None, True, 2**70])
def test_redeeming_for_a_customer_key_of_the_wrong_type_is_refused(customer, make_campaign, who):
    campaign_id = make_campaign().id
    refused_without_writes(lambda: loyalty.redeem(who, campaign_id))


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, 42])
def test_a_bad_idempotency_key_is_refused(customer, make_campaign, key):
    campaign = make_campaign()
    refused_without_writes(lambda: loyalty.redeem(customer, campaign, idempotency_key=key))


def test_an_unknown_delivery_status_is_refused(customer, make_campaign):
    reward = loyalty.redeem(customer, make_campaign())
    refused_without_writes(lambda: loyalty.set_delivery_status(reward, "lost-in-space"))


@pytest.mark.parametrize("reason", ["", "  ", None, 5])
def test_a_cancellation_without_a_reason_is_refused(customer, make_campaign, reason):
    reward = loyalty.redeem(customer, make_campaign())
    refused_without_writes(lambda: loyalty.cancel_redemption(reward, reason=reason))


def test_running_expiry_with_a_naive_now_is_refused(ctx):
    refused_without_writes(lambda: loyalty.run_expiry(NAIVE))


def test_an_admin_adjustment_of_zero_is_refused(customer):
    refused_without_writes(lambda: loyalty.adjust_points(customer, 0, reason="nothing"))


def test_every_refusal_has_a_stable_code_and_a_message(customer):
    with pytest.raises(LoyaltyError) as raised:
        loyalty.earn_points(customer, -1)
    payload = raised.value.to_dict()
    assert payload["code"] == "invalid_input"
    assert payload["message"]


# -- bounds (docs: bounds): one definition of each, checked before anything is written --------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"cost_in_points": 2**63}, "cost_in_points"),
        ({"cost_in_points": bounds.MAX_POINTS + 1}, "cost_in_points"),
        ({"total_limit": 2**31}, "total_limit"),
        ({"total_limit": 10**25}, "total_limit"),
        ({"per_customer_limit": 2**31}, "per_customer_limit"),
        ({"days_inactive": 36_501}, "days_inactive"),
        ({"tax_value": Decimal("NaN")}, "tax_value"),
        ({"tax_value": Decimal("sNaN")}, "tax_value"),
        ({"tax_value": Decimal("Infinity")}, "tax_value"),
        ({"tax_value": Decimal("0.001")}, "tax_value"),
        ({"tax_value": 1.5}, "tax_value"),
        ({"reward_value": Decimal("1E+10")}, "reward_value"),
        ({"reward_value": Decimal("-Infinity")}, "reward_value"),
        ({"cashback_point_value": Decimal("1E+30")}, "cashback_point_value"),
        ({"cashback_point_value": Decimal("sNaN")}, "cashback_point_value"),
        ({"cashback_point_value": Decimal("0.0000001")}, "cashback_point_value"),
        # cost times the worth of a point is the payout: it must fit a money column too
        (
            {"cost_in_points": 10**12, "cashback_point_value": Decimal("0.01")},
            "cashback_point_value",
        ),
    ],
)
def test_a_campaign_value_past_its_bound_is_a_field_error(changes, field):
    campaign = models.RewardCampaign(**campaign_values(**changes))
    with pytest.raises(InvalidInput) as raised:
        check_campaign(campaign)
    assert field in raised.value.details


@pytest.mark.parametrize(
    "at_most",
    [
        {
            "cost_in_points": bounds.MAX_POINTS,
            "tax_value": bounds.MAX_MONEY,
            "reward_value": bounds.MAX_MONEY,
            "total_limit": bounds.MAX_COUNT,
            "per_customer_limit": bounds.MAX_COUNT,
            "days_inactive": bounds.MAX_DAYS,
            "days_valid": bounds.MAX_DAYS,
        },
        # the largest payout a cost times the worth of a point may make
        {"cost_in_points": 100, "cashback_point_value": bounds.MAX_POINT_VALUE},
    ],
)
def test_a_campaign_at_its_bounds_is_kept_exactly_on_every_backend(make_campaign, at_most):
    check_campaign(models.RewardCampaign(**campaign_values(**at_most)))
    campaign_id = make_campaign(**at_most).id
    db.session.expire_all()
    stored = db.session.get(models.RewardCampaign, campaign_id)
    assert {name: getattr(stored, name) for name in at_most} == at_most


@pytest.mark.parametrize(
    "per_point", [Decimal("1E+30"), Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity")]
)
def test_a_cashback_amount_out_of_range_is_refused_not_a_crash(per_point):
    campaign = models.RewardCampaign(
        **campaign_values(
            reward_type=RewardType.CASHBACK, cashback_point_value=per_point, cost_in_points=10
        )
    )
    with pytest.raises(RewardUnavailable) as raised:
        cashback_amount(campaign)
    assert raised.value.reason == "cashback_not_configured"


@pytest.mark.parametrize("points", [2**63, -(2**63), bounds.MAX_POINTS + 1])
def test_points_past_the_bound_are_a_field_error(customer, points):
    error = refused_without_writes(lambda: loyalty.adjust_points(customer, points, reason="x"))
    assert "delta" in error.details  # type: ignore[attr-defined]
    error = refused_without_writes(lambda: loyalty.earn_points(customer, abs(points)))
    assert "points" in error.details  # type: ignore[attr-defined]


@pytest.mark.parametrize("row_id", [2**31, 2**63, 10**30, -(2**63)])
def test_ids_no_row_can_have_are_refused_by_every_service(customer, make_campaign, row_id):
    reward = loyalty.redeem(customer, make_campaign())
    for call in (
        lambda: loyalty.redeem(customer, row_id),
        lambda: loyalty.mark_used(row_id),
        lambda: loyalty.cancel_redemption(row_id, reason="typo"),
        lambda: loyalty.set_delivery_status(row_id, "shipped"),
    ):
        refused_without_writes(call, LoyaltyError)
    assert reward.id is not None


@pytest.mark.parametrize(
    "text", ["\u0665", "\u0661\u0660", "\uff15", "1_0", "1e3", "NaN", "Infinity", " ", "", "0x10"]
)
def test_typed_numbers_take_ascii_digits_only(text):
    assert bounds.parse_whole(text) is None
    assert bounds.parse_id(text) is None
    assert bounds.parse_decimal(text) is None


def test_typed_numbers_in_ascii_digits_are_read():
    assert bounds.parse_whole(" -42 ") == -42
    assert bounds.parse_id("17") == 17
    assert bounds.parse_id(str(bounds.MAX_ID + 1)) is None
    assert bounds.parse_decimal("12.50") == Decimal("12.50")
    assert bounds.parse_decimal(".5") == Decimal("0.5")


# -- typed numbers on the customer's side: ASCII digits only ------------------------------------

ARABIC_FIVE = "\u0665"


def test_ids_in_other_scripts_digits_are_not_found_on_the_pages_and_the_api(
    app, client, shop, alice
):
    cheap = shop.campaign(cost_in_points=5)
    shop.earn(alice, 50)
    mine = shop.redeem(alice, cheap)
    for digits in (
        "".join(chr(0x0660 + int(d)) for d in str(mine)),
        "".join(chr(0xFF10 + int(d)) for d in str(mine)),
    ):
        assert client.get(f"/loyalty/my-rewards/{digits}").status_code == 404
        answer = client.get(f"/loyalty/api/redeemed-rewards/{digits}")
        assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "not_found"
    for huge in (2**31, 2**63, 10**30):
        assert client.get(f"/loyalty/my-rewards/{huge}").status_code == 404
        assert client.get(f"/loyalty/rewards/{huge}/redeem").status_code == 404


def test_page_numbers_take_ascii_digits_only(app, client, shop, alice):
    answer = client.get("/loyalty/api/redeemed-rewards", query_string={"page": ARABIC_FIVE})
    assert answer.status_code == 422
    assert "page" in answer.get_json()["error"]["details"]["fields"]
    assert client.get("/loyalty/my-rewards", query_string={"page": ARABIC_FIVE}).status_code == 200
    assert client.get("/loyalty/my-rewards", query_string={"page": str(10**30)}).status_code == 200


def test_the_cli_takes_ascii_digits_only(app):
    result = app.test_cli_runner().invoke(args=["loyalty", "cashback-sync", "--limit", ARABIC_FIVE])
    assert result.exit_code == 2
    assert "not a whole number" in result.output


# -- every public call raises only what its docstring lists ------------------------------------

#: Each public service method of the extension, with arguments that work (garbage replaces one).
PUBLIC_CALLS: dict[str, tuple[Any, ...]] = {
    "earn_points": ("customer", 10),
    "revoke_points": ("customer", "order-1"),
    "earn_for_order": ("customer", "order-9", 10),
    "reverse_order": ("customer", "order-9"),
    "adjust_points": ("customer", -10),
    "active_points": ("customer",),
    "points_summary": ("customer",),
    "points_needed": ("customer", "campaign"),
    "availability": ("customer", ["campaign"]),
    "redeem": ("customer", "campaign"),
    "mark_used": ("reward",),
    "find_coupon": ("customer", "code"),
    "use_coupon": ("customer", "code"),
    "unmark_used": ("reward",),
    "set_delivery_status": ("reward", "shipped"),
    "cancel_redemption": ("reward",),
    "add_pool_codes": ("campaign", "A1\nB2"),
    "run_expiry": (),
    "verify": (),
    "add_webhook_endpoint": ("https://example.invalid/hook",),
    "deliver_webhooks": (),
}
KEYWORDS: dict[str, dict[str, Any]] = {
    "revoke_points": {"reason": "refund"},
    "reverse_order": {"reason": "refund"},
    "adjust_points": {"reason": "typo"},
    "cancel_redemption": {"reason": "typo"},
}
GARBAGE = [None, True, -1, 0, 2**63, "", "x", 1.5, Decimal("NaN"), object(), ["x"], {"a": 1}]


def documented_raises(name: str) -> tuple[type[Exception], ...]:
    doc = getattr(LoyaltyRewards, name).__doc__ or ""
    line = (
        " ".join(doc.split("Raises:", 1)[1].split("\n\n", 1)[0].split()) if "Raises:" in doc else ""
    )
    assert line, f"LoyaltyRewards.{name} documents no Raises section"
    line = re.sub(r"\([^)]*\)", "", line)
    names = [n.strip(" .") for n in line.split(",") if n.strip(" .")]
    if names == ["nothing of its own: drift is returned"]:
        return ()
    found = tuple(getattr(errors, n, None) for n in names)
    assert all(isinstance(t, type) and issubclass(t, errors.LoyaltyError) for t in found), names
    return found  # type: ignore[return-value]


def test_every_public_service_call_documents_what_it_raises():
    public = {
        name
        for name, member in vars(LoyaltyRewards).items()
        if callable(member) and not name.startswith("_")
    } - {
        "init_app",
        "customer_loader",
        "customer_profile",
        "coupon_issuer",
        "on_change",
        "current_customer",
    }
    assert public == set(PUBLIC_CALLS)
    for name in public:
        documented_raises(name)


def test_public_service_calls_given_garbage_raise_only_what_they_document(
    customer, make_campaign, frozen_clock
):
    campaign = make_campaign(cost_in_points=5)
    loyalty.earn_points(customer, 10, idempotency_key="order-1")
    reward = loyalty.redeem(customer, campaign)
    good = {
        "customer": customer,
        "campaign": campaign,
        "reward": reward,
        "code": reward.coupon_code,
    }
    failures: list[str] = []
    for name, arguments in PUBLIC_CALLS.items():
        allowed = documented_raises(name)
        args = [good.get(a, a) if isinstance(a, str) else a for a in arguments]
        args = [[good["campaign"]] if a == ["campaign"] else a for a in args]
        for position in range(len(args)):
            for junk in GARBAGE:
                call_args = [*args]
                call_args[position] = junk
                try:
                    getattr(loyalty, name)(*call_args, **KEYWORDS.get(name, {}))
                except allowed:
                    pass
                except Exception as exc:
                    failures.append(f"{name}: argument {position} = {junk!r}: {exc!r}")
                finally:
                    db.session.rollback()
    assert not failures, failures
