"""The coupon bridge: the host's own voucher row is made inside the redemption, in a code format
the host's column can hold; the format settings keep codes unguessable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from flask_loyalty_rewards import NotFound
from flask_loyalty_rewards.models.keys import normalize_code
from flask_loyalty_rewards.services.codes import CodeFormat, generate_code
from tests import host
from tests.host import db, loyalty, models

#: The host's own discount table, as a shop has it: codes in a VARCHAR(16).
host_tables = sa.MetaData()
voucher = sa.Table(
    "bridge_voucher",
    host_tables,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(16), nullable=False, unique=True),
    sa.Column("customer_id", sa.Integer, nullable=False),
)

SIXTEEN = {"LOYALTY_CODE_GROUP": 0}


@pytest.fixture
def vouchers(ctx: Any) -> Iterator[list[str]]:
    """The host's voucher table, filled by a coupon issuer registered for this test."""
    voucher.create(db.engine, checkfirst=True)
    issued: list[str] = []

    @loyalty.coupon_issuer
    def issue(redeemed: Any) -> None:
        db.session.execute(
            sa.insert(voucher).values(code=redeemed.coupon_code, customer_id=redeemed.customer_id)
        )
        issued.append(redeemed.coupon_code)

    try:
        yield issued
    finally:
        loyalty.hooks.coupon_issuer = None
        db.session.remove()
        voucher.drop(db.engine)


def stored_vouchers() -> list[str]:
    return list(db.session.execute(sa.select(voucher.c.code)).scalars())


def test_a_redeemed_code_becomes_the_hosts_voucher_in_a_varchar_16(
    ctx, app, vouchers, make_customer, make_campaign
):
    app.config.update(SIXTEEN)
    customer = make_customer()
    loyalty.earn_points(customer, 100)
    reward = loyalty.redeem(customer, make_campaign())
    assert len(reward.coupon_code) == 16
    # The host's column gives the code back exactly (MariaDB would refuse a 19-character one).
    assert stored_vouchers() == [reward.coupon_code] == vouchers
    assert loyalty.use_coupon(customer, reward.coupon_code.lower()).used


def test_an_issuer_that_raises_rolls_the_whole_redemption_back(
    ctx, vouchers, make_customer, make_campaign
):
    customer = make_customer()
    loyalty.earn_points(customer, 100)
    campaign = make_campaign()

    @loyalty.coupon_issuer
    def broken(redeemed: Any) -> None:
        db.session.execute(sa.insert(voucher).values(code="HALF-WRITTEN", customer_id=1))
        raise RuntimeError("voucher service down")

    with pytest.raises(RuntimeError, match="voucher service down"):
        loyalty.redeem(customer, campaign)
    assert loyalty.active_points(customer) == 100
    assert (
        db.session.execute(
            sa.select(sa.func.count()).select_from(models.RedeemedReward)
        ).scalar_one()
        == 0
    )
    assert stored_vouchers() == []
    with pytest.raises(NotFound):
        loyalty.find_coupon(customer, "HALF-WRITTEN")


def test_rewards_without_a_code_are_not_sent_to_the_issuer(
    ctx, vouchers, make_customer, make_campaign
):
    from flask_loyalty_rewards import CodeSource, RewardType

    customer = make_customer()
    loyalty.earn_points(customer, 100)
    loyalty.redeem(
        customer, make_campaign(reward_type=RewardType.GIFT, code_source=CodeSource.NONE)
    )
    assert vouchers == []


@pytest.mark.parametrize(
    ("settings", "example_length"),
    [
        ({}, 19),
        ({"group": 0}, 16),
        ({"group": 0, "length": 13}, 13),
        ({"prefix": "LY", "length": 14, "group": 0}, 16),
        ({"alphabet": "0123456789", "length": 20, "group": 5, "separator": " "}, 23),
    ],
)
def test_each_format_gives_codes_of_its_length_from_its_alphabet(settings, example_length):
    code_format = CodeFormat(**settings).check()
    code = generate_code(code_format)
    assert len(code) == example_length == code_format.total_length
    body = normalize_code(code.removeprefix(code_format.prefix))
    assert len(body) == code_format.length and set(body) <= set(code_format.alphabet)
    assert code_format.bits >= 64


@pytest.mark.parametrize(
    ("settings", "complaint"),
    [
        ({"length": 12}, "60.0 random bits"),
        ({"alphabet": "0123456789", "length": 19}, "LOYALTY_CODE_LENGTH"),
        ({"alphabet": "abcdefgh" * 1}, "LOYALTY_CODE_ALPHABET"),
        ({"alphabet": "0O1"}, "LOYALTY_CODE_ALPHABET"),
        ({"separator": "/"}, "LOYALTY_CODE_SEPARATOR"),
        ({"prefix": "shop_"}, "LOYALTY_CODE_PREFIX"),
        ({"length": 60, "prefix": "LONG-"}, "longer than 64"),
    ],
)
def test_a_format_with_too_little_entropy_or_unreadable_codes_is_refused(settings, complaint):
    with pytest.raises(ValueError, match=complaint):
        CodeFormat(**settings).check()


def test_init_app_refuses_a_guessable_code_format(tmp_path):
    with pytest.raises(ValueError, match="fewer than 64"):
        host.create_app(f"sqlite:///{tmp_path / 'x.sqlite'}", LOYALTY_CODE_LENGTH=10)
