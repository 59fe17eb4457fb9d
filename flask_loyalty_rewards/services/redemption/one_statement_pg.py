"""PostgreSQL: the common redemption in one statement, one round trip instead of ten.

Step by step, a redemption is ten statements (gate, lots, reward, entry, allocations, lots again,
history, limit slot, key), and on a busy shop those round trips, not the work, set its cost.
PostgreSQL can chain data-modifying statements in one ``WITH``, so the whole redemption of a
campaign without a code pool or per-customer limit is sent at once. Everything the statement
decides is decided as in the step path: the same gate, the same spending order, the same rows.
Whatever it cannot decide alone, it leaves to the step path in :mod:`.issue`.

Why one snapshot is enough. A statement reads the lots as they were when it began, and the gate
may have waited for another transaction on the same customer. Every change of a customer's points
updates the account row first (:mod:`..ledger`), so the gate also demands that the account row is
still the version the statement's snapshot saw (its ``xmin``). If anything committed on this
customer meanwhile, the gate passes nobody and the step path runs with fresh reads. If the gate
passes, the lots the statement read are the lots as they are, and they stay so: we hold the lock.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ...models import EntryKind, HistoryEvent, LoyaltyModels
from .. import campaigns, ledger
from ..context import Context


@dataclass(frozen=True)
class Outcome:
    """What the statement did: nothing at all, or the whole redemption."""

    #: The new reward; None when the gate refused, and then the statement wrote nothing.
    reward_id: int | None
    #: Active points after the spend (with a reward).
    active_after: int | None
    #: Whether the campaign has no total limit or the statement took one of its slots
    #: (meaningful with a reward); if not, :func:`..campaigns.count_slot` decides.
    slot_taken: bool


#: Reward columns whose value the statement needs elsewhere too, with their parameter's name.
_SHARED = {
    "customer_id": "c",
    "campaign_id": "campaign",
    "cost_in_points": "cost",
    "redeemed_at": "now",
}


@functools.cache
def _parameters(columns: tuple[str, ...]) -> dict[str, str]:
    """Each reward column's parameter (the same few sets of columns every call: built once)."""
    return {name: _SHARED.get(name) or f"r{number}" for number, name in enumerate(columns)}


#: The event row's columns the caller gives (:func:`..events.redeemed_template`), by parameter.
_EVENT_PARAMETERS = {
    "event_id": "ev_id",
    "type": "ev_type",
    "version": "ev_version",
    "payload_0": "ev_p0",
    "payload_1": "ev_p1",
    "payload_2": "ev_p2",
}


def redeem(
    ctx: Context,
    reward: dict[str, Any],
    *,
    limited: bool,
    key: tuple[str, str, str] | None,
    event: dict[str, Any] | None,
) -> Outcome:
    """Run the statement for the reward row ``reward``; ``key`` is (scope, key, fingerprint).

    ``reward`` holds the columns the reward is inserted with (all but its id and active points
    after). ``limited``: the campaign had a total limit when it was read; without one, the gate
    also demands that it still has none, so the statement either redeems or writes nothing.
    ``event`` is the ``reward_redeemed`` outbox row, written by the same statement (None: the
    host turned events off).
    """
    columns = tuple(reward)
    params = {parameter: reward[name] for name, parameter in _parameters(columns).items()}
    params.update(
        kind=EntryKind.SPEND, event=HistoryEvent.REDEEMED, status=reward["coupon_status"].value
    )
    if key is not None:
        params.update(key_scope=key[0], key_value=key[1], key_fingerprint=key[2])
    if event is not None:
        params.update({parameter: event[name] for name, parameter in _EVENT_PARAMETERS.items()})
    statement = _statement(
        ctx.models, columns, limited=limited, with_key=key is not None, with_event=event is not None
    )
    row = _execute(_connection(ctx), statement, params)
    if row.active_after is not None and row.reward_id is None:
        # The gate saw the lots cover the cost in this statement's snapshot, and nothing
        # changed them since (its account row is the same version): only books out of step
        # (``flask loyalty verify``) get here.
        raise RuntimeError("the customer's lots do not cover the points the gate took")
    return Outcome(
        reward_id=None if row.reward_id is None else int(row.reward_id),
        active_after=None if row.active_after is None else int(row.active_after),
        slot_taken=not limited or bool(row.slots) or bool(row.unlimited),
    )


class Autocommit:
    """PostgreSQL's autocommit on the session's connection, from the call's first statement
    until :meth:`end`.

    A redemption that owns its transaction and has nothing to do after the statement sends two
    statements, the customer and campaign load and the redemption, and each commits by itself:
    no ``BEGIN`` and no ``COMMIT`` round trip. That is safe because the load only reads and the
    statement writes all or nothing (its gate refuses unless the whole redemption follows).
    Statements after :meth:`end` run in a transaction again, as usual.
    """

    def __init__(self, connection: sa.Connection) -> None:
        if not sa.event.contains(connection.engine, "checkin", _leave_autocommit):
            sa.event.listen(connection.engine, "checkin", _leave_autocommit)
        self._connection = connection
        driver: Any = connection.connection.driver_connection
        driver.autocommit = True  # the session has no transaction yet: nothing pending
        connection.connection.info[_AUTOCOMMITTING] = True
        self._driver: Any | None = driver

    @classmethod
    def begin(cls, ctx: Context) -> Autocommit | None:
        """Autocommit on the session's connection, if its driver is psycopg (3); else None."""
        connection = _connection(ctx)
        return cls(connection) if connection.dialect.driver == "psycopg" else None

    def end(self) -> None:
        driver, self._driver = self._driver, None
        if driver is None or self._connection.closed:
            # Released already (a failure rolled the session back): the pool took autocommit
            # off at check-in, and the driver may be another request's by now.
            return
        if not driver.closed and driver.info.transaction_status.name == "IDLE":
            driver.autocommit = False
            self._connection.connection.info.pop(_AUTOCOMMITTING, None)
        else:  # never hand an autocommitting connection back to the pool
            self._connection.invalidate()


#: Set in a pooled connection's info while :class:`Autocommit` has turned autocommit on.
_AUTOCOMMITTING = "loyalty_rewards.autocommitting"


def _leave_autocommit(driver: Any, record: Any) -> None:
    """Pool check-in: a connection released while autocommitting goes back transactional.

    A failure inside the redemption rolls the session back, which releases its connection
    before :meth:`Autocommit.end` runs; the next request to take it from the pool would
    otherwise commit each of its statements by itself.
    """
    if record.info.pop(_AUTOCOMMITTING, False) and driver is not None and not driver.closed:
        driver.autocommit = False


def _connection(ctx: Context) -> sa.Connection:
    """The session's connection to the database of our tables."""
    return ctx.session.connection(bind_arguments={"mapper": sa.inspect(ctx.models.Account)})


def _execute(connection: sa.Connection, statement: sa.Select[Any], params: dict[str, Any]) -> Any:
    """The statement's one row.

    Over psycopg the statement goes out as prepared text with ``$n`` placeholders through a
    raw cursor: psycopg rewrites ``%(name)s`` placeholders on every call for a statement as long
    as this one (it caches only short ones), which costs more than the rest of the call's
    Python. The text is compiled once; events and logging see it as usual.
    """
    raw_cursor = _raw_cursor(connection)
    if raw_cursor is None:
        return connection.execute(statement, params).one()
    positional = _positional(statement, connection.dialect)
    values = tuple(process(params[name]) for name, process in positional.fills)
    driver: Any = connection.connection.driver_connection
    cursor_factory, driver.cursor_factory = driver.cursor_factory, raw_cursor
    try:
        return connection.exec_driver_sql(positional.sql, values).one()
    finally:
        driver.cursor_factory = cursor_factory


def _raw_cursor(connection: sa.Connection) -> type | None:
    """psycopg's raw cursor (3.2 on), if the connection is psycopg's with its default cursors: a
    host that chose others (client-side binding, say) keeps them."""
    if connection.dialect.driver != "psycopg":
        return None
    import psycopg  # the driver in use, so installed

    driver: Any = connection.connection.driver_connection
    raw: type | None = getattr(psycopg, "RawCursor", None)
    return raw if driver.cursor_factory is psycopg.Cursor else None


@dataclass(frozen=True)
class _Positional:
    """A statement compiled with ``$n`` placeholders, and how to fill them."""

    sql: str
    #: Each placeholder's parameter, in order, and its conversion to what the driver takes.
    fills: tuple[tuple[str, Callable[[Any], Any]], ...]


@functools.cache
def _positional(statement: sa.Select[Any], dialect: sa.Dialect) -> _Positional:
    """Once per statement and engine: compiled as the engine's dialect would, but numbered."""
    numbered: Any = type(dialect)
    compiled = statement.compile(dialect=numbered(paramstyle="numeric_dollar"))
    binds = {name: compiled.binds[name] for name in compiled.positiontup or ()}
    assert all(bind.required for bind in binds.values()), "every value comes from the call"
    return _Positional(
        sql=str(compiled),
        fills=tuple(
            (name, bind.type.dialect_impl(dialect).bind_processor(dialect) or _as_is)
            for name, bind in binds.items()
        ),
    )


def _as_is(value: Any) -> Any:
    return value


def _insert(table: sa.Table, source: sa.FromClause | None = None, **row: Any) -> sa.Insert:
    """An INSERT of the rows of ``source`` (or of the expressions' own tables), by column."""
    select = sa.select(*row.values())
    return sa.insert(table).from_select(
        list(row), select if source is None else select.select_from(source)
    )


def _parameter(name: str, table: sa.Table, column: str | None = None) -> sa.BindParameter[Any]:
    """A parameter of the statement, of the type of ``table``'s ``column`` (``name`` by default)."""
    return sa.bindparam(name, type_=table.c[column or name].type)


@functools.cache
def _statement(
    models: LoyaltyModels,
    columns: tuple[str, ...],
    *,
    limited: bool,
    with_key: bool,
    with_event: bool,
) -> sa.Select[Any]:
    """Built once per set of models and of reward columns: a prebuilt statement costs nothing to
    compile again.

    Parameter names are never a column's name: SQLAlchemy would read a parameter named like a
    column of an updated table as a value to SET (checked below). Writes whose outcome the
    caller does not need are added to the ``WITH`` without ``RETURNING``, a shorter statement.
    """
    account, lot, rr, campaign = (
        model.__table__
        for model in (
            models.Account,
            models.PointsLot,
            models.RedeemedReward,
            models.RewardCampaign,
        )
    )
    values = {
        name: sa.bindparam(parameter, type_=rr.c[name].type)
        for name, parameter in _parameters(columns).items()
    }
    customer_id, cost, now = values["customer_id"], values["cost_in_points"], values["redeemed_at"]
    batch: sa.ColumnElement[int] = sa.literal_column(str(ledger.FIRST_BATCH))  # not a parameter

    seen = account.alias("seen")
    seen_version = (
        sa.select(sa.literal_column(f"{seen.name}.xmin"))
        .where(seen.c.customer_id == customer_id)
        .scalar_subquery()
    )
    overdue, pending = (
        points.scalar_subquery()
        for points in ledger.unspendable_points(lot.alias("unspendable"), customer_id, now)
    )
    # The points in the balance that cannot pay now, read once for the gate's test and answer.
    held_cte = sa.select((overdue + pending).label("points")).cte("held")
    held = sa.select(held_cte.c.points).scalar_subquery()
    first_seen = ledger.spendable_lots(lot.alias("seen_lots"), customer_id, now).limit(batch)
    covering = sa.select(sa.func.sum(first_seen.subquery().c.remaining)).scalar_subquery()
    # The gate passes only when the whole redemption follows: nothing changed the account (so
    # neither the lots) since the statement's snapshot, the points are active, and the first
    # lots of the snapshot pay them; a campaign read without a total limit must still have none.
    gate = ledger.spending_gate(account, customer_id, cost, now).where(
        sa.literal_column(f"{account.name}.xmin") == seen_version,
        account.c.balance - held >= cost,  # the balance before the spend
        covering >= cost,
    )
    limit = campaigns.limit_now(campaign, values["campaign_id"])
    if not limited:
        gate = gate.where(limit.scalar_subquery().is_(None))
    # After the UPDATE, the balance is the new one: what is left is active after the spend.
    gate_cte = gate.returning((account.c.balance - held).label("active_after")).cte("gate")
    gate_passed = sa.select(gate_cte.c.active_after).exists()

    spendable = lot.alias("spendable")
    first_lots = (
        ledger.spendable_lots(spendable, customer_id, now)
        .where(gate_passed)  # locks lots only once the account is locked, as everywhere
        .limit(batch)
        .with_for_update(of=spendable)
        .cte("first_lots")
    )
    order = [first_lots.c[column.name] for column in ledger.spending_order(spendable)]
    paid_before = sa.func.sum(first_lots.c.remaining).over(order_by=order, rows=(None, 0))
    ranked = sa.select(
        first_lots.c.id,
        first_lots.c.remaining,
        (paid_before - first_lots.c.remaining).label("before"),
    ).cte("ranked")
    take = sa.func.least(ranked.c.remaining, cost - ranked.c.before)
    draws = (
        sa.select(
            ranked.c.id.label("lot_id"),
            take.label("points"),
            (ranked.c.remaining - take).label("remaining_after"),
        )
        .where(ranked.c.before < cost)
        .cte("draws")
    )
    covered = sa.select(sa.func.sum(draws.c.points)).scalar_subquery() == cost

    reward = (
        sa.insert(rr)
        .from_select(
            [*columns, "active_points_after"],
            sa.select(*values.values(), gate_cte.c.active_after).where(covered),
        )
        # What the rows below repeat comes from the reward: fewer parameters to send and parse.
        .returning(
            rr.c.id,
            rr.c.customer_id,
            rr.c.cost_in_points,
            rr.c.reward_name,
            rr.c.coupon_code,
            rr.c.redeemed_by,
            rr.c.redeemed_at,
            rr.c.active_points_after,
        )
        .cte("reward")
    )
    rewarded = sa.select(reward.c.id).exists()
    entry = models.LedgerEntry.__table__
    spend = (
        _insert(
            entry,
            customer_id=reward.c.customer_id,
            kind=_parameter("kind", entry),
            delta=-reward.c.cost_in_points,
            reason=reward.c.reward_name,
            reference=reward.c.coupon_code,
            actor=reward.c.redeemed_by,
            created_at=reward.c.redeemed_at,
            redeemed_reward_id=reward.c.id,
        )
        .returning(entry.c.id)
        .cte("spend")
    )
    history = models.RewardHistory.__table__
    writes: list[Any] = [
        _insert(
            models.Allocation.__table__,
            spend.join(draws, sa.true()),
            entry_id=spend.c.id,
            lot_id=draws.c.lot_id,
            points=draws.c.points,
        ),
        sa.update(lot)
        .where(lot.c.id == draws.c.lot_id, rewarded)
        .values(remaining=draws.c.remaining_after),
        _insert(
            history,
            redeemed_reward_id=reward.c.id,
            event=_parameter("event", history),
            to_value=_parameter("status", history, "to_value"),
            actor=reward.c.redeemed_by,
            created_at=reward.c.redeemed_at,
        ),
    ]
    if with_key:
        key_table = models.IdempotencyKey.__table__
        writes.append(
            _insert(
                key_table,
                customer_id=reward.c.customer_id,
                scope=_parameter("key_scope", key_table, "scope"),
                key=_parameter("key_value", key_table, "key"),
                fingerprint=_parameter("key_fingerprint", key_table, "fingerprint"),
                result_id=reward.c.id,
                created_at=reward.c.redeemed_at,
            )
        )
    if with_event:
        event_table = models.Event.__table__

        def text(name: str) -> sa.BindParameter[Any]:
            return sa.bindparam(name, type_=sa.Text())

        writes.append(
            _insert(
                event_table,
                event_id=_parameter("ev_id", event_table, "event_id"),
                type=_parameter("ev_type", event_table, "type"),
                version=_parameter("ev_version", event_table, "version"),
                customer_id=reward.c.customer_id,
                occurred_at=reward.c.redeemed_at,
                payload=sa.func.concat(
                    text("ev_p0"),
                    reward.c.id,
                    text("ev_p1"),
                    reward.c.active_points_after,
                    text("ev_p2"),
                ),
            )
        )
    outcome = [
        sa.select(gate_cte.c.active_after).scalar_subquery().label("active_after"),
        sa.select(reward.c.id).scalar_subquery().label("reward_id"),
    ]
    if limited:
        # The count is the statement's last write, so the campaign row, shared by every
        # customer, is locked for the shortest time; a limit lifted meanwhile is seen.
        limit_cte = limit.where(rewarded).cte("limit_now")
        slot = (
            campaigns.take_slot(campaign, values["campaign_id"])
            .where(rewarded)
            .returning(campaign.c.id)
            .cte("slot")
        )
        outcome += [
            sa.select(limit_cte.c.total_limit.is_(None)).scalar_subquery().label("unlimited"),
            sa.select(sa.func.count()).select_from(slot).scalar_subquery().label("slots"),
        ]
    statement = sa.select(*outcome).add_cte(
        *(write.cte(f"w{number}") for number, write in enumerate(writes))
    )
    updated_columns = {column.name for table in (account, lot, campaign) for column in table.c}
    clashes = updated_columns & set(statement.compile().params)
    assert not clashes, f"parameters named like columns would be SET: {clashes}"
    return statement
