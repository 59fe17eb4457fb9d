from flask_loyalty_rewards import NotEnoughPoints
from tests.host import loyalty


def test_earn_and_redeem_round_trip(ctx, make_customer, make_campaign):
    alice = make_customer()
    campaign = make_campaign(cost_in_points=100)
    loyalty.earn_points(alice, 150)
    reward = loyalty.redeem(alice, campaign)
    assert reward.active_points_after == 50
    assert loyalty.active_points(alice) == 50
    try:
        loyalty.redeem(alice, campaign)
    except NotEnoughPoints as exc:
        assert exc.points_needed == 50
    else:
        raise AssertionError("redeemed without enough points")
    assert loyalty.verify() == []
