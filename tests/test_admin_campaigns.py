"""Reward campaign management in the admin, and the campaign rules service behind it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from flask_loyalty_rewards import CodeSource, RewardType
from flask_loyalty_rewards.services.campaigns import campaign_problems
from tests import host
from tests.support.admin import (
    CAMPAIGNS,
    campaign_form,
    campaign_values,
    create_campaign,
    csrf_token,
    flashes,
    grid,
    upload_codes,
)

UTC = dt.timezone.utc


# -- the rules ------------------------------------------------------------------------------------


def test_valid_campaign_has_no_problems():
    assert campaign_problems(campaign_values()) == {}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "  "}, "name"),
        ({"cost_in_points": 0}, "cost_in_points"),
        ({"cost_in_points": True}, "cost_in_points"),
        ({"tax_value": Decimal("-1")}, "tax_value"),
        ({"currency": "EURO"}, "currency"),
        ({"total_limit": 0}, "total_limit"),
        ({"days_valid": -1}, "days_valid"),
        (
            {
                "active_from": dt.datetime(2026, 3, 2, tzinfo=UTC),
                "active_to": dt.datetime(2026, 3, 1, tzinfo=UTC),
            },
            "active_to",
        ),
        ({"code_source": CodeSource.SHARED}, "shared_code"),
        ({"shared_code": "ABC"}, "shared_code"),
        ({"reward_type": RewardType.CASHBACK}, "reward_value"),
        (
            {"reward_type": RewardType.VALUE_CODE, "fulfillment_tracking": True},
            "fulfillment_tracking",
        ),
    ],
)
def test_campaign_problems_name_the_field(changes, field):
    assert field in campaign_problems(campaign_values(**changes))


# -- the views ------------------------------------------------------------------------------------


def campaigns(admin_data):
    return admin_data.run(
        lambda s, m: [(c.name, c.cost_in_points) for c in s.query(m.RewardCampaign).all()]
    )


def test_create_campaign_saves_every_field(admin_client, admin_data, frozen_clock):
    response = create_campaign(admin_client)
    assert response.status_code == 302

    def read(session, models):
        return session.query(models.RewardCampaign).one()

    campaign = admin_data.run(read)
    assert campaign.name == "Teddy bear"
    assert campaign.reward_type is RewardType.GIFT
    assert campaign.cost_in_points == 250
    assert campaign.tax_value == Decimal("1.50")
    assert campaign.active_from == dt.datetime(2026, 3, 1, tzinfo=UTC)
    assert campaign.total_limit == 10 and campaign.per_customer_limit == 1
    assert campaign.days_valid == 30 and campaign.fulfillment_tracking
    assert campaign.created_at == campaign.updated_at == frozen_clock.current


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cost_in_points": "0"}, "The cost in points must be a whole number above 0."),
        ({"active_to": "2026-02-01 00:00:00"}, "The end must come after the start."),
        ({"code_source": "shared"}, "A campaign with one shared code needs that code."),
        ({"name": ""}, "This field is required."),
        ({"reward_type": "diamonds"}, "Not a valid choice"),
    ],
)
def test_invalid_campaign_shows_a_form_error_and_saves_nothing(
    admin_client, admin_data, changes, message
):
    response = create_campaign(admin_client, **changes)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert campaigns(admin_data) == []


def test_edit_campaign(admin_client, admin_data):
    cid = admin_data.campaign(name="Old")
    data = campaign_form(name="New name", fulfillment_tracking="", reward_type="discount_code")
    data["csrf_token"] = csrf_token(admin_client, f"{CAMPAIGNS}edit/?id={cid}")
    response = admin_client.post(f"{CAMPAIGNS}edit/?id={cid}", data=data)
    assert response.status_code == 302
    assert campaigns(admin_data) == [("New name", 250)]


def test_a_total_limit_set_in_the_admin_counts_the_earlier_redemptions(admin_client, admin_data):
    cid = admin_data.campaign(name="Bear", cost_in_points=1)
    for _ in range(2):
        admin_data.redeemed(admin_data.customer(), cid)
    data = campaign_form(
        name="Bear", total_limit="3", per_customer_limit="", active_from="", active_to=""
    )
    data["csrf_token"] = csrf_token(admin_client, f"{CAMPAIGNS}edit/?id={cid}")
    assert admin_client.post(f"{CAMPAIGNS}edit/?id={cid}", data=data).status_code == 302
    campaign = admin_data.get("RewardCampaign", cid)
    assert (campaign.total_limit, campaign.redeemed_count) == (3, 2)


def test_campaigns_cannot_be_deleted(admin_client, admin_data):
    cid = admin_data.campaign()
    admin_client.post(
        CAMPAIGNS + "delete/", data={"id": cid, "csrf_token": csrf_token(admin_client, CAMPAIGNS)}
    )
    assert len(campaigns(admin_data)) == 1


def test_deactivate_and_activate_actions(admin_client, admin_data):
    cid = admin_data.campaign()

    def action(name):
        return admin_client.post(
            CAMPAIGNS + "action/",
            data={"action": name, "rowid": str(cid), "csrf_token": csrf_token(admin_client)},
            follow_redirects=True,
        )

    assert "1 campaign(s) deactivated." in flashes(action("deactivate").get_data(as_text=True))
    assert not admin_data.get("RewardCampaign", cid).active
    assert "1 campaign(s) activated." in flashes(action("activate").get_data(as_text=True))
    assert admin_data.get("RewardCampaign", cid).active


def test_list_shows_codes_left_and_times_redeemed(admin_client, admin_data):
    pool = admin_data.campaign(name="Pool", code_source=CodeSource.POOL, cost_in_points=1)
    admin_data.run(lambda s, m: host.loyalty.add_pool_codes(pool, "A\nB\nC"))
    admin_data.redeemed(admin_data.customer(), pool)
    rows = grid(admin_client.get(CAMPAIGNS).get_data(as_text=True))[1]
    assert rows[0]["Codes left"] == "2"
    assert rows[0]["Times redeemed"] == "1"


# -- coupon pool upload ---------------------------------------------------------------------------


@pytest.fixture
def pool(admin_data):
    return admin_data.campaign(name="Pool", code_source=CodeSource.POOL)


def test_pool_upload_reports_added_duplicates_blank_lines_and_known_codes(
    admin_client, admin_data, pool
):
    other = admin_data.campaign(code_source=CodeSource.POOL)
    upload_codes(admin_client, other, text="KNOWN1")
    body = upload_codes(admin_client, pool, file=b"AAA1\r\n\r\nAAA1\r\nBBB2\r\nKNOWN1\r\n  \r\n")
    report = body[body.index('id="loyalty-pool-report"') :]
    assert "Added 2 code(s)." in report
    assert "Repeated in the file (added once): 1: AAA1" in report
    assert "Blank lines skipped: 2" in report
    assert "Already in use elsewhere, not added: 1: KNOWN1" in report
    assert "Codes left: <strong>2</strong>" in body


def test_pool_upload_skips_a_header_row(admin_client, admin_data, pool):
    for n, header in enumerate(("code,comment", "Code", '"coupon code",x', "CODES,valid until")):
        body = upload_codes(
            admin_client, pool, file=f"{header}\nA{n},first\nB{n},second\n".encode()
        )

        report = body[body.index('id="loyalty-pool-report"') :]
        assert "Added 2 code(s)." in report, header
        assert "Header line skipped" in report
    codes = admin_data.run(lambda s, m: sorted(c.code for c in s.query(m.CouponCode)))
    assert codes == ["A0", "A1", "A2", "A3", "B0", "B1", "B2", "B3"]


def test_pool_upload_refuses_another_campaigns_shared_code(admin_client, admin_data, pool):
    admin_data.campaign(name="Welcome", code_source=CodeSource.SHARED, shared_code="WELCOME-10")

    body = upload_codes(admin_client, pool, text="welcome10\nFRESH1")

    assert "Added 1 code(s)." in body
    assert "Already in use elsewhere, not added: 1: welcome10" in body
    codes = admin_data.run(lambda s, m: [c.code for c in s.query(m.CouponCode)])
    assert codes == ["FRESH1"]


def test_pool_upload_above_the_limit_is_refused_whole(app, admin_client, admin_data, pool):
    app.config["LOYALTY_POOL_UPLOAD_MAX_CODES"] = 1200  # three batches' worth, and then some
    lines = "\n".join(f"C{i}" for i in range(1201))

    body = upload_codes(admin_client, pool, file=f"code\n{lines}\n".encode())

    assert "at most 1200 codes (LOYALTY_POOL_UPLOAD_MAX_CODES); nothing was added" in flashes(body)
    assert admin_data.run(lambda s, m: s.query(m.CouponCode).count()) == 0


def test_pool_upload_of_exactly_the_limit_is_stored_in_batches(app, admin_client, admin_data, pool):
    app.config["LOYALTY_POOL_UPLOAD_MAX_CODES"] = 1200

    body = upload_codes(admin_client, pool, file="\n".join(f"C{i}" for i in range(1200)).encode())

    assert "Added 1200 code(s)." in body
    assert admin_data.run(lambda s, m: s.query(m.CouponCode).count()) == 1200


def test_pool_upload_not_utf8_after_the_first_batches_keeps_nothing(admin_client, admin_data, pool):
    good = "\n".join(f"C{i}" for i in range(1100)).encode()

    body = upload_codes(admin_client, pool, file=good + b"\n\xff\xfeBAD\n")

    assert "The file is not UTF-8 text" in flashes(body)
    assert admin_data.run(lambda s, m: s.query(m.CouponCode).count()) == 0


def test_pool_upload_accepts_pasted_codes(admin_client, pool):
    body = upload_codes(admin_client, pool, text="X1\nX2")
    assert "Added 2 code(s)." in body


def test_pool_upload_refuses_a_file_that_is_not_utf8(admin_client, admin_data, pool):
    body = upload_codes(admin_client, pool, file="Zoë".encode("utf-16"))
    assert "The file is not UTF-8 text" in flashes(body)
    assert admin_data.run(lambda s, m: s.query(m.CouponCode).count()) == 0


def test_pool_upload_with_nothing_chosen_says_so(admin_client, pool):
    assert "Choose a CSV file or paste the codes." in flashes(upload_codes(admin_client, pool))


def test_pool_upload_is_not_offered_for_generated_codes(admin_client, admin_data):
    cid = admin_data.campaign(code_source=CodeSource.GENERATED)
    body = upload_codes(admin_client, cid, text="X1")
    assert "does not take codes from a pool" in flashes(body)
    assert admin_data.run(lambda s, m: s.query(m.CouponCode).count()) == 0


def test_pool_page_of_a_missing_campaign_goes_back_to_the_list(admin_client):
    response = admin_client.get(f"{CAMPAIGNS}pool/?id=424242", follow_redirects=True)
    assert "That reward campaign does not exist." in flashes(response.get_data(as_text=True))


def test_uploaded_codes_are_escaped_in_the_report(admin_client, pool):
    body = upload_codes(admin_client, pool, text="<b>x</b>\n<b>x</b>")
    assert "<b>x</b>" not in body and "&lt;b&gt;x&lt;/b&gt;" in body


# -- campaign texts per locale (services/translations.py) -----------------------------------------


def edit_with_translations(client, cid, rows):
    data = campaign_form(name="Teddy bear")
    for n, (locale, name, description) in enumerate(rows):
        data.update(
            {
                f"translations-{n}-locale": locale,
                f"translations-{n}-name": name,
                f"translations-{n}-description": description,
            }
        )
    data["csrf_token"] = csrf_token(client, f"{CAMPAIGNS}edit/?id={cid}")
    return client.post(f"{CAMPAIGNS}edit/?id={cid}", data=data)


def translations_of(admin_data, cid):
    model = host.models.CampaignTranslation
    return admin_data.run(
        lambda s, m: [
            (t.locale, t.name, t.description)
            for t in s.query(model).filter_by(campaign_id=cid).order_by(model.locale)
        ]
    )


def test_the_admin_translates_a_campaigns_name_and_description_per_locale(admin_client, admin_data):
    cid = admin_data.campaign(name="Teddy bear")
    assert "Translations" in admin_client.get(f"{CAMPAIGNS}edit/?id={cid}").get_data(as_text=True)
    rows = [("pl-PL", "Miś", "Pluszowy miś"), ("de", "Teddybär", "")]
    assert edit_with_translations(admin_client, cid, rows).status_code == 302
    assert translations_of(admin_data, cid) == [
        ("de", "Teddybär", ""),
        ("pl_PL", "Miś", "Pluszowy miś"),
    ]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("klingon-xx", "Name", "")], "is not a known locale."),
        ([("", "Name", "")], "This field is required."),
        ([("pl", "Miś", ""), ("PL", "Misiek", "")], "This locale is already translated above."),
    ],
)
def test_a_translation_for_an_unknown_or_repeated_locale_is_refused(
    admin_client, admin_data, rows, message
):
    cid = admin_data.campaign(name="Teddy bear")
    response = edit_with_translations(admin_client, cid, rows)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert translations_of(admin_data, cid) == []
