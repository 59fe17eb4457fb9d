"""Calls raced against each other: threads released together, each with its own session."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask

from tests.host import db


def at_once(app: Flask, count: int, call: Callable[[int], Any], timeout: float = 60) -> list[Any]:
    """What ``call(i)`` returned, or the exception it raised, in each of ``count`` threads
    started together, in thread order; each thread runs in its own app context and session."""
    barrier = threading.Barrier(count)
    outcomes: list[Any] = [None] * count

    def run(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout)
                outcomes[i] = call(i)
            except BaseException as exc:  # the caller's assertions say which were expected
                outcomes[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return outcomes
