"""Who may use the loyalty admin: deny by default, one hook grants, CSRF either way."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_wtf.csrf import CSRFProtect

from flask_loyalty_rewards.admin import LoyaltyAdminMixin, add_admin_view, index_view_class
from tests import host
from tests.support.admin import CAMPAIGNS, GRID, POINTS, csrf_token
from tests.support.apps import dispose
from tests.support.clients import log_in

GETS = [
    GRID,
    GRID + "details/?id={rid}",
    GRID + "export/csv/",
    CAMPAIGNS,
    CAMPAIGNS + "new/",
    CAMPAIGNS + "edit/?id={cid}",
    CAMPAIGNS + "details/?id={cid}",
    CAMPAIGNS + "pool/?id={cid}",
    POINTS,
    POINTS + "customer/?customer_id={customer}",
]
POSTS = [
    (GRID + "usage/", {"id": "{rid}", "used": "1"}),
    (GRID + "delivery/", {"id": "{rid}", "status": "shipped"}),
    (GRID + "cancel/", {"id": "{rid}", "reason": "x"}),
    (GRID + "action/", {"action": "mark_used", "rowid": "{rid}"}),
    (CAMPAIGNS + "new/", {"name": "New", "reward_type": "gift", "cost_in_points": "5"}),
    (CAMPAIGNS + "edit/?id={cid}", {"name": "Renamed"}),
    (CAMPAIGNS + "action/", {"action": "deactivate", "rowid": "{cid}"}),
    (CAMPAIGNS + "pool/?id={cid}", {"text": "CODE1"}),
    (POINTS + "customer/adjust/?customer_id={customer}", {"delta": "5", "reason": "x"}),
    (POINTS + "customer/redeem/?customer_id={customer}", {"campaign": "{cid}"}),
]


@pytest.fixture
def ids(admin_data: Any) -> dict[str, int]:
    customer = admin_data.customer()
    cid = admin_data.campaign()
    return {"customer": customer, "cid": cid, "rid": admin_data.redeemed(customer, cid)}


def client_as(app: Flask, customer_id: int | None) -> Any:
    client = app.test_client()
    return client if customer_id is None else log_in(client, customer_id)


def fill(template: str, ids: dict[str, int]) -> str:
    return template.format(**ids)


@pytest.mark.parametrize("url", GETS)
@pytest.mark.parametrize("who", ["anonymous", "customer"])
def test_pages_refuse_anyone_but_an_admin(app, admin_data, ids, url, who):
    customer_id = None if who == "anonymous" else admin_data.customer()
    assert client_as(app, customer_id).get(fill(url, ids)).status_code == 403


@pytest.mark.parametrize("url", GETS)
def test_pages_answer_an_admin(app, admin_client, ids, url):
    assert admin_client.get(fill(url, ids)).status_code == 200


@pytest.mark.parametrize(("url", "data"), POSTS, ids=[p[0] for p in POSTS])
@pytest.mark.parametrize("who", ["anonymous", "customer"])
def test_changes_are_refused_to_anyone_but_an_admin(app, admin_data, ids, url, data, who):
    customer_id = None if who == "anonymous" else admin_data.customer()
    client = client_as(app, customer_id)
    form = {k: fill(v, ids) for k, v in data.items()}
    assert client.post(fill(url, ids), data=form).status_code == 403


@pytest.mark.parametrize(("url", "data"), POSTS, ids=[p[0] for p in POSTS])
def test_changes_are_accepted_from_an_admin_with_a_token(admin_client, ids, url, data):
    form = {k: fill(v, ids) for k, v in data.items()}
    form["csrf_token"] = csrf_token(admin_client)
    response = admin_client.post(fill(url, ids), data=form)
    assert response.status_code in (200, 302)
    assert response.status_code == 302 or "pool" in url or "new" in url or "edit" in url


def test_a_refused_customer_changes_nothing(app, admin_data, ids):
    client = client_as(app, admin_data.customer())
    client.post(GRID + "usage/", data={"id": ids["rid"], "used": "1"})
    assert not admin_data.get("RedeemedReward", ids["rid"]).used


def test_menu_does_not_show_loyalty_views_to_a_customer(app, admin_data):
    body = client_as(app, admin_data.customer()).get("/admin/").get_data(as_text=True)
    assert "Redeemed rewards" not in body and "Reward campaigns" not in body


def test_menu_shows_the_reward_campaigns_category_to_an_admin(admin_client):
    body = admin_client.get("/admin/").get_data(as_text=True)
    assert "Reward campaigns" in body and "Redeemed rewards" in body
    assert 'href="/admin/loyalty/redeemed/"' in body


# -- the hooks -----------------------------------------------------------------------------------


def test_without_any_hook_even_an_admin_is_refused(variant, admin_data):
    other = variant(LOYALTY_ADMIN_ACCESS=None)
    assert client_as(other, admin_data.admin()).get(GRID).status_code == 403


def test_anonymous_visitor_is_sent_to_the_login_endpoint_when_configured(variant, admin_data):
    other = variant(LOYALTY_LOGIN_ENDPOINT="_test_login_page")
    other.add_url_rule("/login", "_test_login_page", lambda: "login")
    response = client_as(other, None).get(GRID)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert client_as(other, admin_data.customer()).get(GRID).status_code == 403


def test_admin_actor_callable_names_the_admin_in_history(variant, admin_data, ids):
    other = variant(LOYALTY_ADMIN_ACTOR=lambda: "staff:joe")
    client = client_as(other, admin_data.admin())
    client.post(
        GRID + "usage/", data={"id": ids["rid"], "used": "1", "csrf_token": csrf_token(client)}
    )

    def actors(session, models):
        rows = session.query(models.RewardHistory).filter_by(redeemed_reward_id=ids["rid"])
        return [h.actor for h in rows if h.event.value == "used"]

    assert admin_data.run(actors) == ["staff:joe"]


class HostSecuredView(ModelView):
    """A host's own secured base: admins are customers whose e-mail ends with @staff."""

    def is_accessible(self) -> bool:
        customer = host.current_customer()
        return bool(customer is not None and customer.email.endswith("@staff"))

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        return "host says no", 401


def host_base_app(database_url: str, **config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="x",
        SQLALCHEMY_DATABASE_URI=database_url,
        SQLALCHEMY_ENGINE_OPTIONS=host.engine_options(database_url),
        **config,
    )
    host.db.init_app(app)
    admin = Admin(app, name="Host")
    host.loyalty.init_app(
        app, db=host.db, models=host.models, admin=admin, admin_base_view=HostSecuredView
    )
    host.add_test_login(app)
    return app


@pytest.fixture
def base_app(app, database_url):
    variant = host_base_app(database_url)
    yield variant
    dispose(variant)


def test_host_base_view_grants_access_through_its_is_accessible(base_app, admin_data):
    staff = admin_data.customer(email="joe@staff")
    assert client_as(base_app, staff).get(GRID).status_code == 200
    assert client_as(base_app, staff).get(POINTS).status_code == 200


def test_host_base_view_refuses_with_its_own_callback(base_app, admin_data):
    response = client_as(base_app, admin_data.customer(is_admin=True)).get(GRID)
    assert response.status_code == 401
    assert response.get_data(as_text=True) == "host says no"


def test_views_built_on_a_host_base_subclass_it(base_app):
    views = [v for a in base_app.extensions["admin"] for v in a._views]
    loyalty = [v for v in views if isinstance(v, LoyaltyAdminMixin)]
    assert len(loyalty) >= 3
    assert all(isinstance(v, HostSecuredView) for v in loyalty)


def test_two_apps_in_one_process_have_their_own_views(app, variant, admin_data):
    other = variant()
    ours = {id(v) for a in app.extensions["admin"] for v in a._views}
    theirs = {id(v) for a in other.extensions["admin"] for v in a._views}
    assert not ours & theirs
    admin_id = admin_data.admin()
    assert client_as(app, admin_id).get(GRID).status_code == 200
    assert client_as(other, admin_id).get(GRID).status_code == 200


def test_add_admin_view_refuses_a_view_without_the_secure_base(variant):
    other = variant()
    with pytest.raises(TypeError, match="LoyaltyAdminMixin"):
        add_admin_view(other, ModelView, host.models.RewardHistory, host.db)


def test_index_view_class_denies_by_default(app, database_url, admin_data):
    variant = Flask(__name__)
    variant.config.update(
        SECRET_KEY="x",
        SQLALCHEMY_DATABASE_URI=database_url,
        SQLALCHEMY_ENGINE_OPTIONS=host.engine_options(database_url),
        LOYALTY_ADMIN_ACCESS=host.is_admin,
    )
    host.db.init_app(variant)
    Admin(variant, index_view=index_view_class()())
    host.loyalty.init_app(variant, db=host.db, models=host.models)
    try:
        assert client_as(variant, None).get("/admin/").status_code == 403
        assert client_as(variant, admin_data.admin()).get("/admin/").status_code == 200
    finally:
        dispose(variant)


def test_a_stock_admin_index_denies_by_default_too(app, admin_data):
    assert client_as(app, None).get("/admin/").status_code == 403
    assert client_as(app, admin_data.customer()).get("/admin/").status_code == 403
    assert client_as(app, admin_data.admin()).get("/admin/").status_code == 200


def test_a_hosts_own_index_view_is_left_alone(make_app_with_index):
    variant = make_app_with_index()
    assert client_as(variant, None).get("/admin/").status_code == 200


@pytest.fixture
def make_app_with_index(database_url):
    from flask_admin import AdminIndexView

    class OpenIndex(AdminIndexView):
        pass

    made: list[Flask] = []

    def make() -> Flask:
        variant = Flask(__name__)
        variant.config.update(
            SECRET_KEY="x",
            SQLALCHEMY_DATABASE_URI=database_url,
            SQLALCHEMY_ENGINE_OPTIONS=host.engine_options(database_url),
            LOYALTY_ADMIN_ACCESS=host.is_admin,
        )
        host.db.init_app(variant)
        admin = Admin(variant, index_view=OpenIndex())
        host.loyalty.init_app(variant, db=host.db, models=host.models, admin=admin)
        made.append(variant)
        return variant

    yield make
    for variant in made:
        dispose(variant)


# -- CSRF with and without the host's CSRFProtect ------------------------------------------------


@pytest.fixture
def protected_app(variant):
    other = variant()
    CSRFProtect(other)
    return other


def test_row_action_with_host_csrfprotect_needs_the_token(protected_app, admin_data, ids):
    client = client_as(protected_app, admin_data.admin())
    assert client.post(GRID + "usage/", data={"id": ids["rid"], "used": "1"}).status_code == 400
    assert not admin_data.get("RedeemedReward", ids["rid"]).used
    token = csrf_token(client)
    response = client.post(
        GRID + "usage/", data={"id": ids["rid"], "used": "1", "csrf_token": token}
    )
    assert response.status_code == 302
    assert admin_data.get("RedeemedReward", ids["rid"]).used


def test_bulk_action_with_host_csrfprotect_works_with_the_token(protected_app, admin_data, ids):
    client = client_as(protected_app, admin_data.admin())
    data = {"action": "mark_used", "rowid": str(ids["rid"]), "csrf_token": csrf_token(client)}
    assert client.post(GRID + "action/", data=data).status_code == 302
    assert admin_data.get("RedeemedReward", ids["rid"]).used


@pytest.mark.parametrize(("url", "data"), POSTS, ids=[p[0] for p in POSTS])
def test_no_change_without_a_token_and_no_host_csrfprotect(
    admin_client, admin_data, ids, url, data
):
    form = {k: fill(v, ids) for k, v in data.items()}

    def snapshot(session, models):
        row = session.get(models.RedeemedReward, ids["rid"])
        campaign = session.get(models.RewardCampaign, ids["cid"])
        return (
            row.used,
            row.delivery_status,
            row.canceled_at,
            campaign.name,
            campaign.active,
            session.query(models.RewardCampaign).count(),
            session.query(models.CouponCode).count(),
            session.query(models.LedgerEntry).count(),
            session.query(models.RedeemedReward).count(),
        )

    before = admin_data.run(snapshot)
    admin_client.post(fill(url, ids), data=form)
    assert admin_data.run(snapshot) == before
