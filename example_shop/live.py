"""Serve the example shop over HTTP in a thread, for browser tests and the screenshot script."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from .app import create_app
from .models import db
from .seed import seed


def demo_app(database_url: str, **config: Any) -> Flask:
    """A shop on ``database_url`` with fresh tables and the demo data."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, **config})
    with app.app_context():
        db.drop_all()
        db.create_all()
        seed()
        db.session.remove()
    return app


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """The app on 127.0.0.1 at a free port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()
        with app.app_context():  # the app's own Flask-SQLAlchemy, whichever shop it is
            for engine in app.extensions["sqlalchemy"].engines.values():
                engine.dispose()
