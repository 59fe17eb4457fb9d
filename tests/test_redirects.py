"""Where a ``next`` or ``url`` may send the browser: only to a path on this site."""

from __future__ import annotations

from typing import Any

import pytest

from flask_loyalty_rewards.redirects import local_url


@pytest.mark.parametrize(
    ("target", "followed"),
    [
        ("/", "/"),
        ("/orders", "/orders"),
        ("/loyalty/rewards?page=2#top", "/loyalty/rewards?page=2#top"),
        ("/a/b//c", "/a/b//c"),
        ("/a\tb", "/ab"),  # a browser drops the tab, and so is it sent
        ("  /orders\n", "/orders"),
        ("/%2F%2Fevil.example", "/%2F%2Fevil.example"),  # stays a path: not decoded by browsers
        ("/caf\u00e9", "/caf\u00e9"),
    ],
)
def test_a_path_on_this_site_is_followed_as_the_browser_reads_it(
    target: str, followed: str
) -> None:
    assert local_url(target) == followed


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "   ",
        42,
        b"/orders",
        "//evil.example",
        "///evil.example",
        "/\t/evil.example",  # /%09/evil.example once the query string is decoded
        "/\n/evil.example",
        "\t//evil.example",
        "/\r\n/evil.example",
        "\\\\evil.example",
        "/\\evil.example",
        "\\/evil.example",
        "https://evil.example/",
        "http:evil.example",
        "javascript:alert(1)",
        "java\tscript:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "evil.example",
        "orders",
        "\x00//evil.example",
        "/\x00/evil.example",
        "/orders\x7f",
    ],
)
def test_anything_that_could_leave_the_site_is_refused(target: Any) -> None:
    assert local_url(target) is None
