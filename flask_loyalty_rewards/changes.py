"""React to changes of the host's own models: ``@loyalty.on_change(Order, "status")``.

A shop whose order is paid when ``Order.status`` becomes 3 need not wrap its methods: the
callback ``fn(instance, old, new)`` runs whenever a change of that attribute is committed,
however the host's code made it. It runs inside the host's commit, before the transaction
ends, so service calls it makes (``earn_for_order``, ``use_coupon`` ...) commit together with
the change, atomically; each still runs in its own savepoint. If a callback raises, the
host's ``commit()`` raises it and nothing is committed (roll the session back, as after any
failed commit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from .services.transaction import joined

#: Rounds of callbacks one commit may run (a callback's own changes are seen in the next one).
MAX_ROUNDS = 10


@dataclass(frozen=True)
class Watch:
    model: type[Any]
    attribute: str
    callback: Callable[[Any, Any, Any], Any]


def watch_session(session: Any, watches: list[Watch], active: Callable[[], bool]) -> None:
    """Listen to ``session``'s flushes and commits for the ``watches`` (a list shared with the
    extension, so callbacks registered later are seen). Once per session and list.

    ``active`` says whether the watches apply now: a session shared by several apps runs only
    the callbacks of the extension mounted on the current one.
    """
    marks: set[int] = session.__dict__.setdefault("_loyalty_change_watches", set())
    if id(watches) in marks:
        return
    marks.add(id(watches))
    changes_key = f"loyalty_changes_{id(watches)}"

    def before_flush(target: Session, flush_context: Any, instances: Any) -> None:
        if not watches or not active():
            return
        found = target.info.setdefault(changes_key, [])
        for obj in [*target.new, *target.dirty]:
            for w in watches:
                if not isinstance(obj, w.model):
                    continue
                history = sa.inspect(obj).attrs[w.attribute].history
                if history.added:
                    old = history.deleted[0] if history.deleted else None
                    found.append((w, obj, old, history.added[0]))

    def before_commit(target: Session) -> None:
        if not watches or not active():
            return
        for _ in range(MAX_ROUNDS):
            target.flush()
            found = target.info.pop(changes_key, [])
            if not found:
                return
            with joined():
                for w, obj, old, new in found:
                    w.callback(obj, old, new)
        raise RuntimeError(
            f"on_change callbacks kept changing watched models ({MAX_ROUNDS} rounds)"
        )

    def forget(target: Session, *args: Any) -> None:
        target.info.pop(changes_key, None)

    event.listen(session, "before_flush", before_flush)
    event.listen(session, "before_commit", before_commit)
    event.listen(session, "after_rollback", forget)
