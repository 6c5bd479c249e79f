"""/api/messaging/templates/: message text with {{variables}}, and its SMS preview."""

import pytest
from django.utils import timezone

from messaging.models import Template
from tests.envelope import assert_error, assert_field_errors, ok_data
from tests.messaging.helpers import (
    TEMPLATES,
    in_tenant,
    make_contact,
    make_template,
    template_url,
    unknown_id,
)

TEMPLATE_FIELDS = {
    "id",
    "name",
    "category",
    "language",
    "channel",
    "content",
    "body_text",
    "variables",
    "is_active",
    "approval_status",
    "usage_count",
    "is_favorite",
    "created_at",
    "updated_at",
}
PREVIEW_FIELDS = {"text", "encoding", "characters", "segments", "missing_variables"}


def preview(client, template, body=None):
    return client.post(template_url(template.id, "preview"), body or {}, format="json")


# --- POST /templates/


def test_create_an_sms_template_extracts_its_variables_and_is_approved(api, a):
    body = {
        "name": "Welcome",
        "category": "onboarding",
        "language": "sw",
        "content": "Habari {{first_name}}, karibu {{ shop }}! {{first_name}}, {{order.id}}",
    }

    data = ok_data(api(a.owner).post(TEMPLATES, body, format="json"), 201)

    assert set(data) == TEMPLATE_FIELDS
    assert data["variables"] == ["first_name", "shop", "order.id"]
    assert (data["channel"], data["approval_status"]) == ("sms", "approved")
    assert (data["language"], data["category"]) == ("sw", "onboarding")
    assert data["body_text"] == data["content"] == body["content"]
    assert data["usage_count"] == 0
    assert data["is_active"] is True
    stored = in_tenant(a.tenant, lambda: Template.objects.get(pk=data["id"]))
    assert stored.created_by_id == a.owner.pk


def test_body_text_is_accepted_for_content(api, a):
    body = {"name": "Alias", "body_text": "Hi {{name}}"}

    data = ok_data(api(a.owner).post(TEMPLATES, body, format="json"), 201)

    assert (data["content"], data["variables"]) == ("Hi {{name}}", ["name"])


def test_a_whatsapp_template_waits_for_approval(api, a):
    body = {"name": "WA", "channel": "whatsapp", "language": "fr", "content": "Bonjour"}

    data = ok_data(api(a.owner).post(TEMPLATES, body, format="json"), 201)

    assert (data["channel"], data["approval_status"]) == ("whatsapp", "pending")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content": "Hi"}, "name"),
        ({"name": "No text"}, "content"),
        ({"name": "Blank", "content": "   "}, "content"),
        ({"name": "Lang", "content": "Hi", "language": "de"}, "language"),
        ({"name": "Chan", "content": "Hi", "channel": "email"}, "channel"),
        ({"name": "x" * 201, "content": "Hi"}, "name"),
        ({"name": "Cat", "content": "Hi", "category": "c" * 65}, "category"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, a, body, field):
    assert_field_errors(api(a.owner).post(TEMPLATES, body, format="json"), field)


@pytest.mark.parametrize("language", ["en", "sw", "fr", "ar"])
def test_every_supported_language_is_accepted(api, a, language):
    body = {"name": language, "content": "Hi", "language": language}

    assert ok_data(api(a.owner).post(TEMPLATES, body, format="json"), 201)["language"] == language


# --- GET /templates/ and /templates/{id}/


def test_the_list_shows_the_tenants_templates_by_name(api, a, b):
    make_template(a.tenant, name="Zeta")
    make_template(a.tenant, name="Alpha")
    make_template(b.tenant, name="Theirs")

    data = ok_data(api(a.agent).get(TEMPLATES, {"page_size": 1}))

    assert data["count"] == 2
    assert [t["name"] for t in data["results"]] == ["Alpha"]
    assert data["next"] is not None


def test_detail_reads_one_template(api, a):
    template = make_template(a.tenant, name="One", content="Hi {{name}}", variables=["name"])

    data = ok_data(api(a.owner).get(template_url(template.id)))

    assert (data["id"], data["variables"]) == (str(template.id), ["name"])


def test_an_unknown_template_is_a_404(api, a):
    assert_error(api(a.owner).get(template_url(unknown_id())), 404, "NOT_FOUND")


# --- PUT and DELETE /templates/{id}/


def test_put_new_text_re_extracts_the_variables(api, a):
    template = make_template(a.tenant, name="Kept", content="Hi {{name}}", variables=["name"])

    data = ok_data(api(a.owner).put(template_url(template.id), {"body_text": "Bye {{city}}"}))

    assert (data["name"], data["content"], data["variables"]) == ("Kept", "Bye {{city}}", ["city"])


def test_moving_a_template_to_whatsapp_makes_it_pending_again(api, a):
    template = make_template(a.tenant)

    data = ok_data(api(a.owner).put(template_url(template.id), {"channel": "whatsapp"}))

    assert data["approval_status"] == "pending"


def test_put_a_partial_body_leaves_the_rest(api, a):
    template = make_template(a.tenant, name="Old", content="Text", language="sw")

    data = ok_data(api(a.owner).put(template_url(template.id), {"is_active": False}))

    assert (data["name"], data["content"], data["language"]) == ("Old", "Text", "sw")
    assert data["is_active"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [({"content": ""}, "content"), ({"language": "xx"}, "language"), ({"name": ""}, "name")],
)
def test_put_bad_input_is_a_400(api, a, body, field):
    template = make_template(a.tenant)

    response = api(a.owner).put(template_url(template.id), body, format="json")

    assert_field_errors(response, field)


def test_delete_removes_the_template(api, a):
    template = make_template(a.tenant)
    client = api(a.owner)

    assert ok_data(client.delete(template_url(template.id))) is None
    assert_error(client.get(template_url(template.id)), 404, "NOT_FOUND")


# --- POST /templates/{id}/preview/


def test_preview_with_variables_lists_the_missing_ones(api, a):
    template = make_template(a.tenant, content="Hi {{name}}, your code is {{code}}{{ extra }}.")

    data = ok_data(preview(api(a.owner), template, {"variables": {"name": "Asha", "extra": ""}}))

    assert set(data) == PREVIEW_FIELDS
    assert data["text"] == "Hi Asha, your code is ."
    assert data["missing_variables"] == ["code", "extra"]
    assert (data["encoding"], data["characters"], data["segments"]) == ("GSM-7", 23, 1)


def test_preview_for_a_contact_fills_its_fields_and_attributes(api, a):
    contact = make_contact(
        a.tenant, name="Asha Juma", phone_e164="+255712000501", attributes={"city": "Arusha"}
    )
    template = make_template(
        a.tenant, content="{{first_name}}/{{last_name}}/{{city}}/{{phone}}/{{points}}"
    )
    body = {"contact_id": str(contact.id), "variables": {"points": "12", "city": "Dodoma"}}

    data = ok_data(preview(api(a.owner), template, body))

    assert data["text"] == "Asha/Juma/Dodoma/+255712000501/12"
    assert data["missing_variables"] == []


@pytest.mark.parametrize(
    ("content", "encoding", "characters", "segments"),
    [
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("Habari yako? Karibu dukani kwetu leo, bei nafuu!", "GSM-7", 48, 1),
        ("Bei: 5€ {ok}", "GSM-7", 15, 1),
        ("Asante 😀", "UCS-2", 9, 1),
        ("Asante 😀" + "a" * 62, "UCS-2", 71, 2),
        ("", "GSM-7", 0, 0),
    ],
    ids=["160-gsm", "161-gsm", "swahili", "extension", "emoji", "71-ucs2", "empty"],
)
def test_preview_counts_encoding_and_segments(api, a, content, encoding, characters, segments):
    template = make_template(a.tenant, content=content)

    data = ok_data(preview(api(a.owner), template))

    assert data["text"] == content
    assert (data["encoding"], data["characters"], data["segments"]) == (
        encoding,
        characters,
        segments,
    )


def test_preview_for_an_unknown_foreign_or_deleted_contact_is_a_404(api, a, b):
    template = make_template(a.tenant, content="Hi {{name}}")
    client = api(a.owner)
    foreign = make_contact(b.tenant)
    deleted = make_contact(a.tenant, deleted_at=timezone.now())

    for contact_id in (unknown_id(), foreign.id, deleted.id):
        response = preview(client, template, {"contact_id": str(contact_id)})
        assert_error(response, 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("body", "field"),
    [({"contact_id": "not-a-uuid"}, "contact_id"), ({"variables": ["a"]}, "variables")],
)
def test_preview_bad_input_is_a_400(api, a, body, field):
    template = make_template(a.tenant)

    assert_field_errors(preview(api(a.owner), template, body), field)
