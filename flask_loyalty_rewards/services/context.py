"""What every service call works with: the app's session, models, settings and callbacks.

A call runs as a unit of work (:mod:`.transaction`); its arguments are checked by
:mod:`.arguments`, and what differs between databases is :mod:`.dialect`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from ..errors import InvalidInput, NotFound, RewardUnavailable
from ..models import LoyaltyModels
from ..models.mixins import RedeemedRewardMixin, RewardCampaignMixin
from ..profile import CustomerProfile
from . import dialect
from .arguments import customer_key, integer_id
from .dialect import SelectT


@dataclass
class Context:
    app: Flask
    session: Session
    models: LoyaltyModels
    config: Mapping[str, Any]
    profile_loader: Callable[[Any], CustomerProfile] | None = None
    #: The host's callback creating its own voucher for a code-bearing reward, if any.
    coupon_issuer: Callable[[Any], Any] | None = None
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    #: The call began on a session with no transaction and nothing pending: nothing of the
    #: host's can be in the transaction, so a refusal may roll all of it back (no savepoint).
    owns_transaction: bool = False

    # -- statements -------------------------------------------------------------------------

    @functools.cached_property
    def dialect(self) -> str:
        """The database's name as SQLAlchemy spells it (see :mod:`.dialect`)."""
        bind = self.session.get_bind(mapper=sa.inspect(self.models.Account))
        return bind.dialect.name

    def locked(
        self, stmt: SelectT, *, aggregate: bool = False, skip_locked: bool = False
    ) -> SelectT:
        """``stmt`` as a read that sees the newest committed rows and keeps them until commit
        (:func:`.dialect.locked`)."""
        return dialect.locked(self.dialect, stmt, aggregate=aggregate, skip_locked=skip_locked)

    def write(self, stmt: sa.Executable) -> int:
        """Run an UPDATE/DELETE and say how many rows it changed (conditional writes rely on it)."""
        result: sa.CursorResult[Any] = self.session.execute(stmt)  # type: ignore[assignment]
        return int(result.rowcount)

    def insert_ignore(self, table: sa.Table, values: dict[str, Any]) -> int:
        """INSERT that silently does nothing when the row exists; returns the rowcount."""
        return self.write(dialect.insert_ignore(self.dialect, table, values))

    # -- arguments ----------------------------------------------------------------------------

    def customer_id(self, customer: Any) -> Any:
        """The primary key of a customer given as a model instance or as the key itself."""
        model = self.models.customer_model
        if isinstance(customer, model):
            value = getattr(customer, self.models.customer_pk)
            if value is None:
                self.session.flush()
                value = getattr(customer, self.models.customer_pk)
            if value is None:
                raise InvalidInput("the customer has no primary key yet")
            return value
        return getattr(self.customer_object(customer), self.models.customer_pk)

    def customer_object(self, customer: Any) -> Any:
        """The customer instance; a key is checked and loaded (one query, then the identity map).

        Keep the returned object while you work: the session only holds it weakly, so asking
        again for a key whose object was dropped costs another query.
        """
        model = self.models.customer_model
        if isinstance(customer, model):
            return customer
        key = self._customer_key(customer)
        found = self.session.get(model, key)
        if found is None:
            raise NotFound("no such customer", customer_id=str(key))
        return found

    def _customer_key(self, customer: Any) -> Any:
        return customer_key(customer, self.models.customer_model, self.models.customer_pk_type)

    def profile_of(self, customer: Any) -> CustomerProfile:
        obj = self.customer_object(customer)
        if self.profile_loader is not None:
            profile = self.profile_loader(obj)
            if not isinstance(profile, CustomerProfile):
                raise TypeError("the customer_profile callback must return a CustomerProfile")
            return profile
        return CustomerProfile(
            email=str(getattr(obj, "email", "") or ""),
            phone=str(getattr(obj, "phone", "") or ""),
            first_name=str(getattr(obj, "first_name", "") or ""),
            last_name=str(getattr(obj, "last_name", "") or ""),
        )

    def campaign(self, campaign: Any) -> RewardCampaignMixin:
        model = self.models.RewardCampaign
        if isinstance(campaign, model):
            return campaign
        campaign_id = integer_id(campaign, "campaign")
        found = self.session.get(model, campaign_id)
        if found is None:
            raise RewardUnavailable("not_found", campaign_id=campaign_id)
        return found

    def customer_and_campaign(
        self, customer: Any, campaign: Any
    ) -> tuple[Any, RewardCampaignMixin]:
        """Both instances; given both by key (a job, an integration), loaded in one query."""
        customer_model, campaign_model = self.models.customer_model, self.models.RewardCampaign
        if isinstance(customer, customer_model) or isinstance(campaign, campaign_model):
            return self.customer_object(customer), self.campaign(campaign)
        customer_key = self._customer_key(customer)
        campaign_id = integer_id(campaign, "campaign")
        both = self.session.execute(
            _customer_and_campaign(self.models), {"customer": customer_key, "campaign": campaign_id}
        ).first()
        if both is None:  # one of them does not exist: say which
            return self.customer_object(customer_key), self.campaign(campaign_id)
        return both[0], both[1]

    def redeemed(
        self, redeemed: Any, *, lock: bool = True, current: bool = False
    ) -> RedeemedRewardMixin:
        """The redeemed reward, re-read and row-locked so two admins cannot race on it.

        ``current`` (without ``lock``): see rows committed after this transaction began, as a
        replay after losing an idempotency race must (MariaDB reads an older snapshot otherwise).
        """
        model = self.models.RedeemedReward
        rid = (
            redeemed.id if isinstance(redeemed, model) else integer_id(redeemed, "redeemed reward")
        )
        stmt = sa.select(model).where(model.id == rid).execution_options(populate_existing=True)
        if lock:
            stmt = self.locked(stmt)
        elif current:
            stmt = dialect.current_read(self.dialect, stmt)
        found = self.session.execute(stmt).unique().scalar_one_or_none()
        if found is None:
            raise NotFound("no such redeemed reward", redeemed_reward_id=rid)
        return found


@functools.cache
def _customer_and_campaign(models: LoyaltyModels) -> sa.Select[Any]:
    """Built once: a prebuilt statement is not compiled again."""
    customer_model, campaign_model = models.customer_model, models.RewardCampaign
    return (
        sa.select(customer_model, campaign_model)
        .join(campaign_model, campaign_model.id == sa.bindparam("campaign"))
        .where(getattr(customer_model, models.customer_pk) == sa.bindparam("customer"))
    )
