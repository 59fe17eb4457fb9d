"""The programme dashboard: the figures of :mod:`..services.dashboard`, charted and tabled.

Charts are SVG drawn by our template from the same rows as the table beside them (no
JavaScript, no CDN: hosts run offline), and each table downloads as CSV.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from flask import Response, abort, request
from flask_admin.contrib.sqla import ModelView

from ..i18n import gettext, lazy_gettext, ngettext
from ..services import dashboard
from .access import LoyaltyAdminMixin, expose
from .grid import safe_cell

#: Bar colours of the series (issued, spent, expired, revoked), readable on white.
COLOURS = ("#1a7f37", "#0b57d0", "#bf8700", "#cf222e")
PERIOD_NAMES = {
    "day": lazy_gettext("Day"),
    "week": lazy_gettext("Week (from Monday)"),
    "month": lazy_gettext("Month"),
}
FLOW_TITLES = {
    "day": lazy_gettext("Points per day"),
    "week": lazy_gettext("Points per week"),
    "month": lazy_gettext("Points per month"),
}


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass
class Chart:
    """A table and the bars that draw its numeric ``series`` columns."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    series: list[int]
    horizontal: bool = False
    bars: list[Bar] = field(default_factory=list)
    labels: list[tuple[float, float, str]] = field(default_factory=list)
    width: int = 640
    height: int = 240

    def __post_init__(self) -> None:
        if self.horizontal:
            self._lay_out_rows()
        else:
            self._lay_out_columns()

    @property
    def top(self) -> int:
        """The largest size drawn: a bar's length is its value's size; the table shows the sign."""
        return max((abs(int(row[i])) for row in self.rows for i in self.series), default=0)

    def _lay_out_columns(self) -> None:
        """Grouped vertical bars, one group per row (a period), labels under some groups."""
        left, bottom, plot_h = 8.0, 24.0, self.height - 32.0
        group = (self.width - left) / max(len(self.rows), 1)
        bar = group * 0.8 / max(len(self.series), 1)
        top = self.top or 1
        every = max(1, len(self.rows) // 6)
        for n, row in enumerate(self.rows):
            for k, column in enumerate(self.series):
                value = int(row[column])
                height = plot_h * abs(value) / top
                self.bars.append(
                    Bar(
                        x=round(left + n * group + group * 0.1 + k * bar, 2),
                        y=round(self.height - bottom - height, 2),
                        width=round(bar, 2),
                        height=round(height, 2),
                        colour=COLOURS[k % len(COLOURS)],
                        title=f"{row[0]}: {self.columns[column]} {value}",
                    )
                )
            if n % every == 0:
                self.labels.append((round(left + n * group, 2), self.height - 6, str(row[0])))

    def _lay_out_rows(self) -> None:
        """One horizontal bar per row, its label on the left."""
        label_w, row_h = 200.0, 24.0
        self.height = int(row_h * max(len(self.rows), 1) + 8)
        top = self.top or 1
        for n, row in enumerate(self.rows):
            value = int(row[self.series[0]])
            self.bars.append(
                Bar(
                    x=label_w,
                    y=n * row_h + 4,
                    width=round((self.width - label_w - 8) * abs(value) / top, 2),
                    height=row_h - 6,
                    colour=COLOURS[1],
                    title=f"{row[0]}: {value}",
                )
            )
            self.labels.append((0.0, n * row_h + row_h - 8, str(row[0])[:32]))


def charts(figures: dashboard.Dashboard) -> list[Chart]:
    flows = Chart(
        key="points",
        title=str(FLOW_TITLES[figures.period]),
        columns=[
            str(PERIOD_NAMES[figures.period]),
            gettext("Issued"),
            gettext("Spent"),
            gettext("Expired"),
            gettext("Revoked"),
        ],
        rows=[
            [row.period.isoformat(), row.issued, row.spent, row.expired, row.revoked]
            for row in figures.flows
        ],
        series=[1, 2, 3, 4],
    )
    liability = Chart(
        key="liability",
        title=gettext("Outstanding points and when they expire"),
        columns=["", gettext("Points")],
        rows=[
            [gettext("Outstanding (pending included)"), figures.liability],
            *[
                [ngettext("Expiring in %(num)s days", "Expiring in %(num)s days", days), points]
                for days, points in figures.expiring.items()
            ],
        ],
        series=[1],
        horizontal=True,
    )
    types = Chart(
        key="types",
        title=gettext("Redemptions per reward type"),
        columns=[gettext("Reward type"), gettext("Redemptions")],
        rows=[[kind.label, count] for kind, count in figures.by_type.items()],
        series=[1],
        horizontal=True,
    )
    campaigns = Chart(
        key="campaigns",
        title=gettext("Redemptions per campaign (top campaigns first)"),
        columns=[
            gettext("Campaign"),
            gettext("Reward type"),
            gettext("Redemptions"),
            gettext("Points spent"),
        ],
        rows=[
            [row.name, row.reward_type.label, row.redemptions, row.points]
            for row in figures.campaigns
        ],
        series=[2],
        horizontal=True,
    )
    return [flows, liability, types, campaigns]


class DashboardView(LoyaltyAdminMixin, ModelView):  # type: ignore[misc]
    """Admins only, like every loyalty view (LoyaltyAdminMixin denies by default).

    A ``ModelView`` of the ledger whose index is the dashboard and that offers nothing else, so
    that a host's ``admin_base_view`` (a ``ModelView`` as a rule) secures it like the others.
    """

    can_create = False
    can_edit = False
    can_delete = False
    can_export = False
    can_view_details = False

    @expose("/")
    def index_view(self) -> Any:
        figures = self._figures()
        return self.render(
            "loyalty_rewards/admin/dashboard.html",
            figures=figures,
            charts=charts(figures),
            periods=PERIOD_NAMES,
        )

    @expose("/csv/<key>/")
    def csv_view(self, key: str) -> Any:
        figures = self._figures()
        chart = next((c for c in charts(figures) if c.key == key), None)
        if chart is None:
            abort(404)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([safe_cell(c) for c in chart.columns])
        writer.writerows([safe_cell(v) for v in row] for row in chart.rows)
        name = f"loyalty-{key}-{figures.period}-{figures.end:%Y%m%d}.csv"
        return Response(
            out.getvalue(),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    def _figures(self) -> dashboard.Dashboard:
        period = request.args.get("period", "day")
        if period not in dashboard.WINDOWS:
            period = "day"
        return dashboard.programme(self.loyalty_state.current_context(), period)
