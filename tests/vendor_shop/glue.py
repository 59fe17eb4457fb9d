"""Mounting flask-loyalty-rewards on the vendor shop: all the glue it takes."""

from flask_loyalty_rewards import LoyaltyRewards, create_models
from tests.vendor_shop import shop

models = create_models(shop.db, customer_model=shop.Customer)
loyalty = LoyaltyRewards()


@loyalty.coupon_issuer
def issue_voucher(reward):
    percent = reward.reward_value or 0
    shop.db.session.add(
        shop.Voucher(code=reward.coupon_code, customer_id=reward.customer_id, percent=percent)
    )


@loyalty.on_change(shop.Order, "status")
def order_status_changed(order, old, new):
    if new == shop.PAID:
        loyalty.earn_for_order(order.customer_id, order.id, order.total)
    elif new == shop.CANCELLED:
        loyalty.reverse_order(order.customer_id, order.id, reason="order cancelled")


@loyalty.on_change(shop.Voucher, "used_at")
def voucher_used(voucher, old, new):
    if new is not None:
        loyalty.use_coupon(voucher.customer_id, voucher.code)


def create_app(database_url, **config):
    app = shop.create_app(database_url, LOYALTY_CODE_GROUP=0, LOYALTY_ADMIN_CREATE=True, **config)
    loyalty.init_app(app, db=shop.db, models=models)
    return app
