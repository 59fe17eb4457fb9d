"""Admin views of webhooks: endpoints (with "Send test event") and the delivery log ("Send again").

Thin: URLs, event types and secrets are checked by the model's validators (the same as in
code), and both buttons call :mod:`flask_loyalty_rewards.services.webhooks`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, request
from flask_admin.contrib.sqla import ModelView
from flask_admin.model.template import macro

from ..bounds import parse_id
from ..errors import LoyaltyError
from ..models.events import EventType, new_secret
from ..redirects import local_url
from ..services import webhooks
from .access import LoyaltyAdminMixin, expose
from .forms import RowForm, form_error, when
from .grid import ChoiceFilter

ACTION_COLUMN = "action"


def _text(fn: Callable[[Any], Any]) -> Callable[..., Any]:
    return lambda view, context, model, name: fn(model)


class _ButtonsMixin(LoyaltyAdminMixin):
    """A row button posts a CSRF-checked RowForm; the service decides, its refusal is shown."""

    def _run(self, change: Callable[[Any, int], Any], done: str) -> Any:
        form = RowForm()
        if not form.validate():
            flash(form_error(form), "error")
            return self._back()
        row_id = parse_id(form.id.data)
        if row_id is None:
            flash("That row does not exist.", "error")
            return self._back()
        try:
            message = change(self.loyalty_state.current_context(), row_id)
        except LoyaltyError as exc:
            flash(f"Refused: {exc.message}", "error")
            return self._back()
        flash(message or done, "success")
        return self._back()

    def _back(self) -> Any:
        return redirect(local_url(request.values.get("url")) or self.get_url(".index_view"))  # type: ignore[attr-defined]


class WebhookEndpointView(_ButtonsMixin, ModelView):  # type: ignore[misc]
    can_view_details = True
    list_template = "loyalty_rewards/admin/webhook_endpoint_list.html"
    column_list = ["url", "event_types", "active", "description", "created_at", ACTION_COLUMN]
    column_details_list = ["url", "secret", "event_types", "active", "description", "created_at"]
    column_labels = {
        "url": "URL",
        "event_types": "Event types",
        "created_at": "Created (UTC)",
        ACTION_COLUMN: "Action",
    }
    column_descriptions = {
        "event_types": "Space-separated; empty sends every type: "
        + ", ".join(t.value for t in EventType if t is not EventType.TEST),
        "secret": "Give it to the receiver to verify signatures (a new one is made when empty).",
    }
    form_columns = ["url", "event_types", "active", "description", "secret"]
    column_formatters = {
        "created_at": _text(lambda r: when(r.created_at)),
        ACTION_COLUMN: macro("loyalty_endpoint_actions"),
    }
    column_formatters_detail = {"created_at": _text(lambda r: when(r.created_at))}

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
            flash(f"Not saved: {exc.message}", "error")
            return True
        return bool(super().handle_view_exception(exc))

    @expose("/test/", methods=("POST",))
    def test_view(self) -> Any:
        def send(ctx: Any, endpoint_id: int) -> str:
            delivery = webhooks.send_test_event(ctx, endpoint_id)
            answer = delivery.last_status_code or delivery.last_error or "no answer"
            return f"Test event sent: {delivery.status} ({answer})."

        return self._run(send, "Test event sent.")


class WebhookDeliveryView(_ButtonsMixin, ModelView):  # type: ignore[misc]
    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True
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
        "created_at": "Created (UTC)",
        "event_type": "Event",
        "customer_id": "Customer",
        "endpoint_url": "Endpoint",
        "last_status_code": "Last status",
        "last_error": "Last error",
        "next_attempt_at": "Next attempt (UTC)",
        "delivered_at": "Delivered (UTC)",
        "event_uuid": "Event id (webhook-id)",
        "payload": "Body",
        ACTION_COLUMN: "Action",
    }
    column_sortable_list = ["created_at", "attempts", "next_attempt_at"]
    column_default_sort = ("id", True)
    column_formatters = {
        "created_at": _text(lambda r: when(r.created_at)),
        "next_attempt_at": _text(
            lambda r: "" if r.status != "pending" else when(r.next_attempt_at)
        ),
        "delivered_at": _text(lambda r: when(r.delivered_at)),
        "event_type": _text(lambda r: r.event.type),
        "endpoint_url": _text(lambda r: r.endpoint.url),
        "event_uuid": _text(lambda r: r.event.event_id),
        "payload": _text(lambda r: r.event.payload),
        ACTION_COLUMN: macro("loyalty_delivery_actions"),
    }
    column_formatters_detail = {k: v for k, v in column_formatters.items() if k != ACTION_COLUMN}

    def __init__(self, model: type[Any], db: Any, **kwargs: Any) -> None:
        statuses = (webhooks.PENDING, webhooks.DELIVERED, webhooks.FAILED)
        self.column_filters = [
            ChoiceFilter(model.status, "Status", {s: (s.capitalize(), s) for s in statuses}),
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
        return self._run(
            lambda ctx, delivery_id: webhooks.send_again(ctx, delivery_id) and None,
            "Queued: the deliverer sends it again on its next run.",
        )
