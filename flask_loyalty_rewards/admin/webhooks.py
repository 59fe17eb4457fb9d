"""Admin views of webhooks: endpoints (with "Send test event") and the delivery log ("Send again").

Thin: URLs, event types and secrets are checked by the model's validators (the same as in
code), and both buttons call :mod:`flask_loyalty_rewards.services.webhooks`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash
from flask_admin.contrib.sqla import ModelView
from flask_admin.model.template import macro

from ..errors import LoyaltyError
from ..i18n import gettext, lazy_gettext
from ..models.events import EventType, new_secret
from ..services import webhooks
from .access import LoyaltyAdminMixin, expose
from .forms import RowForm, text_cell, when
from .grid import ChoiceFilter
from .rows import ReadOnlyMixin, RowButtonsMixin

ACTION_COLUMN = "action"
#: A delivery's status as people read it.
STATUS_LABELS = {
    webhooks.PENDING: lazy_gettext("Pending"),
    webhooks.DELIVERED: lazy_gettext("Delivered"),
    webhooks.FAILED: lazy_gettext("Failed"),
}


class WebhookEndpointView(RowButtonsMixin, LoyaltyAdminMixin, ModelView):  # type: ignore[misc]
    can_view_details = True
    list_template = "loyalty_rewards/admin/webhook_endpoint_list.html"
    column_list = ["url", "event_types", "active", "description", "created_at", ACTION_COLUMN]
    column_details_list = ["url", "secret", "event_types", "active", "description", "created_at"]
    column_labels = {
        "url": lazy_gettext("URL"),
        "event_types": lazy_gettext("Event types"),
        "created_at": lazy_gettext("Created (UTC)"),
        ACTION_COLUMN: lazy_gettext("Action"),
    }
    column_descriptions = {
        "event_types": lazy_gettext(
            "Space-separated; empty sends every type: %(types)s",
            types=", ".join(t.value for t in EventType if t is not EventType.TEST),
        ),
        "secret": lazy_gettext(
            "Give it to the receiver to verify signatures (a new one is made when empty)."
        ),
    }
    form_columns = ["url", "event_types", "active", "description", "secret"]
    column_formatters = {
        "created_at": text_cell(lambda r: when(r.created_at)),
        ACTION_COLUMN: macro("loyalty_endpoint_actions"),
    }
    column_formatters_detail = {"created_at": text_cell(lambda r: when(r.created_at))}

    def create_model(self, form: Any) -> Any:
        if not (form.secret.data or "").strip():
            form.secret.data = new_secret()
        return super().create_model(form)

    def update_model(self, form: Any, model: Any) -> Any:
        if not (form.secret.data or "").strip():
            form.secret.data = model.secret  # left empty: keep it
        return super().update_model(form, model)

    def handle_view_exception(self, exc: Exception) -> bool:
        if isinstance(exc, LoyaltyError):
            flash(gettext("Not saved: %(message)s", message=exc.message), "error")
            return True
        return bool(super().handle_view_exception(exc))

    @expose("/test/", methods=("POST",))
    def test_view(self) -> Any:
        def sent(delivery: Any) -> str:
            answer = delivery.last_status_code or delivery.last_error or gettext("no answer")
            return gettext(
                "Test event sent: %(status)s (%(answer)s).",
                status=str(STATUS_LABELS.get(delivery.status, delivery.status)).lower(),
                answer=answer,
            )

        return self.posted_change(
            RowForm(),
            webhooks.send_test_event,
            sent,
        )


class WebhookDeliveryView(ReadOnlyMixin, RowButtonsMixin, LoyaltyAdminMixin, ModelView):  # type: ignore[misc]
    list_template = "loyalty_rewards/admin/webhook_delivery_list.html"
    details_template = "loyalty_rewards/admin/webhook_delivery_details.html"
    column_list = [
        "created_at",
        "event_type",
        "customer_id",
        "endpoint_url",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
        ACTION_COLUMN,
    ]
    column_details_list = [*column_list[:-1], "event_uuid", "payload"]
    column_labels = {
        "created_at": lazy_gettext("Created (UTC)"),
        "event_type": lazy_gettext("Event"),
        "customer_id": lazy_gettext("Customer"),
        "endpoint_url": lazy_gettext("Endpoint"),
        "last_status_code": lazy_gettext("Last status"),
        "last_error": lazy_gettext("Last error"),
        "next_attempt_at": lazy_gettext("Next attempt (UTC)"),
        "delivered_at": lazy_gettext("Delivered (UTC)"),
        "event_uuid": lazy_gettext("Event id (webhook-id)"),
        "payload": lazy_gettext("Body"),
        ACTION_COLUMN: lazy_gettext("Action"),
    }
    column_sortable_list = ["created_at", "attempts", "next_attempt_at"]
    column_default_sort = ("id", True)
    column_formatters = {
        "created_at": text_cell(lambda r: when(r.created_at)),
        "next_attempt_at": text_cell(
            lambda r: "" if r.status != "pending" else when(r.next_attempt_at)
        ),
        "delivered_at": text_cell(lambda r: when(r.delivered_at)),
        "event_type": text_cell(lambda r: r.event.type),
        "endpoint_url": text_cell(lambda r: r.endpoint.url),
        "event_uuid": text_cell(lambda r: r.event.event_id),
        "payload": text_cell(lambda r: r.event.payload),
        ACTION_COLUMN: macro("loyalty_delivery_actions"),
    }
    column_formatters_detail = {k: v for k, v in column_formatters.items() if k != ACTION_COLUMN}

    def __init__(self, model: type[Any], db: Any, **kwargs: Any) -> None:
        statuses = (webhooks.PENDING, webhooks.DELIVERED, webhooks.FAILED)
        self.column_filters = [
            ChoiceFilter(
                model.status, lazy_gettext("Status"), {s: (STATUS_LABELS[s], s) for s in statuses}
            ),
        ]
        super().__init__(model, db, **kwargs)

    def attempts_of(self, row: Any) -> list[Any]:
        """Every attempt of a delivery, newest first, for the details page."""
        attempt = self.loyalty_state.models.WebhookAttempt.__table__
        return list(
            self.db_session.execute(
                sa.select(attempt)
                .where(attempt.c.delivery_id == row.id)
                .order_by(attempt.c.id.desc())
            ).all()
        )

    def when(self, value: Any) -> str:
        return when(value)

    @expose("/again/", methods=("POST",))
    def again_view(self) -> Any:
        return self.posted_change(
            RowForm(),
            webhooks.send_again,
            gettext("Queued: the deliverer sends it again on its next run."),
        )
