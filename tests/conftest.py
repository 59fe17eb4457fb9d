"""Test fixtures: one suite, run against every backend named in LOYALTY_TEST_BACKENDS.

They live in tests/support/ (test modules import helpers from there, never from each other).
"""

pytest_plugins = [
    "tests.support.databases",
    "tests.support.apps",
    "tests.support.factories",
    "tests.support.clients",
    "tests.support.clock",
    "tests.support.browser",
    "tests.support.paytm",
]
