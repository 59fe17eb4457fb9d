"""Fast list pages for big tables, filters that speak UTC, and spreadsheet-safe CSV cells.

Flask-Admin counts every matching row on every page and pages with OFFSET over whole rows.
:class:`FastListMixin` instead

* counts at most ``LOYALTY_ADMIN_COUNT_CAP`` matching rows (``SELECT count(*) FROM (SELECT id
  ... LIMIT cap + 1)``), and for an unfiltered list of a table larger than that takes the
  planner's estimate (``pg_class.reltuples`` on PostgreSQL, ``information_schema.tables`` on
  MariaDB, ``sqlite_stat1`` on SQLite once ANALYZE has run; without statistics SQLite counts
  exactly). The page says "about" or "more than" when the figure is not exact;
* pages by keyset ("seek") where it can: the pager's links to nearby pages carry a cursor, the
  sort key of the current page's last (or first) row, so the next page is read with
  ``WHERE (sort, id) < (:last_sort, :last_id)`` straight from the index, at the same cost on
  page 10,000 as on page 2. A cursor is honoured only for the exact list it was made for (same
  sort, filters, search and page size) and only on non-null sort columns; otherwise
* it pages by "deferred join": the OFFSET runs over the primary keys alone, read from the index
  that serves the sort (no table rows are fetched for skipped entries), then the page's rows
  are loaded by primary key. Typing a far page number in the URL takes this path.

Every sort ends with the primary key, so pages are stable.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app, g, request
from flask_admin.contrib.sqla import filters as sqla_filters

from ..services import dialect

COUNT_KIND_KEY = "loyalty_admin_count_kind"
PAGE_KEYS_KEY = "loyalty_admin_page_keys"
CURSOR_ARG = "cursor"
PRESET_ARG = "preset"
#: Larger pages (CSV exports) are read in one ordered pass instead of by primary keys.
DEFERRED_JOIN_MAX = 1000
#: Pager links further than this many pages from the current one page by OFFSET instead.
MAX_CURSOR_SKIP = 10

#: A cell a spreadsheet may read as a formula starts with one of these (CWE-1236).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Cells starting with + or - that every spreadsheet reads as plain data, never as a formula:
#: a bare sign (the grid's dash), a number (``-5``, ``+3.50``), or a phone number of digit
#: groups separated by single spaces (``+91 98765 43210``; a space between two numbers is no
#: formula that could be evaluated).
_PLAIN_SIGNED = re.compile(r"[+-]|[+-][0-9]+(\.[0-9]+)?|\+[0-9]+( [0-9]+)+")


def safe_cell(value: Any) -> str:
    """The text of a CSV cell, with a leading ``'`` when a spreadsheet would evaluate it.

    Guarded: every cell starting with ``=``, ``@``, a tab or a carriage return, and every cell
    starting with ``+`` or ``-`` that is not a bare sign, a number or a phone number (see
    ``_PLAIN_SIGNED``): ``+1+1``, ``-2*3``, ``+A1``, ``-HYPERLINK(...)``, ``+91-98765-43210``.
    """
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_SIGNED.fullmatch(text):
        return "'" + text
    return text


def limit_value(number: int, *, few_rows: bool) -> Any:
    """A LIMIT or OFFSET, written into the SQL when the list matches few rows.

    Given ``LIMIT ?``, SQLite walks the sort's index and tests every row, which is right when
    many rows match and a full scan when a search's index ranges hold a handful; given
    ``LIMIT 50`` it reads those ranges and sorts what they hold. The capped count, taken first,
    says which case this is.
    """
    return sa.literal(int(number), literal_execute=True) if few_rows else int(number)


class FastListMixin:
    """Mix into a ``ModelView`` whose list may hold millions of rows (see the module doc)."""

    #: Extra sort keys after the chosen one, before the primary key (to match an index).
    sort_tiebreaks: dict[str, tuple[str, ...]] = {}
    #: The search box's placeholder; a view that searches sets it and :meth:`searched`.
    search_hint: str | None = None
    #: Saved filters by URL key (``?preset=key``): objects with ``label`` and ``where(model, now)``.
    presets: dict[str, Any] = {}

    def current_preset(self) -> str | None:
        """The key of the preset the request asks for, if this list has it."""
        key = request.args.get(PRESET_ARG)
        return key if key in self.presets else None

    def searched(self, query: Any, term: str) -> Any:
        """``query`` narrowed to the rows ``term`` finds (served by an index, unlike ILIKE)."""
        return query

    def init_search(self) -> bool:
        return self.search_hint is not None

    def search_placeholder(self) -> str | None:
        return self.search_hint

    def _apply_search(
        self, query: Any, count_query: Any, joins: Any, count_joins: Any, search: str
    ) -> tuple[Any, Any, Any, Any]:
        return self.searched(query, search), count_query, joins, count_joins

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
        preset = self.current_preset()
        if preset is not None:
            from .. import clock

            query = query.filter(self.presets[preset].where(model, clock.now()))
        count = self.count_rows(query, pk, filtered=bool(filters or search or preset))
        few = g.get(COUNT_KIND_KEY) == "exact"
        base = query
        keys, descending = self._sort_keys(sort_column, sort_desc, pk)
        query = query.order_by(*(k.desc() if descending else k.asc() for k in keys))
        size = view.page_size if page_size is None else page_size
        if not size:
            return count, query.all() if execute else query
        page = page or 0
        if size > DEFERRED_JOIN_MAX:
            # An export: one pass in order (a key list that long would not fit in an IN ()).
            return count, query.limit(size).offset(page * size).all()
        ids = self._keyset_ids(base, keys, descending, page, size, pk, few)
        if ids is None:
            offset_keys = (
                query.with_entities(pk)
                .limit(limit_value(size, few_rows=few))
                .offset(limit_value(page * size, few_rows=few))
            )
            ids = [row[0] for row in offset_keys.all()]
        if not ids:
            return count, []
        rows = view.get_query().filter(pk.in_(ids)).all()
        by_id = {getattr(r, pk.key): r for r in rows}
        ordered = [by_id[i] for i in ids if i in by_id]
        self._remember_page_keys(page, ordered, keys)
        return count, ordered

    # -- keyset pagination --------------------------------------------------------------------

    def _sort_keys(self, sort_column: Any, sort_desc: bool, pk: Any) -> tuple[list[Any], bool]:
        """The columns the list is ordered by (ending with the primary key), and the direction."""
        view: Any = self
        if sort_column is None:
            order = list(view._get_default_order())
            if not order:
                return [pk], True
            column, _joins, sort_desc = order[0]
            sort_column = getattr(column, "key", None)
        else:
            column = view._sortable_columns.get(sort_column)
        keys = [column] if column is not None and column is not pk else []
        keys += [getattr(view.model, name) for name in self.sort_tiebreaks.get(sort_column, ())]
        keys.append(pk)
        return keys, bool(sort_desc)

    def _keyset_able(self, keys: list[Any]) -> bool:
        for key in keys:
            column = getattr(key, "expression", key)
            if getattr(column, "nullable", True) and not getattr(column, "primary_key", False):
                return False
            if _key_kind(key) is None:
                return False
        return True

    def _keyset_ids(
        self,
        base: Any,
        keys: list[Any],
        descending: bool,
        page: int,
        size: int,
        pk: Any,
        few: bool,
    ) -> list[Any] | None:
        """The page's primary keys read by keyset from the request's cursor, or None."""
        cursor = _Cursor.parse(request.args.get(CURSOR_ARG))
        if cursor is None or cursor.page != page or cursor.signature != self._list_signature():
            return None
        if not self._keyset_able(keys) or len(cursor.values) != len(keys):
            return None
        try:
            values = [_decode_value(key, raw) for key, raw in zip(keys, cursor.values, strict=True)]
        except (TypeError, ValueError):
            return None
        row_key = sa.tuple_(*keys)
        forward = cursor.after
        later = descending == forward  # walking towards smaller keys
        condition = row_key < sa.tuple_(*values) if later else row_key > sa.tuple_(*values)
        ordering = [k.desc() if later else k.asc() for k in keys]
        stmt = base.filter(condition).order_by(None).order_by(*ordering).with_entities(pk)
        skip, limit = limit_value(cursor.skip * size, few_rows=few), limit_value(size, few_rows=few)
        ids = [row[0] for row in stmt.offset(skip).limit(limit).all()]
        return ids if forward else ids[::-1]

    def _remember_page_keys(self, page: int, rows: list[Any], keys: list[Any]) -> None:
        if not rows or not self._keyset_able(keys):
            return
        names = [k.key for k in keys]
        first = [_encode_value(getattr(rows[0], n)) for n in names]
        last = [_encode_value(getattr(rows[-1], n)) for n in names]
        setattr(g, PAGE_KEYS_KEY, (page, first, last, self._list_signature()))

    def _list_signature(self, view_args: Any = None) -> str:
        """What a cursor is valid for: the list's sort, filters, search and page size."""
        view: Any = self
        args = view_args if view_args is not None else view._get_list_extra_args()
        parts = [
            view.get_safe_page_size(args.page_size),
            args.sort,
            bool(args.sort_desc),
            args.search or "",
            [list(map(str, f)) for f in (args.filters or [])],
            (args.extra_args or {}).get(PRESET_ARG),
        ]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]

    def _get_list_url(self, view_args: Any) -> str:
        view_args = view_args.clone()
        view_args.extra_args.pop(CURSOR_ARG, None)
        url: str = super()._get_list_url(view_args)  # type: ignore[misc]
        remembered = g.get(PAGE_KEYS_KEY)
        target = view_args.page or 0
        if remembered is None or not target:
            return url
        page, first, last, signature = remembered
        if target == page or abs(target - page) > MAX_CURSOR_SKIP + 1:
            return url
        if signature != self._list_signature(view_args):
            return url
        after = target > page
        cursor = _Cursor(
            page=target,
            after=after,
            skip=abs(target - page) - 1,
            values=last if after else first,
            signature=signature,
        )
        return f"{url}{'&' if '?' in url else '?'}{CURSOR_ARG}={cursor.dump()}"

    def count_rows(self, query: Any, pk: Any, *, filtered: bool) -> int:
        """Exact up to the cap; past it, an estimate (unfiltered) or the cap itself."""
        view: Any = self
        cap = int(current_app.config["LOYALTY_ADMIN_COUNT_CAP"])
        session = query.session
        g.setdefault(COUNT_KIND_KEY, "exact")
        if not filtered:
            estimate = dialect.estimated_rows(session, view.model.__table__)
            if estimate is not None and estimate > cap:
                g.loyalty_admin_count_kind = "about"
                return estimate
            if estimate is None and dialect.counts_whole_tables(session):
                return int(
                    session.execute(sa.select(sa.func.count()).select_from(pk.table)).scalar()
                )
        limited = query.with_entities(pk).order_by(None).limit(cap + 1).subquery()
        found = int(session.execute(sa.select(sa.func.count()).select_from(limited)).scalar())
        if found > cap:
            g.loyalty_admin_count_kind = "more"
            return cap
        return found


@dataclass(frozen=True)
class _Cursor:
    """Where a keyset page starts: after (or before) a row's sort key, skipping whole pages."""

    page: int
    after: bool
    skip: int
    values: list[Any]
    signature: str

    def dump(self) -> str:
        raw = json.dumps([self.page, self.after, self.skip, self.values, self.signature])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def parse(cls, text: str | None) -> _Cursor | None:
        if not text:
            return None
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            page, after, skip, values, signature = json.loads(raw)
        except (ValueError, TypeError):
            return None
        if not (
            isinstance(page, int)
            and isinstance(after, bool)
            and isinstance(skip, int)
            and 0 <= skip <= MAX_CURSOR_SKIP
            and isinstance(values, list)
            and isinstance(signature, str)
        ):
            return None
        return cls(page, after, skip, values, signature)


def _encode_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat()
    if isinstance(value, (int, str)):
        return value
    return str(value)


def _key_kind(key: Any) -> type | None:
    """``datetime`` or ``int`` for the column types a cursor can carry, else None."""
    column_type = key.type
    impl = getattr(column_type, "impl_instance", None) or getattr(column_type, "impl", None)
    for candidate in (column_type, impl):
        if isinstance(candidate, sa.DateTime):
            return dt.datetime
        if isinstance(candidate, sa.Integer):
            return int
    return None


def _decode_value(key: Any, raw: Any) -> Any:
    kind = _key_kind(key)
    if kind is dt.datetime:
        if not isinstance(raw, str):
            raise TypeError("a date-time key must be text")
        moment = dt.datetime.fromisoformat(raw)
        if moment.tzinfo is None:
            raise ValueError("a date-time key must carry its zone")
        return moment
    if kind is int:
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise TypeError("an integer key must be a number")
        return raw
    raise TypeError("no keyset over this column type")


class UTCDateTimeBetweenFilter(sqla_filters.DateTimeBetweenFilter):  # type: ignore[misc]
    """A date-time range typed in UTC (the stored values are UTC; naive ones are refused)."""

    def clean(self, value: str) -> list[dt.datetime]:
        return [moment.replace(tzinfo=dt.timezone.utc) for moment in super().clean(value)]


class ChoiceFilter(sqla_filters.FilterEqual):  # type: ignore[misc]
    """Equality against one of a fixed set of options, given by the option's key."""

    def __init__(self, column: Any, name: Any, choices: dict[str, tuple[Any, Any]]) -> None:
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
