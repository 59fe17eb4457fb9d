"""The campaign audit trail: creation, field edits, (de)activation and pool uploads, with who."""

from __future__ import annotations

from flask_loyalty_rewards import CodeSource
from tests import host
from tests.support.admin import CAMPAIGNS, campaign_form, create_campaign, csrf_token, upload_codes


def trail(admin_data, campaign_id=None):
    def read(session, models):
        audit = models.CampaignAudit
        query = session.query(audit).order_by(audit.id)
        if campaign_id is not None:
            query = query.filter_by(campaign_id=campaign_id)
        return [(a.event.value, a.field, a.old_value, a.new_value, a.actor) for a in query]

    return admin_data.run(read)


def admin_name(admin_data, client):
    """How the history names the test host's admins (admin_actor's default)."""
    return "admin:" + admin_data.get("customer", client.admin_id).email


def test_creating_a_campaign_in_the_admin_records_who_created_it(admin_client, admin_data):
    assert create_campaign(admin_client).status_code == 302
    assert trail(admin_data) == [
        ("created", "name", None, "Teddy bear", admin_name(admin_data, admin_client))
    ]


def test_an_edit_records_each_changed_field_with_old_and_new_values(admin_client, admin_data):
    cid = admin_data.campaign(name="Old", cost_in_points=100)
    data = campaign_form(name="New", cost_in_points="250", reward_type="discount_code")
    data["fulfillment_tracking"] = ""
    data["csrf_token"] = csrf_token(admin_client, f"{CAMPAIGNS}edit/?id={cid}")
    assert admin_client.post(f"{CAMPAIGNS}edit/?id={cid}", data=data).status_code == 302
    edits = {row[1]: row for row in trail(admin_data, cid) if row[0] == "edited"}
    actor = admin_name(admin_data, admin_client)
    assert edits["name"] == ("edited", "name", "Old", "New", actor)
    assert edits["cost_in_points"] == ("edited", "cost_in_points", "100", "250", actor)
    assert "updated_at" not in edits


def test_activation_from_the_list_and_from_code_is_recorded(admin_client, admin_data):
    cid = admin_data.campaign()
    admin_client.post(
        CAMPAIGNS + "action/",
        data={"action": "deactivate", "rowid": str(cid), "csrf_token": csrf_token(admin_client)},
    )

    def activate(session, models):
        campaign = session.get(models.RewardCampaign, cid)
        campaign.active = True
        session.commit()

    admin_data.run(activate)
    events = [row for row in trail(admin_data, cid) if row[0] != "created"]
    assert events == [
        ("deactivated", "active", "True", "False", admin_name(admin_data, admin_client)),
        ("activated", "active", "False", "True", None),
    ]


def test_a_pool_upload_is_recorded_with_its_counts(admin_client, admin_data):
    cid = admin_data.campaign(code_source=CodeSource.POOL)
    upload_codes(admin_client, cid, text="A1\nB2")
    upload_codes(admin_client, cid, text="B2\nC3")
    uploads = [row for row in trail(admin_data, cid) if row[0] == "pool_upload"]
    actor = admin_name(admin_data, admin_client)
    assert uploads == [
        ("pool_upload", "pool", None, "2 added, 0 already known", actor),
        ("pool_upload", "pool", None, "1 added, 1 already known", actor),
    ]


def test_the_campaign_page_shows_its_trail(admin_client, admin_data):
    cid = admin_data.campaign(name="Mug")
    admin_data.run(lambda s, m: host.loyalty.add_pool_codes(cid, "Z9", actor="importer"))
    body = admin_client.get(f"{CAMPAIGNS}edit/?id={cid}").get_data(as_text=True)
    trail_html = body[body.index('id="loyalty-audit"') :]
    assert 'data-loyalty-audit="created"' in trail_html
    assert "1 added, 0 already known" in trail_html and "importer" in trail_html
    details = admin_client.get(f"{CAMPAIGNS}details/?id={cid}").get_data(as_text=True)
    assert 'id="loyalty-audit"' in details
