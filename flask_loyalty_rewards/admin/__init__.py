"""Admin cockpit: Flask-Admin views on the host's own ``Admin``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask

if TYPE_CHECKING:
    from ..extension import LoyaltyState


def init_admin(app: Flask, state: LoyaltyState, admin: Any, base_view: type | None) -> None:
    state.admin = admin
