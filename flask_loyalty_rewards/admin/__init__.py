"""Admin cockpit: Flask-Admin views on the host's own ``Admin``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask

from .access import LoyaltyAdminMixin, add_admin_view, admin_actor, setup_admin, view_class_for

if TYPE_CHECKING:
    from ..extension import LoyaltyState

__all__ = ["LoyaltyAdminMixin", "add_admin_view", "admin_actor", "init_admin", "view_class_for"]


def init_admin(app: Flask, state: LoyaltyState, admin: Any, base_view: type | None) -> None:
    setup_admin(app, state, admin, base_view)
