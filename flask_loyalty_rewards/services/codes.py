"""Coupon codes: generated, taken from an uploaded pool, or one code shared by everyone.

Generated codes are 16 characters of Crockford's base-32 alphabet (no I, L, O or U, so nothing
is mistaken for 1 or 0): 80 bits from :mod:`secrets`, far past guessing, shown in groups of four.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..errors import InvalidInput, RewardUnavailable
from ..models import CampaignEvent, CodeSource
from ..models.mixins import RewardCampaignMixin
from . import audit
from .context import Context

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16
BITS_PER_CHARACTER = 5
MAX_CODE_LENGTH = 64


def generate_code(length: int = CODE_LENGTH) -> str:
    if length * BITS_PER_CHARACTER < 80:
        raise ValueError("a generated code needs at least 80 bits (16 characters)")
    bits = secrets.randbits(length * BITS_PER_CHARACTER)
    raw = "".join(ALPHABET[(bits >> (BITS_PER_CHARACTER * i)) & 31] for i in range(length))
    return "-".join(raw[i : i + 4] for i in range(0, length, 4))


_LOOK_ALIKES = str.maketrans("OIL", "011")


def normalize_code(code: str) -> str:
    """How a customer may type a code: any case, spaces or dashes, O for 0, I or L for 1."""
    cleaned = "".join(ch for ch in code.upper() if ch not in " -\t")
    return cleaned.translate(_LOOK_ALIKES)


@dataclass(frozen=True)
class PickedCode:
    code: str | None
    unique: bool
    pool_row_id: int | None = None


def pick_code(ctx: Context, campaign: RewardCampaignMixin, now: dt.datetime) -> PickedCode:
    source = campaign.code_source
    if source is CodeSource.NONE:
        return PickedCode(None, unique=False)
    if source is CodeSource.SHARED:
        if not campaign.shared_code:
            raise RewardUnavailable("no_codes_left", "This reward has no code configured.")
        return PickedCode(campaign.shared_code, unique=False)
    if source is CodeSource.POOL:
        table = ctx.models.CouponCode.__table__
        stmt = (
            sa.select(table.c.id, table.c.code)
            .where(table.c.campaign_id == campaign.id, table.c.handed_out_at.is_(None))
            .order_by(table.c.id)
            .limit(1)
        )
        # Concurrent redemptions skip each other's codes instead of queueing on one row.
        row = ctx.session.execute(ctx.locked(stmt, skip_locked=True)).first()
        if row is None:
            raise RewardUnavailable("no_codes_left")
        return PickedCode(row.code, unique=True, pool_row_id=row.id)
    return PickedCode(generate_code(), unique=True)


def hand_out(ctx: Context, picked: PickedCode, redeemed_id: int, now: dt.datetime) -> None:
    if picked.pool_row_id is None:
        return
    table = ctx.models.CouponCode.__table__
    done = ctx.write(
        sa.update(table)
        .where(table.c.id == picked.pool_row_id, table.c.handed_out_at.is_(None))
        .values(handed_out_at=now, redeemed_reward_id=redeemed_id)
    )
    if not done:  # pragma: no cover - guarded by the row lock above
        raise RewardUnavailable("no_codes_left")


@dataclass
class UploadReport:
    added: list[str] = field(default_factory=list)
    duplicates_in_file: list[str] = field(default_factory=list)
    already_known: list[str] = field(default_factory=list)
    blank_lines: int = 0
    invalid: list[str] = field(default_factory=list)


def parse_codes(text: str) -> tuple[list[str], UploadReport]:
    """Read one code per line (or the first CSV column); report blanks and repeats, drop nothing."""
    report = UploadReport()
    seen: set[str] = set()
    codes: list[str] = []
    for line in text.splitlines():
        value = line.split(",", 1)[0].strip().strip('"').strip()
        if not value:
            report.blank_lines += 1
            continue
        if len(value) > MAX_CODE_LENGTH or any(ch.isspace() for ch in value):
            report.invalid.append(value[:80])
            continue
        if value in seen:
            report.duplicates_in_file.append(value)
            continue
        seen.add(value)
        codes.append(value)
    return codes, report


def add_pool_codes(
    ctx: Context,
    campaign: RewardCampaignMixin,
    text: str,
    now: dt.datetime,
    *,
    actor: str | None = None,
) -> UploadReport:
    """Add uploaded codes to a campaign's pool; codes that exist anywhere already are reported."""
    if not isinstance(text, str):
        raise InvalidInput("codes must be text")
    codes, report = parse_codes(text)
    table = ctx.models.CouponCode.__table__
    rr = ctx.models.RedeemedReward.__table__
    known: set[str] = set()
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        known.update(
            ctx.session.execute(sa.select(table.c.code).where(table.c.code.in_(chunk))).scalars()
        )
        known.update(
            ctx.session.execute(
                sa.select(rr.c.unique_code).where(rr.c.unique_code.in_(chunk))
            ).scalars()
        )
    fresh = [c for c in codes if c not in known]
    report.already_known = [c for c in codes if c in known]
    if fresh:
        ctx.session.execute(
            sa.insert(table),
            [{"campaign_id": campaign.id, "code": c, "created_at": now} for c in fresh],
        )
    report.added = fresh
    summary = f"{len(fresh)} added, {len(report.already_known)} already known"
    audit.record(
        ctx.session,
        ctx.models.CampaignAudit.__table__,
        [
            audit.entry(
                campaign.id,
                CampaignEvent.POOL_UPLOAD,
                actor=actor,
                field="pool",
                new=summary,
                now=now,
            )
        ],
    )
    return report


def codes_left(ctx: Context, campaign_ids: list[int]) -> dict[int, int]:
    """Unused pool codes per campaign, in one query."""
    if not campaign_ids:
        return {}
    table = ctx.models.CouponCode.__table__
    rows: Any = ctx.session.execute(
        sa.select(table.c.campaign_id, sa.func.count())
        .where(table.c.campaign_id.in_(campaign_ids), table.c.handed_out_at.is_(None))
        .group_by(table.c.campaign_id)
    ).all()
    return {int(cid): int(n) for cid, n in rows}
