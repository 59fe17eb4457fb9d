"""Coupon codes: generated, taken from an uploaded pool, or one code shared by everyone.

Generated codes follow the ``LOYALTY_CODE_*`` settings (:class:`CodeFormat`); by default 16
characters of Crockford's base-32 alphabet (no I, L, O or U, so nothing is mistaken for 1 or
0): 80 bits from :mod:`secrets`, far past guessing, shown in groups of four.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from .. import clock
from ..errors import InvalidInput, RewardUnavailable
from ..i18n import gettext
from ..models import CampaignEvent, CodeSource, audit
from ..models.keys import normalize_code
from ..models.mixins import RedeemedRewardMixin, RewardCampaignMixin
from .context import Context
from .transaction import unit_of_work

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16
MAX_CODE_LENGTH = 64
#: The fewest random bits a generated code may carry: guessing one stays hopeless.
MIN_CODE_BITS = 64
#: Separators a customer may type or leave out (:func:`normalize_code` drops them).
SEPARATORS = ("-", " ", "")
PREFIX_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


@dataclass(frozen=True)
class CodeFormat:
    """How generated codes look: ``prefix`` + ``length`` random characters of ``alphabet``,
    in groups of ``group`` joined by ``separator`` (``group`` 0: one block)."""

    length: int = CODE_LENGTH
    alphabet: str = ALPHABET
    group: int = 4
    separator: str = "-"
    prefix: str = ""

    @property
    def bits(self) -> float:
        """The randomness of one code: ``length x log2(len(alphabet))``."""
        return self.length * math.log2(len(self.alphabet))

    @property
    def total_length(self) -> int:
        """Characters of a code as stored, separators and prefix included."""
        groups = math.ceil(self.length / self.group) if self.group else 1
        return len(self.prefix) + self.length + len(self.separator) * (groups - 1)

    def check(self) -> CodeFormat:
        """Raise ``ValueError`` naming the setting that makes codes guessable or unreadable."""
        alphabet = self.alphabet
        if (
            not isinstance(alphabet, str)
            or len(set(alphabet)) != len(alphabet)
            or len(alphabet) < 2
        ):
            raise ValueError("LOYALTY_CODE_ALPHABET must be two or more distinct characters")
        if normalize_code(alphabet) != alphabet:
            raise ValueError(
                "LOYALTY_CODE_ALPHABET may hold only characters a customer cannot mistype: "
                "upper-case letters other than I, L and O, and digits"
            )
        for name, value in (("LENGTH", self.length), ("GROUP", self.group)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"LOYALTY_CODE_{name} must be a whole number")
        if self.separator not in SEPARATORS:
            raise ValueError(f"LOYALTY_CODE_SEPARATOR must be one of {SEPARATORS}")
        if not isinstance(self.prefix, str) or not set(self.prefix) <= PREFIX_CHARACTERS:
            raise ValueError("LOYALTY_CODE_PREFIX may hold upper-case letters, digits and dashes")
        if self.bits < MIN_CODE_BITS:
            raise ValueError(
                f"generated codes would carry {self.bits:.1f} random bits, fewer than "
                f"{MIN_CODE_BITS}: raise LOYALTY_CODE_LENGTH or use a larger "
                "LOYALTY_CODE_ALPHABET"
            )
        if self.total_length > MAX_CODE_LENGTH:
            raise ValueError(f"generated codes would be longer than {MAX_CODE_LENGTH} characters")
        return self

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CodeFormat:
        return _code_format(
            config["LOYALTY_CODE_LENGTH"],
            config["LOYALTY_CODE_ALPHABET"],
            config["LOYALTY_CODE_GROUP"],
            config["LOYALTY_CODE_SEPARATOR"],
            config["LOYALTY_CODE_PREFIX"],
        )


@functools.lru_cache(maxsize=16)
def _code_format(length: Any, alphabet: Any, group: Any, separator: Any, prefix: Any) -> CodeFormat:
    return CodeFormat(length, alphabet, group, separator, prefix).check()


DEFAULT_FORMAT = CodeFormat()


def generate_code(code_format: CodeFormat = DEFAULT_FORMAT) -> str:
    """A new random code in the given format (characters drawn with :mod:`secrets`)."""
    raw = _random_characters(code_format.alphabet, code_format.length)
    size = code_format.group or code_format.length
    body = code_format.separator.join(raw[i : i + size] for i in range(0, len(raw), size))
    return code_format.prefix + body


def _random_characters(alphabet: str, count: int) -> str:
    """``count`` characters drawn uniformly from ``alphabet`` (at most 256 of them).

    One call for random bytes instead of one per character: a redemption draws a code, and
    :func:`secrets.choice` asks the operating system for every character. A byte that would
    favour the first characters (past the last whole multiple of the alphabet) is drawn again.
    """
    size = len(alphabet)
    usable = 256 - 256 % size
    drawn: list[str] = []
    while len(drawn) < count:
        drawn += [alphabet[byte % size] for byte in secrets.token_bytes(count) if byte < usable]
    return "".join(drawn[:count])


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
            raise RewardUnavailable("no_codes_left", gettext("This reward has no code configured."))
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
    return PickedCode(generate_code(CodeFormat.from_config(ctx.config)), unique=True)


def issue_to_host(ctx: Context, redeemed: RedeemedRewardMixin) -> None:
    """Hand a new reward's code to the host's ``coupon_issuer``, inside the redemption.

    Called in the redemption's transaction, so a voucher row the host adds commits with the
    reward, and anything the callback raises rolls the whole redemption back.
    """
    if ctx.coupon_issuer is not None and redeemed.coupon_code is not None:
        ctx.coupon_issuer(redeemed)


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
    #: Codes that exist already: in any pool, as a redeemed reward's code, or (compared as a
    #: customer would type them) as a campaign's shared code.
    already_known: list[str] = field(default_factory=list)
    blank_lines: int = 0
    invalid: list[str] = field(default_factory=list)
    #: The first line when it is a header (``code,comment``), not taken as a code.
    header: str | None = None


#: First cells that make the first line a header, compared without case.
HEADER_CELLS = frozenset({"code", "codes", "coupon", "coupon code", "coupon_code", "coupon codes"})
#: Codes looked up and inserted per statement while an upload is read.
POOL_BATCH = 500


def _first_cell(line: str) -> str:
    return line.split(",", 1)[0].strip().strip('"').strip()


def add_pool_codes(
    ctx: Context,
    campaign: RewardCampaignMixin,
    text: str | Iterable[str],
    now: dt.datetime,
    *,
    max_codes: int | None = None,
    actor: str | None = None,
) -> UploadReport:
    """Add uploaded codes (one per line, or the first CSV column) to a campaign's pool.

    ``text`` may be the whole text or any iterable of lines (an open file): it is read and
    stored ``POOL_BATCH`` codes at a time. A first line whose first cell is a column name
    (``code``, ``coupon code``...) is the header. Codes that exist anywhere already are
    reported, not added. Raises :class:`InvalidInput` when the upload holds more than
    ``max_codes`` codes (default ``LOYALTY_POOL_UPLOAD_MAX_CODES``); run inside a unit of work,
    nothing of it is then kept. The upload is recorded in the campaign's audit trail.
    """
    if not isinstance(text, str | Iterable) or isinstance(text, bytes | dict):
        raise InvalidInput("codes must be text or an iterable of lines")
    lines: Iterable[str] = text.splitlines() if isinstance(text, str) else text
    limit = int(ctx.config["LOYALTY_POOL_UPLOAD_MAX_CODES"] if max_codes is None else max_codes)
    report = UploadReport()
    shared = _shared_codes(ctx)
    seen: set[str] = set()
    batch: list[str] = []
    entries = 0
    for line in lines:
        if not isinstance(line, str):
            raise InvalidInput("codes must be text")
        value = _first_cell(line)
        if not value:
            report.blank_lines += 1
            continue
        if entries == 0 and report.header is None and value.lower() in HEADER_CELLS:
            report.header = line.strip()[:80]
            continue
        entries += 1
        if entries > limit:
            raise InvalidInput(
                gettext(
                    "An upload may hold at most %(max)s codes (LOYALTY_POOL_UPLOAD_MAX_CODES); "
                    "nothing was added. Split the file and upload the parts one by one.",
                    max=limit,
                ),
                max_codes=limit,
            )
        if len(value) > MAX_CODE_LENGTH or any(ch.isspace() for ch in value):
            report.invalid.append(value[:80])
        elif value in seen:
            report.duplicates_in_file.append(value)
        else:
            seen.add(value)
            batch.append(value)
            if len(batch) >= POOL_BATCH:
                _store(ctx, campaign, batch, shared, report, now)
                batch = []
    if batch:
        _store(ctx, campaign, batch, shared, report, now)
    summary = f"{len(report.added)} added, {len(report.already_known)} already known"
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


def upload_pool_codes(
    ctx: Context, campaign: Any, text: str | Iterable[str], *, actor: str | None = None
) -> UploadReport:
    """Add uploaded codes (one per line, or the first CSV column) to a campaign's pool.

    :func:`add_pool_codes` in a unit of work of its own, the campaign given by id or instance.
    ``text`` is the text or an iterable of its lines (read in batches); a header line is
    skipped and codes that exist anywhere already are reported, not added; above
    ``LOYALTY_POOL_UPLOAD_MAX_CODES`` codes nothing is added. The upload is recorded in the
    campaign's audit trail (how many codes were added, by ``actor``).

    Raises: InvalidInput (also above the upload limit), RewardUnavailable (``not_found``: no
    such campaign).
    """
    reward = ctx.campaign(campaign)
    with unit_of_work(ctx):
        return add_pool_codes(ctx, reward, text, clock.now(), actor=actor)


def _shared_codes(ctx: Context) -> set[str]:
    """Every campaign's shared code, as customers may type it (few: one per campaign)."""
    table = ctx.models.RewardCampaign.__table__
    found = ctx.session.scalars(
        sa.select(table.c.shared_code).where(table.c.shared_code.is_not(None))
    )
    return {normalize_code(code) for code in found}


def _store(
    ctx: Context,
    campaign: RewardCampaignMixin,
    batch: list[str],
    shared: set[str],
    report: UploadReport,
    now: dt.datetime,
) -> None:
    table = ctx.models.CouponCode.__table__
    rr = ctx.models.RedeemedReward.__table__
    known = {code for code in batch if normalize_code(code) in shared}
    known.update(ctx.session.scalars(sa.select(table.c.code).where(table.c.code.in_(batch))))
    known.update(
        ctx.session.scalars(sa.select(rr.c.unique_code).where(rr.c.unique_code.in_(batch)))
    )
    fresh = [code for code in batch if code not in known]
    report.already_known.extend(code for code in batch if code in known)
    if fresh:
        ctx.session.execute(
            sa.insert(table),
            [{"campaign_id": campaign.id, "code": code, "created_at": now} for code in fresh],
        )
    report.added.extend(fresh)


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
