"""Finding redeemed rewards by customer and code: case-folded keys, matched by prefix."""

from __future__ import annotations

import pytest

from flask_loyalty_rewards.models.keys import fold, search_keys
from flask_loyalty_rewards.services.search import next_prefix
from tests import host
from tests.support.admin import GRID, filter_arg, grid


@pytest.fixture
def rewards(admin_data):
    """Three customers' rewards; returns {e-mail: coupon code}."""
    campaign = admin_data.campaign(name="Mug")
    people = [
        dict(
            email="Ann.Smith@Example.com",
            first_name="Ann",
            last_name="Smith",
            phone="+48 600 111 222",
        ),
        dict(
            email="bob@shop.test", first_name="Bob", last_name="Annanberg", phone="+44 20 7946 0000"
        ),
        dict(email="zoe@shop.test", first_name="Zoë", last_name="Łukasik", phone="+48 501 000 999"),
    ]
    codes = {}
    for fields in people:
        customer = admin_data.customer(**fields)
        rid = admin_data.redeemed(customer, campaign)
        codes[fields["email"]] = admin_data.get("RedeemedReward", rid).coupon_code
    return codes


def found(admin_client, term):
    _, rows = grid(admin_client.get(GRID, query_string={"search": term}).get_data(as_text=True))
    return sorted(row["Customer e-mail"] for row in rows)


def test_search_finds_the_start_of_an_e_mail_in_any_case(admin_client, rewards):
    assert found(admin_client, "ann.sm") == ["Ann.Smith@Example.com"]
    assert found(admin_client, "ANN.SMITH@EXAMPLE.COM") == ["Ann.Smith@Example.com"]
    assert found(admin_client, "example.com") == []  # the start only: no substring scan


def test_search_finds_a_first_name_a_full_name_and_a_surname_in_any_script(admin_client, rewards):
    assert found(admin_client, "ann") == ["Ann.Smith@Example.com", "bob@shop.test"]
    assert found(admin_client, "Ann  Smith") == ["Ann.Smith@Example.com"]
    assert found(admin_client, "smi") == ["Ann.Smith@Example.com"]
    assert found(admin_client, "mith") == []
    assert found(admin_client, "łuka") == ["zoe@shop.test"]
    assert found(admin_client, "ZOË") == ["zoe@shop.test"]


def test_search_finds_a_phone_by_its_digits_whatever_the_spacing(admin_client, rewards):
    assert found(admin_client, "+48 600-111") == ["Ann.Smith@Example.com"]
    assert found(admin_client, "48") == ["Ann.Smith@Example.com", "zoe@shop.test"]


def test_search_finds_a_coupon_code_typed_as_a_customer_would(admin_client, rewards):
    code = rewards["bob@shop.test"]
    typed = "-".join([code[:4].lower(), code[4:8].lower()])
    assert found(admin_client, typed) == ["bob@shop.test"]


def test_search_combines_with_filters(app, admin_client, admin_data, rewards):
    admin_data.run(
        lambda session, models: [
            host.loyalty.mark_used(row)
            for row in session.query(models.RedeemedReward).filter_by(customer_first_name="Bob")
        ]
    )
    used = filter_arg(app, "Unused / Used")

    def matching(value):
        body = admin_client.get(GRID, query_string={"search": "ann", used: value})
        return sorted(row["Customer e-mail"] for row in grid(body.get_data(as_text=True))[1])

    assert matching("used") == ["bob@shop.test"]
    assert matching("unused") == ["Ann.Smith@Example.com"]


def test_a_blank_search_shows_every_reward(admin_client, rewards):
    assert len(found(admin_client, "   ")) == 3


def test_search_keys_follow_a_reward_edited_in_plain_orm_code(
    app, admin_client, admin_data, rewards
):
    def edit(session, models):
        row = session.query(models.RedeemedReward).filter_by(customer_first_name="Bob").one()
        row.customer_email = "Robert@Shop.test"
        session.commit()

    admin_data.run(edit)
    assert found(admin_client, "robert@") == ["Robert@Shop.test"]
    assert found(admin_client, "bob@") == []


def test_the_search_box_says_what_it_searches(admin_client):
    body = admin_client.get(GRID).get_data(as_text=True)
    assert 'placeholder="E-mail, name, surname, phone or code (starts with)"' in body


def test_keys_are_case_folded_and_digits_only():
    keys = search_keys(email=" Ann@X.COM ", first_name="Ann", last_name="Straße", phone="+48 (600)")
    assert keys == {
        "search_email": "ann@x.com",
        "search_name": "ann strasse",
        "search_surname": "strasse",
        "search_phone": "48600",
    }
    assert fold("  A   b ") == "a b"


def test_next_prefix_is_the_end_of_the_prefix_range():
    assert next_prefix("ann") == "ano"
    assert next_prefix("a\U0010ffff") == "b"
    assert next_prefix("\ud7ff") == "\ue000"
    assert next_prefix("\U0010ffff") is None


def test_a_redemption_on_each_backend_stores_the_keys(app, admin_data, rewards):
    def keys(session, models):
        row = session.query(models.RedeemedReward).filter_by(customer_first_name="Ann").one()
        return row.search_email, row.search_surname, row.search_phone, row.search_code

    email, surname, phone, code = admin_data.run(keys)
    assert (email, surname, phone) == ("ann.smith@example.com", "smith", "48600111222")
    assert code == rewards["Ann.Smith@Example.com"].replace("-", "")
