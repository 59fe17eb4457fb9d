"""The admin in tests: reading its HTML (grid, CSRF tokens, flashes) and filling its forms."""

from __future__ import annotations

import html
import io
import re
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

from flask_loyalty_rewards import CodeSource, RewardType

GRID = "/admin/loyalty/redeemed/"
CAMPAIGNS = "/admin/loyalty/campaigns/"
POINTS = "/admin/loyalty/points/"


class _Table(HTMLParser):
    """Text of the header cells and body rows of the first ``table.model-list``."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.done = False
        self.header: list[str] = []
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None
        self.in_head = False
        self.row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = dict(attrs).get("class") or ""
        if tag == "table" and "model-list" in classes and not self.done:
            self.inside = True
        if not self.inside:
            return
        if tag == "thead":
            self.in_head = True
        elif tag == "tr" and not self.in_head:
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "input" and self.cell is not None and dict(attrs).get("type") == "checkbox":
            name = dict(attrs).get("name")
            if name not in ("rowid", "rowtoggle"):
                self.cell.append("[x]" if "checked" in dict(attrs) else "[ ]")

    def handle_endtag(self, tag: str) -> None:
        if not self.inside:
            return
        if tag == "table":
            self.inside = False
            self.done = True
        elif tag == "thead":
            self.in_head = False
        elif tag in ("td", "th") and self.cell is not None:
            text = " ".join("".join(self.cell).split())
            if self.in_head:
                self.header.append(text)
            elif self.row is not None:
                self.row.append(text)
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if self.row and not (len(self.row) == 1 and "no items" in self.row[0].lower()):
                self.rows.append(self.row)
            self.row = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def grid(page: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header names (checkbox column dropped) and each row as {header: text}."""
    parser = _Table()
    parser.feed(page)
    header = parser.header
    offset = 1 if header and header[0] == "" else 0
    names = header[offset:]
    rows = [dict(zip(names, row[offset:], strict=False)) for row in parser.rows]
    return names, rows


def csrf_token(client: Any, url: str = GRID) -> str:
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    assert match, f"no CSRF token on {url}"
    return html.unescape(match.group(1))


def flashes(page: str) -> str:
    """The text of the page's flash messages."""
    found = re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', page, re.S)
    return " ".join(" ".join(re.sub(r"<[^>]+>", " ", html.unescape(f)).split()) for f in found)


def filter_arg(app: Any, name: str, endpoint: str = "loyalty_redeemed") -> str:
    """The URL argument of a view's filter, by the filter's name (Flask-Admin numbers them)."""
    for admin in app.extensions["admin"]:
        for view in admin._views:
            if view.endpoint == endpoint:
                for arg, (_index, flt) in view._filter_args.items():
                    if str(flt.name) == name:
                        return f"flt0_{arg}"
    raise LookupError(name)


# -- campaign forms -------------------------------------------------------------------------------


def campaign_values(**changes: Any) -> dict[str, Any]:
    """A valid gift campaign, as the campaign rules service takes it, with ``changes`` on top."""
    values: dict[str, Any] = {
        "name": "Teddy",
        "description": "",
        "reward_type": RewardType.GIFT,
        "cost_in_points": 100,
        "tax_value": Decimal("0"),
        "reward_value": None,
        "currency": None,
        "cashback_point_value": None,
        "active": True,
        "active_from": None,
        "active_to": None,
        "visible_from": None,
        "visible_to": None,
        "total_limit": None,
        "per_customer_limit": None,
        "days_inactive": 0,
        "days_valid": 0,
        "fulfillment_tracking": False,
        "code_source": CodeSource.GENERATED,
        "shared_code": None,
    }
    values.update(changes)
    return values


def campaign_form(**changes: str) -> dict[str, str]:
    """The admin's campaign form filled in as a person would, with ``changes`` on top."""
    data = {
        "name": "Teddy bear",
        "description": "A bear",
        "reward_type": "gift",
        "cost_in_points": "250",
        "tax_value": "1.50",
        "reward_value": "",
        "currency": "",
        "cashback_point_value": "",
        "active": "y",
        "active_from": "2026-03-01 00:00:00",
        "active_to": "2026-04-01 00:00:00",
        "visible_from": "",
        "visible_to": "",
        "total_limit": "10",
        "per_customer_limit": "1",
        "days_inactive": "0",
        "days_valid": "30",
        "fulfillment_tracking": "y",
        "code_source": "generated",
        "shared_code": "",
    }
    data.update(changes)
    return data


def create_campaign(client: Any, **changes: str) -> Any:
    """Post the campaign form (with its CSRF token) to create a campaign."""
    data = campaign_form(**changes)
    data["csrf_token"] = csrf_token(client, CAMPAIGNS + "new/")
    return client.post(CAMPAIGNS + "new/", data=data)


def upload_codes(
    client: Any, campaign_id: int, *, text: str = "", file: bytes | None = None
) -> str:
    """Upload pool codes (typed ``text`` and/or a CSV ``file``); the page's HTML."""
    url = f"{CAMPAIGNS}pool/?id={campaign_id}"
    data: dict[str, Any] = {"text": text, "csrf_token": csrf_token(client, CAMPAIGNS)}
    if file is not None:
        data["file"] = (io.BytesIO(file), "codes.csv")
    return client.post(url, data=data, content_type="multipart/form-data").get_data(as_text=True)
