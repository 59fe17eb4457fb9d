import pytest

pytestmark = pytest.mark.browser


def test_test_login_route_answers_in_real_chromium(live_server, page):
    page.goto(f"{live_server}/_test/login/1")
    assert page.text_content("body") == "ok"
