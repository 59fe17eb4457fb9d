"""Fast list pages for big tables, filters that speak UTC, and spreadsheet-safe CSV cells.

Flask-Admin counts every matching row on every page and pages with OFFSET over whole rows.
:class:`FastListMixin` instead

* counts at most ``LOYALTY_ADMIN_COUNT_CAP`` matching rows (``SELECT count(*) FROM (SELECT id
  ... LIMIT cap + 1)``), and for an unfiltered list of a table larger than that takes the
  planner's estimate (``pg_class.reltuples`` on PostgreSQL, ``information_schema.tables`` on
  MariaDB; SQLite counts exactly, its ``count(*)`` walks the smallest index). The page says
  "about" or "more than" when the figure is not exact;
* pages by "deferred join": the OFFSET runs over the primary keys alone, read from the index
  that serves the sort (no table rows are fetched for skipped entries), then the page's rows
  are loaded by primary key. Every sort ends with the primary key, so pages are stable.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import current_app, g
from flask_admin.contrib.sqla import filters as sqla_filters

COUNT_KIND_KEY = "loyalty_admin_count_kind"

#: A cell a spreadsheet would read as a formula starts with one of these (CWE-1236).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """The text of a CSV cell, with a leading quote when a spreadsheet would evaluate it."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def estimated_rows(session: Any, table: sa.Table) -> int | None:
    """The planner's idea of a table's size, or None when the backend has none to give."""
    bind = session.get_bind()
    dialect = bind.dialect.name
    if dialect == "postgresql":
        value = session.execute(
            sa.text("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(:name)"),
            {"name": table.fullname},
        ).scalar()
    elif dialect in ("mysql", "mariadb"):
        value = session.execute(
            sa.text(
                "SELECT table_rows FROM information_schema.tables "
                "WHERE table_schema = DATABASE() AND table_name = :name"
            ),
            {"name": table.name},
        ).scalar()
    else:
        return None
    return int(value) if value is not None and int(value) >= 0 else None


class FastListMixin:
    """Mix into a ``ModelView`` whose list may hold millions of rows (see the module doc)."""

    #: Extra sort keys after the chosen one, before the primary key (to match an index).
    sort_tiebreaks: dict[str, tuple[str, ...]] = {}

    def get_list(
        self,
        page: int | None,
        sort_column: Any,
        sort_desc: bool,
        search: str | None,
        filters: Any,
        execute: bool = True,
        page_size: int | None = None,
    ) -> tuple[int | None, Any]:
        view: Any = self
        model = view.model
        pk = sa.inspect(model).primary_key[0]
        query = view.get_query()
        joins: dict[Any, Any] = {}
        if view._search_supported and search:
            query, _, joins, _ = view._apply_search(query, None, joins, {}, search)
        if filters and view._filters:
            query, _, joins, _ = view._apply_filters(query, None, joins, {}, filters)
        count = self.count_rows(query, pk, filtered=bool(filters or search))
        query, joins = view._apply_sorting(query, joins, sort_column, sort_desc)
        query = query.order_by(*self._tiebreak(sort_column, sort_desc, pk))
        size = view.page_size if page_size is None else page_size
        if not size:
            return count, query.all() if execute else query
        keys = query.with_entities(pk).limit(size).offset((page or 0) * size)
        ids = [row[0] for row in keys.all()]
        if not ids:
            return count, []
        rows = view.get_query().filter(pk.in_(ids)).all()
        by_id = {getattr(r, pk.key): r for r in rows}
        return count, [by_id[i] for i in ids if i in by_id]

    def _tiebreak(self, sort_column: Any, sort_desc: bool, pk: Any) -> list[Any]:
        view: Any = self
        if sort_column is None:
            order = list(view._get_default_order())
            if not order:
                return [pk.desc()]
            sort_desc = bool(order[-1][2])
            sort_column = getattr(order[-1][0], "key", None)
        extra = [getattr(view.model, name) for name in self.sort_tiebreaks.get(sort_column, ())]
        extra.append(pk)
        return [c.desc() if sort_desc else c.asc() for c in extra]

    def count_rows(self, query: Any, pk: Any, *, filtered: bool) -> int:
        """Exact up to the cap; past it, an estimate (unfiltered) or the cap itself."""
        view: Any = self
        cap = int(current_app.config["LOYALTY_ADMIN_COUNT_CAP"])
        session = query.session
        g.setdefault(COUNT_KIND_KEY, "exact")
        if not filtered:
            estimate = estimated_rows(session, view.model.__table__)
            if estimate is not None and estimate > cap:
                g.loyalty_admin_count_kind = "about"
                return estimate
            if estimate is None and session.get_bind().dialect.name == "sqlite":
                return int(
                    session.execute(sa.select(sa.func.count()).select_from(pk.table)).scalar()
                )
        limited = query.with_entities(pk).order_by(None).limit(cap + 1).subquery()
        found = int(session.execute(sa.select(sa.func.count()).select_from(limited)).scalar())
        if found > cap:
            g.loyalty_admin_count_kind = "more"
            return cap
        return found


class UTCDateTimeBetweenFilter(sqla_filters.DateTimeBetweenFilter):  # type: ignore[misc]
    """A date-time range typed in UTC (the stored values are UTC; naive ones are refused)."""

    def clean(self, value: str) -> list[dt.datetime]:
        return [moment.replace(tzinfo=dt.timezone.utc) for moment in super().clean(value)]


class ChoiceFilter(sqla_filters.FilterEqual):  # type: ignore[misc]
    """Equality against one of a fixed set of options, given by the option's key."""

    def __init__(self, column: Any, name: str, choices: dict[str, tuple[str, Any]]) -> None:
        self.choices = choices
        options = [(key, label) for key, (label, _) in choices.items()]
        super().__init__(column, name, options=options)

    def validate(self, value: str) -> bool:
        return value in self.choices

    def clean(self, value: str) -> Any:
        return self.choices[value][1]

    def apply(self, query: Any, value: Any, alias: Any = None) -> Any:
        column = self.get_column(alias)
        if value is None:
            return query.filter(column.is_(None))
        return query.filter(column == value)
