"""Jobs as plain functions of the app, for a task queue (Celery, RQ) or a scheduler.

Each opens the app's context itself, so a worker that only holds the app object can run it;
``flask loyalty ...`` (:mod:`flask_loyalty_rewards.cli`) runs the same services from a shell.
"""

from __future__ import annotations

from flask import Flask

from .services.webhooks import DeliveryReport, deliver
from .state import get_state


def deliver_webhooks(app: Flask, *, limit: int | None = None) -> DeliveryReport:
    """One webhook delivery run in ``app``'s context, as ``flask loyalty deliver-webhooks``."""
    with app.app_context():
        return deliver(get_state(app).current_context(), limit=limit)
