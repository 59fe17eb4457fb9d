"""Recipe 1: a shop with order statuses and no vouchers of its own (tested by
tests/test_docs_mounting.py on the vendor shop of tests/vendor_shop/shop.py)."""

# [glue]
from flask_loyalty_rewards import LoyaltyRewards, create_models
from tests.vendor_shop import shop  # your application module

models = create_models(shop.db, customer_model=shop.Customer)
loyalty = LoyaltyRewards()


@loyalty.on_change(shop.Order, "status")
def order_status_changed(order, old, new):
    if new == shop.PAID:
        loyalty.earn_for_order(order.customer_id, order.id, order.total)
    elif new == shop.CANCELLED:
        loyalty.reverse_order(order.customer_id, order.id, reason="order cancelled")


def create_app(database_url, **config):
    app = shop.create_app(database_url, **config)
    loyalty.init_app(app, db=shop.db, models=models)
    return app


# [end glue]


# [checkout]
def apply_reward_code(customer, code, order):
    """In your checkout: price the order with the customer's reward code, then mark it used."""
    reward = loyalty.find_coupon(customer, code)  # NotFound if it is not theirs
    if reward.reward_value is not None:
        order.total = order.total * (100 - reward.reward_value) / 100
    shop.db.session.add(order)
    loyalty.use_coupon(customer, code, order_reference=str(order.id))  # commits the order too


# [end checkout]
