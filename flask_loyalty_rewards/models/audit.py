"""The campaign audit trail: who created, changed, (de)activated a campaign or filled its pool.

ORM inserts and updates of a campaign (the admin's forms, a host's own code) are recorded by
one pair of mapper listeners, field by field with the old and the new value; the services
that change campaigns with bulk SQL (:func:`~flask_loyalty_rewards.services.campaigns.set_active`,
the pool upload) call :func:`record` themselves, naming the actor they were given. The listeners
have no caller to name one: they record the writer named on the session
(:func:`name_writer`, which the admin views call for their request), else None (code).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, object_session

from .. import clock
from .enums import CampaignEvent

#: The ``Session.info`` key of :func:`name_writer`.
WRITER_KEY = "loyalty_writer"
#: Columns the campaign's own bookkeeping changes: not edits anybody made.
NOT_AUDITED = frozenset({"id", "created_at", "updated_at", "redeemed_count"})
VALUE_LENGTH = 2000


def name_writer(session: Session, name_of: Callable[[], str]) -> None:
    """Say who writes through ``session`` from now on (asked when a campaign edit flushes).

    The session is the request's (Flask-SQLAlchemy removes it when the app context ends), so
    the name lasts as long as the request.
    """
    session.info[WRITER_KEY] = name_of


def writer(session: Session | None) -> str | None:
    """Who :func:`name_writer` says writes through ``session``; None when nobody was named."""
    name_of = None if session is None else session.info.get(WRITER_KEY)
    return str(name_of()) if name_of is not None else None


def text(value: Any) -> str | None:
    """A field's value as the trail shows it."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        value = value.value
    elif isinstance(value, dt.datetime):
        value = value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    elif isinstance(value, Decimal):
        value = format(value, "f")
    return str(value)[:VALUE_LENGTH]


def entry(
    campaign_id: int,
    event: CampaignEvent,
    *,
    actor: str | None,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        "event": event,
        "field": field,
        "old_value": text(old),
        "new_value": text(new),
        "actor": actor,
        "created_at": now or clock.now(),
    }


def record(connection: Any, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Append entries (from :func:`entry`) on ``connection`` (a session or a connection)."""
    if rows:
        connection.execute(sa.insert(table), rows)


def changes(target: Any) -> list[tuple[str, Any, Any]]:
    """(field, old, new) of every audited column changed on a campaign about to be updated."""
    state = sa.inspect(target)
    found = []
    for column in target.__table__.c:
        if column.key in NOT_AUDITED:
            continue
        history = state.attrs[column.key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if text(old) != text(new):
            found.append((column.key, old, new))
    return found


def listen(models: Any) -> None:
    """Record ORM inserts and updates of ``models.RewardCampaign`` in ``models.CampaignAudit``."""
    table = models.CampaignAudit.__table__

    def after_insert(mapper: Any, connection: sa.Connection, target: Any) -> None:
        actor = writer(object_session(target))
        record(
            connection,
            table,
            [entry(target.id, CampaignEvent.CREATED, actor=actor, field="name", new=target.name)],
        )

    def after_update(mapper: Any, connection: sa.Connection, target: Any) -> None:
        actor = writer(object_session(target))
        rows = []
        for field, old, new in changes(target):
            if field == "active":
                event = CampaignEvent.ACTIVATED if new else CampaignEvent.DEACTIVATED
            else:
                event = CampaignEvent.EDITED
            rows.append(entry(target.id, event, actor=actor, field=field, old=old, new=new))
        record(connection, table, rows)

    sa.event.listen(models.RewardCampaign, "after_insert", after_insert)
    sa.event.listen(models.RewardCampaign, "after_update", after_update)


def trail(session: Any, models: Any, campaign_id: int, limit: int = 200) -> list[Any]:
    """A campaign's audit entries, newest first."""
    audit = models.CampaignAudit
    return list(
        session.scalars(
            sa.select(audit)
            .where(audit.campaign_id == campaign_id)
            .order_by(audit.created_at.desc(), audit.id.desc())
            .limit(limit)
        )
    )
