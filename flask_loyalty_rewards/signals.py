"""blinker signals, sent with the Flask app as sender after the change has committed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from blinker import NamedSignal, Namespace

_signals = Namespace()

#: kwargs: customer_id, lot, points
points_earned = _signals.signal("loyalty-points-earned")
#: kwargs: customer_id, points, lot
points_revoked = _signals.signal("loyalty-points-revoked")
#: kwargs: customer_id, points
points_expired = _signals.signal("loyalty-points-expired")
#: kwargs: customer_id, points, expires_at, days_before (``flask loyalty remind-expiring``)
points_expiring_soon = _signals.signal("loyalty-points-expiring-soon")
#: kwargs: redeemed
reward_redeemed = _signals.signal("loyalty-reward-redeemed")
#: kwargs: redeemed, actor
reward_used = _signals.signal("loyalty-reward-used")
#: kwargs: redeemed, actor
reward_unused = _signals.signal("loyalty-reward-unused")
#: kwargs: redeemed, old, new, actor
delivery_status_changed = _signals.signal("loyalty-delivery-status-changed")
#: kwargs: redeemed, actor, reason
redemption_cancelled = _signals.signal("loyalty-redemption-cancelled")
#: kwargs: redeemed
coupon_expired = _signals.signal("loyalty-coupon-expired")


def later(signal: NamedSignal, sender: Any, **kwargs: Any) -> Callable[[], None]:
    """A callback that sends ``signal`` when called (after the commit)."""

    def send() -> None:
        signal.send(sender, **kwargs)

    return send
