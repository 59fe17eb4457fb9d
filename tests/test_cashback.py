"""Cashback payouts: from redeeming points to money in the wallet, without loss or double pay."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_loyalty_rewards import (
    CouponStatus,
    InvalidInput,
    InvalidStatusChange,
    RewardType,
    RewardUnavailable,
)
from flask_loyalty_rewards.admin.redeemed import cashback_text
from flask_loyalty_rewards.cashback import PayoutDestination, PayoutState, actions, models, payouts
from flask_loyalty_rewards.cashback.paytm import PaytmProvider
from tests import host
from tests.support.cashback import cashback_campaign, cashback_customer, payout_of, status_of
from tests.support.clock import FakeClock
from tests.support.paytm import SHORT_TIMEOUT, FakePaytm


class Crash(BaseException):
    """The process dies here (power cut, OOM kill): nothing after it runs."""


# -- helpers and fixtures ------------------------------------------------------------------------


def context() -> Any:
    from flask_loyalty_rewards import get_state

    return get_state().current_context()


def redeem_cashback(**campaign_fields: Any) -> int:
    customer = cashback_customer()
    return int(host.loyalty.redeem(customer, cashback_campaign(**campaign_fields)).id)


@contextmanager
def impatient(app: Flask) -> Iterator[None]:
    """PayTM calls time out quickly in here (the fake's late answers come after it)."""
    app.config["LOYALTY_PAYTM_TIMEOUT"] = SHORT_TIMEOUT
    try:
        yield
    finally:
        app.config["LOYALTY_PAYTM_TIMEOUT"] = 10


def run_sync(app: Flask) -> str:
    """Run ``flask loyalty cashback-sync`` (outside any app context: as on another server)."""
    result = app.test_cli_runner().invoke(args=["loyalty", "cashback-sync"])
    assert result.exit_code == 0, result.output
    return str(result.output)


# -- the grid's text -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "text"),
    [
        ((0, "INIT", "INIT"), "0: INIT: INIT"),
        ((1, "DE_001", "Successful disbursal"), "1: DE_001: Successful disbursal"),
        ((2, "DE_603", "Insufficient balance"), "2: DE_603: Insufficient balance"),
        ((3, "DE_002", "Request accepted"), "3: DE_002: Request accepted"),
        ((3, "TIMEOUT", "No answer\nfrom  PayTM"), "3: TIMEOUT: No answer from PayTM"),
        ((2, "X", "m" * 400), "2: X: " + "m" * 249),
    ],
)
def test_status_text_is_code_provider_code_and_message(parts: tuple[Any, ...], text: str) -> None:
    assert models.status_text(*parts) == text


@pytest.mark.parametrize("reward_type", [t for t in RewardType if t is not RewardType.CASHBACK])
def test_other_reward_types_have_no_cashback_status_and_show_a_dash(
    ctx: Flask, reward_type: RewardType
) -> None:
    redeemed_id = redeem_cashback(reward_type=reward_type, reward_value=None)

    row = host.db.session.get(host.models.RedeemedReward, redeemed_id)
    assert row is not None
    assert row.cashback_status is None
    assert cashback_text(row) == "-"
    assert host.db.session.scalar(sa.select(sa.func.count(host.models.CashbackPayout.id))) == 0


# -- redeeming -----------------------------------------------------------------------------------


def test_redeeming_cashback_spends_points_and_records_an_init_payout(ctx: Flask) -> None:
    ctx.config["LOYALTY_CASHBACK_SEND_ON_REDEEM"] = False
    customer = cashback_customer(points=800)

    redeemed = host.loyalty.redeem(customer, cashback_campaign())

    assert host.loyalty.active_points(customer) == 300
    assert redeemed.cashback_status == "0: INIT: INIT"
    payout = payout_of(redeemed.id)
    assert (payout.state, payout.amount, payout.currency) == (
        PayoutState.INIT,
        Decimal("50.00"),
        "INR",
    )
    assert payout.provider == "manual"
    assert payout.order_id.startswith(f"CB{redeemed.id}-")
    assert payout.destination_phone == "+91 98765 43210"
    assert payout.attempts == 0


def test_a_cashback_that_cannot_be_paid_is_refused_and_spends_nothing(ctx: Flask) -> None:
    customer = cashback_customer(points=800)
    campaign = cashback_campaign()
    # The campaign rules refuse such a campaign on every flush; a row changed in SQL still can be.
    table = host.models.RewardCampaign.__table__
    host.db.session.execute(
        sa.update(table).where(table.c.id == campaign.id).values(reward_value=None)
    )
    host.db.session.commit()

    with pytest.raises(RewardUnavailable) as refused:
        host.loyalty.redeem(customer, campaign)

    assert refused.value.reason == "cashback_not_configured"
    assert host.loyalty.active_points(customer) == 800
    assert host.db.session.scalar(sa.select(sa.func.count(host.models.RedeemedReward.id))) == 0


@pytest.mark.parametrize(
    ("cost", "point_value", "amount"),
    [(500, "0.1", "50.00"), (333, "0.015", "4.99"), (999, "0.333333", "332.99")],
)
def test_points_times_point_value_rounds_down_to_the_cent(
    ctx: Flask, cost: int, point_value: str, amount: str
) -> None:
    campaign = cashback_campaign(
        cost_in_points=cost, reward_value=None, cashback_point_value=Decimal(point_value)
    )

    assert payouts.cashback_amount(campaign) == Decimal(amount)


def test_the_destination_hook_chooses_where_the_money_goes(ctx: Flask) -> None:
    seen: list[Any] = []

    def destination(customer: Any, redeemed: Any) -> PayoutDestination:
        seen.append((customer.email, redeemed.reward_name))
        return PayoutDestination(account_number="917777777777", ifsc="PYTM0123456", name="A Rao")

    ctx.config.update(LOYALTY_CASHBACK_DESTINATION=destination)
    payout = payout_of(redeem_cashback())

    assert seen and seen[0][1] == "Cashback 50"
    assert (payout.destination_account, payout.destination_ifsc) == ("917777777777", "PYTM0123456")


def test_a_destination_paytm_cannot_pay_is_refused_before_any_point_is_spent(
    ctx: Flask, paytm: FakePaytm
) -> None:
    customer = cashback_customer(points=800, phone="+48 600 000 001")

    with pytest.raises(RewardUnavailable) as refused:
        host.loyalty.redeem(customer, cashback_campaign())

    assert refused.value.reason == "cashback_unavailable"
    assert "10-digit Indian mobile number" in refused.value.message
    assert host.loyalty.active_points(customer) == 800
    assert paytm.requests == []


def test_the_rewards_page_disables_a_cashback_paytm_cannot_pay(
    ctx: Flask, paytm: FakePaytm
) -> None:
    customer = cashback_customer(points=800, phone="+48 600 000 001")
    campaign = cashback_campaign()

    found = host.loyalty.availability(customer, [campaign])[campaign.id]

    assert (found.can_redeem, found.reasons) == (False, ("cashback_unavailable",))
    assert "10-digit Indian mobile number" in (found.message or "")
    assert paytm.requests == []


# -- PayTM through the whole path ----------------------------------------------------------------


def test_a_paid_payout_shows_success_with_its_own_code(ctx: Flask, paytm: FakePaytm) -> None:
    redeemed_id = redeem_cashback()

    assert status_of(redeemed_id) == "1: DE_001: Successful disbursal to Wallet is done."
    payout = payout_of(redeemed_id)
    assert payout.state is PayoutState.SUCCESS
    assert payout.attempts == 1
    assert paytm.money_paid(payout.order_id) == 1


def test_a_pending_payout_shows_3_and_sync_settles_it_later(
    app: Flask, paytm: FakePaytm, frozen_clock: FakeClock
) -> None:
    paytm.next_transfers("ACCEPTED")
    with app.app_context():
        redeemed_id = redeem_cashback()
        assert status_of(redeemed_id) == "3: DE_002: Request accepted"
        order_id = payout_of(redeemed_id).order_id
    paytm.settle(order_id, "SUCCESS")

    assert "0 payout(s)" in run_sync(app)  # not due before the poll interval
    frozen_clock.advance(seconds=61)
    run_sync(app)

    with app.app_context():
        assert status_of(redeemed_id) == "1: DE_001: Successful disbursal to Wallet is done."
    assert paytm.paths().count("query") == 1


def test_a_refused_payout_shows_2_with_paytms_code_and_message(
    ctx: Flask, paytm: FakePaytm
) -> None:
    paytm.next_transfers("FAILURE")

    redeemed_id = redeem_cashback()

    assert status_of(redeemed_id) == "2: DE_603: Insufficient balance in the sub wallet"
    assert payout_of(redeemed_id).next_check_at is None  # only an admin moves it on


def test_a_timeout_that_had_succeeded_is_checked_and_paid_exactly_once(
    app: Flask, paytm: FakePaytm, frozen_clock: FakeClock
) -> None:
    paytm.next_transfers("LATE_SUCCESS")
    with app.app_context(), impatient(app):
        redeemed_id = redeem_cashback()
        waited = f"{SHORT_TIMEOUT:g} s"
        assert status_of(redeemed_id) == f"3: TIMEOUT: No answer from PayTM within {waited}"
        payout = payout_of(redeemed_id)
        assert payout.state is PayoutState.UNKNOWN

    frozen_clock.advance(seconds=61)
    run_sync(app)

    with app.app_context():
        assert status_of(redeemed_id) == "1: DE_001: Successful disbursal to Wallet is done."
    assert paytm.paths() == ["gratification", "query"]  # asked first, never sent again
    assert paytm.orders[payout.order_id].transfer_requests == 1
    assert paytm.money_paid(payout.order_id) == 1


@pytest.mark.parametrize("fault", ["GARBAGE", "ERROR_500", "LATE_NOTHING"])
def test_an_unreadable_answer_leaves_a_retryable_payout_that_is_paid_once(
    app: Flask, paytm: FakePaytm, frozen_clock: FakeClock, fault: str
) -> None:
    paytm.next_transfers(fault)
    with app.app_context(), impatient(app):
        redeemed_id = redeem_cashback()
        assert str(status_of(redeemed_id)).startswith("3: ")
        order_id = payout_of(redeemed_id).order_id

    frozen_clock.advance(seconds=61)
    run_sync(app)
    frozen_clock.advance(seconds=61)
    run_sync(app)

    with app.app_context():
        assert payout_of(redeemed_id).state is PayoutState.SUCCESS
        assert payout_of(redeemed_id).attempts == 2
    assert paytm.paths()[-2:] == ["query", "gratification"]  # not found, so sent again
    assert paytm.money_paid(order_id) == 1


def test_a_failed_status_check_keeps_what_paytm_last_said(
    app: Flask, paytm: FakePaytm, frozen_clock: FakeClock
) -> None:
    paytm.next_transfers("ACCEPTED")
    paytm.next_queries("ERROR_500")
    with app.app_context():
        redeemed_id = redeem_cashback()

    frozen_clock.advance(seconds=61)
    run_sync(app)

    with app.app_context():
        assert status_of(redeemed_id) == "3: DE_002: Request accepted"
        assert payout_of(redeemed_id).state is PayoutState.PENDING


def test_a_crash_between_commit_and_provider_call_is_completed_once_by_sync(
    app: Flask, paytm: FakePaytm, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(ctx: Any, payout_id: int) -> None:
        raise Crash

    monkeypatch.setattr(payouts, "send_now", crash)
    with app.app_context():
        customer = cashback_customer(points=800)
        campaign = cashback_campaign()
        with pytest.raises(Crash):
            host.loyalty.redeem(customer, campaign)
        host.db.session.rollback()
        redeemed_id = host.db.session.scalars(sa.select(host.models.RedeemedReward.id)).one()
        assert status_of(redeemed_id) == "0: INIT: INIT"
        assert host.loyalty.active_points(customer.id) == 300  # committed with the payout
    assert paytm.requests == []

    assert "1 payout(s) checked, 1 success" in run_sync(app)
    assert "0 payout(s) checked" in run_sync(app)

    with app.app_context():
        assert status_of(redeemed_id) == "1: DE_001: Successful disbursal to Wallet is done."
        order_id = payout_of(redeemed_id).order_id
    assert paytm.money_paid(order_id) == 1
    assert paytm.paths() == ["gratification"]


def test_a_worker_dying_after_sending_is_resolved_by_a_status_check_not_a_resend(
    app: Flask, paytm: FakePaytm, frozen_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = PaytmProvider.create_transfer

    def send_then_die(self: PaytmProvider, request: Any) -> Any:
        real(self, request)
        raise Crash

    monkeypatch.setattr(PaytmProvider, "create_transfer", send_then_die)
    with app.app_context():
        customer = cashback_customer()
        with pytest.raises(Crash):
            host.loyalty.redeem(customer, cashback_campaign())
        host.db.session.rollback()
        redeemed_id = host.db.session.scalars(sa.select(host.models.RedeemedReward.id)).one()
        assert payout_of(redeemed_id).state is PayoutState.SENDING
    monkeypatch.setattr(PaytmProvider, "create_transfer", real)

    assert "0 payout(s) checked" in run_sync(app)  # the dead worker's lease still holds
    frozen_clock.advance(seconds=121)
    run_sync(app)

    with app.app_context():
        payout = payout_of(redeemed_id)
        assert payout.state is PayoutState.SUCCESS
    assert paytm.paths() == ["gratification", "query"]
    assert paytm.money_paid(payout.order_id) == 1


def test_a_payout_whose_redemption_was_cancelled_is_never_sent(
    ctx: Flask, paytm: FakePaytm
) -> None:
    from flask_loyalty_rewards import clock

    ctx.config["LOYALTY_CASHBACK_SEND_ON_REDEEM"] = False
    redeemed_id = redeem_cashback()
    rr = host.models.RedeemedReward.__table__
    host.db.session.execute(  # cancelled behind the services' back (a data fix, an old row)
        sa.update(rr).where(rr.c.id == redeemed_id).values(canceled_at=clock.now())
    )
    host.db.session.commit()

    report = payouts.sync(context())

    assert report.checked == 0
    assert payout_of(redeemed_id).state is PayoutState.CANCELED
    assert status_of(redeemed_id) == (
        "2: CANCELED: The redemption was cancelled before the payout was sent"
    )
    assert paytm.requests == []


def test_two_workers_never_claim_the_same_payout(ctx: Flask, paytm: FakePaytm) -> None:
    ctx.config["LOYALTY_CASHBACK_SEND_ON_REDEEM"] = False
    redeemed_id = redeem_cashback()
    payout_id = payout_of(redeemed_id).id
    from flask_loyalty_rewards import clock

    first = payouts._claim(context(), clock.now(), limit=10)
    second = payouts._claim(context(), clock.now(), limit=10)

    assert [c.payout_id for c in first] == [payout_id]
    assert second == []
    assert payouts.process(context(), payout_id) is None  # claimed: hands off


# -- callbacks -----------------------------------------------------------------------------------


def post_callback(app: Flask, body: bytes, checksum: str) -> Any:
    return app.test_client().post(
        "/loyalty/cashback/callback/paytm",
        data=body,
        headers={"x-checksum": checksum, "Content-Type": "application/json"},
    )


def test_a_signed_callback_settles_a_pending_payout_and_repeats_change_nothing(
    app: Flask, paytm: FakePaytm
) -> None:
    paytm.next_transfers("ACCEPTED")
    with app.app_context():
        redeemed_id = redeem_cashback()
        order_id = payout_of(redeemed_id).order_id
    body, checksum = paytm.callback(order_id, "SUCCESS")

    first = post_callback(app, body, checksum)
    again = post_callback(app, body, checksum)
    late, late_checksum = paytm.callback(order_id, "PENDING")
    stale = post_callback(app, late, late_checksum)

    assert [first.status_code, again.status_code, stale.status_code] == [200, 200, 200]
    assert first.json == {
        "order_id": order_id,
        "cashback_status": "1: DE_001: Successful disbursal to Wallet is done.",
    }
    with app.app_context():
        assert status_of(redeemed_id) == "1: DE_001: Successful disbursal to Wallet is done."
        assert payout_of(redeemed_id).provider_reference == f"P{order_id}"


def test_a_callback_with_a_bad_signature_is_refused_and_changes_nothing(
    app: Flask, paytm: FakePaytm
) -> None:
    paytm.next_transfers("ACCEPTED")
    with app.app_context():
        redeemed_id = redeem_cashback()
        order_id = payout_of(redeemed_id).order_id
    body, _ = paytm.callback(order_id, "FAILURE")
    _, other_checksum = paytm.callback(order_id, "SUCCESS")

    response = post_callback(app, body, other_checksum)

    assert response.status_code == 400
    assert response.json is not None and response.json["error"]["code"] == "invalid_callback"
    with app.app_context():
        assert status_of(redeemed_id) == "3: DE_002: Request accepted"


def test_a_failure_notice_posted_again_after_a_retry_leaves_the_new_attempt_alone(
    app: Flask, paytm: FakePaytm
) -> None:
    paytm.next_transfers("FAILURE", "ACCEPTED")
    customer_points = 1000
    with app.app_context():
        customer = cashback_customer(points=customer_points)
        customer_id = customer.id
        redeemed_id = host.loyalty.redeem(customer, cashback_campaign()).id
        first_order_id = payout_of(redeemed_id).order_id
    body, checksum = paytm.callback(first_order_id, "FAILURE")
    assert post_callback(app, body, checksum).status_code == 200
    with app.app_context():
        actions.retry(context(), payout_of(redeemed_id).id, actor="admin:ops@example.com")

    replayed = post_callback(app, body, checksum)

    assert replayed.status_code == 409
    assert replayed.json is not None
    assert replayed.json["error"]["code"] == "stale_attempt"
    assert replayed.json["error"]["details"]["current_order_id"] == f"{first_order_id}-R2"
    with app.app_context():
        assert status_of(redeemed_id) == "3: DE_002: Request accepted"
        with pytest.raises(InvalidStatusChange) as refused:
            actions.cancel(context(), payout_of(redeemed_id).id, reason="Replayed", actor="x")
        assert refused.value.reason == "payout_not_cancelable"
        customer = host.db.session.get(host.Customer, customer_id)
        assert host.loyalty.active_points(customer) == customer_points - 500


def test_a_notice_about_another_amount_or_currency_is_refused(app: Flask, paytm: FakePaytm) -> None:
    paytm.next_transfers("ACCEPTED")
    with app.app_context():
        redeemed_id = redeem_cashback()
        order_id = payout_of(redeemed_id).order_id
    for stated in ({"amount": "5000.00"}, {"amount": "49.99"}, {"currency": "USD"}):
        body, checksum = paytm.callback(order_id, "SUCCESS", **stated)

        response = post_callback(app, body, checksum)

        assert response.status_code == 409, stated
        assert response.json is not None and response.json["error"]["code"] == "callback_mismatch"
    with app.app_context():
        assert status_of(redeemed_id) == "3: DE_002: Request accepted"


def test_a_notice_stating_the_payouts_amount_in_another_notation_is_read(
    app: Flask, paytm: FakePaytm
) -> None:
    paytm.next_transfers("ACCEPTED")
    with app.app_context():
        redeemed_id = redeem_cashback()
        order_id = payout_of(redeemed_id).order_id
    body, checksum = paytm.callback(order_id, "SUCCESS", amount="50", currency="inr")

    assert post_callback(app, body, checksum).status_code == 200


def test_a_callback_for_an_unknown_order_is_404(app: Flask, paytm: FakePaytm) -> None:
    body, checksum = paytm.callback("CB999-nope", "SUCCESS")

    assert post_callback(app, body, checksum).status_code == 404


def test_the_manual_provider_takes_no_callbacks(app: Flask) -> None:
    response = app.test_client().post("/loyalty/cashback/callback/manual", data=b"{}")

    assert response.status_code == 404


# -- admin actions: retry, cancel, manual settlement ---------------------------------------------


def test_retrying_a_failed_payout_sends_it_as_the_next_attempt(
    ctx: Flask, paytm: FakePaytm
) -> None:
    paytm.next_transfers("FAILURE")
    redeemed_id = redeem_cashback()
    payout = payout_of(redeemed_id)
    first_order_id = payout.order_id

    actions.retry(context(), payout.id, actor="admin:ops@example.com")

    again = payout_of(redeemed_id)
    assert again.order_id == f"{first_order_id}-R2"
    assert (again.state, again.attempts) == (PayoutState.SUCCESS, 2)
    assert paytm.money_paid(first_order_id) == 0
    assert paytm.money_paid(again.order_id) == 1


@pytest.mark.parametrize(
    ("order_id", "following"),
    [("CB7-ab12", "CB7-ab12-R2"), ("CB7-ab12-R2", "CB7-ab12-R3"), ("CB7-R9-R10", "CB7-R9-R11")],
)
def test_each_retry_numbers_its_attempt(order_id: str, following: str) -> None:
    assert payouts.next_attempt_order_id(order_id) == following
    assert payouts.attempt_of(following)[0] == payouts.attempt_of(order_id)[0]


def test_retrying_shows_the_request_until_paytm_answers(ctx: Flask, paytm: FakePaytm) -> None:
    ctx.config["LOYALTY_CASHBACK_SEND_ON_REDEEM"] = False
    paytm.next_transfers("FAILURE")
    redeemed_id = redeem_cashback()
    payouts.process(context(), payout_of(redeemed_id).id)

    actions.retry(context(), payout_of(redeemed_id).id, actor="admin:ops@example.com")

    assert status_of(redeemed_id) == "3: RETRY: Sent again at the request of admin:ops@example.com"


@pytest.mark.parametrize("transfer", ["SUCCESS", "ACCEPTED"])
def test_only_failed_payouts_can_be_retried(ctx: Flask, paytm: FakePaytm, transfer: str) -> None:
    paytm.next_transfers(transfer)
    payout_id = payout_of(redeem_cashback()).id

    with pytest.raises(InvalidStatusChange) as refused:
        actions.retry(context(), payout_id)

    assert refused.value.reason == "payout_not_failed"


def test_cancelling_a_failed_payout_returns_the_points_with_the_reason(
    ctx: Flask, paytm: FakePaytm
) -> None:
    paytm.next_transfers("FAILURE")
    customer = cashback_customer(points=800)
    redeemed = host.loyalty.redeem(customer, cashback_campaign())
    assert host.loyalty.active_points(customer) == 300

    actions.cancel(context(), payout_of(redeemed.id).id, reason="Wallet closed", actor="admin:x")

    assert host.loyalty.active_points(customer) == 800
    assert host.loyalty.verify() == []  # back in their original lots, ledger consistent
    assert status_of(redeemed.id) == "2: CANCELED: Wallet closed"
    row = host.db.session.get(host.models.RedeemedReward, redeemed.id)
    host.db.session.refresh(row)
    assert row is not None and row.coupon_status is CouponStatus.CANCELED
    assert row.cancel_reason == "Wallet closed"
    with pytest.raises(InvalidStatusChange):
        actions.retry(context(), payout_of(redeemed.id).id)


def test_a_payout_with_money_on_its_way_cannot_be_cancelled(ctx: Flask, paytm: FakePaytm) -> None:
    paytm.next_transfers("ACCEPTED")
    redeemed_id = redeem_cashback()

    with pytest.raises(InvalidStatusChange) as refused:
        actions.cancel(context(), payout_of(redeemed_id).id, reason="changed my mind")
    with pytest.raises(InvalidStatusChange) as core_refused:
        host.loyalty.cancel_redemption(redeemed_id, reason="changed my mind")

    assert refused.value.reason == "payout_not_cancelable"
    assert core_refused.value.reason == "cashback_payout_open"
    assert payout_of(redeemed_id).state is PayoutState.PENDING


def test_the_payout_of_a_used_cashback_is_cancelled_only_once_it_is_unmarked(
    ctx: Flask, paytm: FakePaytm
) -> None:
    paytm.next_transfers("FAILURE")
    redeemed_id = redeem_cashback()
    host.loyalty.mark_used(redeemed_id)

    with pytest.raises(InvalidStatusChange) as refused:
        actions.cancel(context(), payout_of(redeemed_id).id, reason="changed my mind")

    assert refused.value.reason == "used"
    assert payout_of(redeemed_id).state is PayoutState.FAILURE
    host.loyalty.unmark_used(redeemed_id)
    actions.cancel(context(), payout_of(redeemed_id).id, reason="changed my mind")
    assert payout_of(redeemed_id).state is PayoutState.CANCELED


def test_a_cancellation_needs_a_reason(ctx: Flask) -> None:
    payout_id = payout_of(redeem_cashback()).id

    with pytest.raises(InvalidInput):
        actions.cancel(context(), payout_id, reason="  ")


def test_a_manual_payout_waits_for_an_admin(ctx: Flask) -> None:
    redeemed_id = redeem_cashback()

    assert status_of(redeemed_id) == "3: MANUAL: Waiting for an admin to pay it out"
    payout = payout_of(redeemed_id)
    assert payout.next_check_at is None  # cashback-sync leaves it alone

    actions.settle_manually(context(), payout.id, paid=True, actor="admin:ops@example.com")

    assert status_of(redeemed_id) == "1: MANUAL: Paid by admin:ops@example.com"


def test_a_manual_payout_marked_failed_needs_a_reason_and_shows_it(ctx: Flask) -> None:
    payout_id = payout_of(redeemed_id := redeem_cashback()).id

    with pytest.raises(InvalidInput):
        actions.settle_manually(context(), payout_id, paid=False)
    actions.settle_manually(context(), payout_id, paid=False, note="No wallet", actor="admin:y")

    assert status_of(redeemed_id) == "2: MANUAL: No wallet (admin:y)"


def test_an_unpaid_manual_payout_can_be_cancelled(ctx: Flask) -> None:
    customer = cashback_customer(points=500)
    redeemed = host.loyalty.redeem(customer, cashback_campaign())

    actions.cancel(context(), payout_of(redeemed.id).id, reason="Customer asked", actor="admin")

    assert host.loyalty.active_points(customer) == 500
    assert status_of(redeemed.id) == "2: CANCELED: Customer asked"


def test_paytm_payouts_are_not_settled_by_hand(ctx: Flask, paytm: FakePaytm) -> None:
    paytm.next_transfers("ACCEPTED")
    payout_id = payout_of(redeem_cashback()).id

    with pytest.raises(InvalidStatusChange) as refused:
        actions.settle_manually(context(), payout_id, paid=True)

    assert refused.value.reason == "not_manual"


# -- providers the host brings -------------------------------------------------------------------


class RecordingProvider:
    """A host's own provider: pays at once and remembers what it paid."""

    name = "acme-bank"
    automatic = True
    paid: list[str] = []

    def __init__(self, config: Any) -> None:
        pass

    def refusal(self, request: Any) -> str | None:
        return None

    def create_transfer(self, request: Any) -> Any:
        from flask_loyalty_rewards.cashback import Outcome, ProviderResult

        self.paid.append(request.order_id)
        return ProviderResult(Outcome.SUCCESS, "OK", "Paid by Acme", request.order_id)

    def query_status(self, request: Any) -> Any:
        return self.create_transfer(request)

    def verify_callback(self, body: bytes, headers: Any) -> Any:
        raise NotImplementedError


@pytest.mark.parametrize(
    "spec", [RecordingProvider, "tests.test_cashback:RecordingProvider"], ids=["class", "path"]
)
def test_a_host_provider_is_chosen_by_config(ctx: Flask, spec: Any) -> None:
    ctx.config["LOYALTY_CASHBACK_PROVIDER"] = spec
    redeemed_id = redeem_cashback()

    payout = payout_of(redeemed_id)
    assert payout.provider == "acme-bank"
    assert status_of(redeemed_id) == "1: OK: Paid by Acme"
    assert RecordingProvider.paid[-1] == payout.order_id


# -- several servers at once ---------------------------------------------------------------------


def test_sync_on_several_workers_at_once_pays_every_payout_exactly_once(
    app: Flask, paytm: FakePaytm
) -> None:
    import threading

    app.config["LOYALTY_CASHBACK_SEND_ON_REDEEM"] = False
    with app.app_context():
        campaign = cashback_campaign()
        for _ in range(12):
            host.loyalty.redeem(cashback_customer(points=500), campaign)
    start_together = threading.Barrier(4)
    checked: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with app.app_context():
                start_together.wait(10)
                checked.append(payouts.sync(context(), limit=100).checked)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert sum(checked) == 12
    assert len(paytm.orders) == 12
    assert all(o.paid == 1 and o.transfer_requests == 1 for o in paytm.orders.values())
    with app.app_context():
        states = host.db.session.scalars(sa.select(host.models.CashbackPayout.state)).all()
    assert set(states) == {PayoutState.SUCCESS}


# -- what customers see --------------------------------------------------------------------------


def test_the_json_api_and_my_rewards_show_the_same_cashback_status(
    app: Flask, paytm: FakePaytm
) -> None:
    from tests.support.clients import csrf_token, log_in

    with app.app_context():
        customer_id = cashback_customer().id
        campaign_id = cashback_campaign().id
    client = app.test_client()
    log_in(client, customer_id)

    created = client.post(
        "/loyalty/api/redeemed-rewards",
        json={"campaign_id": campaign_id},
        headers={"X-CSRFToken": csrf_token(client)},
    )
    listed = client.get("/loyalty/api/redeemed-rewards")
    page = client.get("/loyalty/my-rewards").get_data(as_text=True)

    text = "1: DE_001: Successful disbursal to Wallet is done."
    assert created.status_code == 201, created.json
    assert created.json is not None and created.json["cashback_status"] == text
    assert listed.json is not None and listed.json["items"][0]["cashback_status"] == text
    assert text in page


def test_callbacks_pass_a_csrf_protect_the_host_registered_after_init_app(
    app: Flask, database_url: str, paytm: FakePaytm
) -> None:
    from flask_wtf.csrf import CSRFProtect

    paytm.next_transfers("ACCEPTED")
    with app.app_context():
        redeemed_id = redeem_cashback()
        order_id = payout_of(redeemed_id).order_id
    guarded = host.create_app(database_url, **app.config.get_namespace("LOYALTY_", False, False))
    CSRFProtect(guarded)
    body, checksum = paytm.callback(order_id, "SUCCESS")

    response = post_callback(guarded, body, checksum)
    forged = guarded.test_client().post("/admin/loyalty/cashback/retry/", data={"id": "1"})

    assert response.status_code == 200, response.get_data(as_text=True)
    assert forged.status_code == 400  # everything else still needs the token
    from tests.support.apps import dispose

    dispose(guarded)


def test_money_that_did_arrive_after_a_failure_is_recorded_as_paid(
    app: Flask, paytm: FakePaytm
) -> None:
    paytm.next_transfers("FAILURE")
    with app.app_context():
        redeemed_id = redeem_cashback()
        order_id = payout_of(redeemed_id).order_id
    body, checksum = paytm.callback(order_id, "SUCCESS")

    assert post_callback(app, body, checksum).status_code == 200

    with app.app_context():
        assert status_of(redeemed_id) == "1: DE_001: Successful disbursal to Wallet is done."


def test_a_provider_that_cannot_be_loaded_fails_at_start_up(database_url: str) -> None:
    from flask_loyalty_rewards.cashback.providers import ProviderUnavailable

    with pytest.raises(ProviderUnavailable):
        host.create_app(database_url, LOYALTY_CASHBACK_PROVIDER="shop.nowhere:Provider")


class HandledByStaff(RecordingProvider):
    """A host provider a person settles: workers must not poll its payouts."""

    name = "staff-desk"
    automatic = False

    def create_transfer(self, request: Any) -> Any:
        from flask_loyalty_rewards.cashback import Outcome, ProviderResult

        return ProviderResult(Outcome.PENDING, "DESK", "At the cash desk", request.order_id)


def test_payouts_of_a_provider_a_person_settles_are_not_polled(ctx: Flask) -> None:
    ctx.config["LOYALTY_CASHBACK_PROVIDER"] = HandledByStaff
    redeemed_id = redeem_cashback()

    assert status_of(redeemed_id) == "3: DESK: At the cash desk"
    assert payout_of(redeemed_id).next_check_at is None


def test_a_customer_paytm_cannot_pay_gets_a_clear_refusal_from_the_api(
    app: Flask, paytm: FakePaytm
) -> None:
    from tests.support.clients import csrf_token, log_in

    with app.app_context():
        customer_id = cashback_customer(phone="+48 600 000 001").id
        campaign_id = cashback_campaign().id
    client = app.test_client()
    log_in(client, customer_id)

    response = client.post(
        "/loyalty/api/redeemed-rewards",
        json={"campaign_id": campaign_id},
        headers={"X-CSRFToken": csrf_token(client)},
    )

    assert response.status_code == 409
    assert response.json is not None
    error = response.json["error"]
    assert (error["code"], error["details"]["reason"]) == (
        "reward_unavailable",
        "cashback_unavailable",
    )
    assert "10-digit Indian mobile number" in error["message"]
    with app.app_context():
        assert host.loyalty.active_points(customer_id) == 1000
