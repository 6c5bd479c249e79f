"""/api/messaging/templates/: the channel and favourite filters, toggle-favorite/ and
variables/."""

from messaging.models import Channel, Template
from tests.envelope import assert_error, ok_data
from tests.messaging.helpers import TEMPLATES, in_tenant, make_template, template_url, unknown_id


def names(data) -> list[str]:
    return sorted(item["name"] for item in data["results"])


def test_the_list_filters_on_channel(api, a, b):
    make_template(a.tenant, name="Sms one")
    make_template(a.tenant, name="Wa one", channel=Channel.WHATSAPP)
    make_template(b.tenant, name="Theirs", channel=Channel.WHATSAPP)
    client = api(a.owner)

    assert names(ok_data(client.get(TEMPLATES, {"channel": "sms"}))) == ["Sms one"]
    assert names(ok_data(client.get(TEMPLATES, {"channel": "whatsapp"}))) == ["Wa one"]
    assert names(ok_data(client.get(TEMPLATES, {"channel": "all"}))) == ["Sms one", "Wa one"]
    body = assert_error(client.get(TEMPLATES, {"channel": "fax"}), 400, "VALIDATION_ERROR")
    assert "channel" in body["errors"]


def test_toggle_favorite_flips_and_the_list_filters_on_it(api, a):
    template = make_template(a.tenant, name="Promo")
    make_template(a.tenant, name="Other")
    client = api(a.agent)
    url = template_url(template.id, "toggle-favorite")

    first = ok_data(client.post(url))
    favourites = ok_data(client.get(TEMPLATES, {"favorites_only": "true"}))
    second = ok_data(client.post(url))

    assert (first["id"], first["is_favorite"]) == (str(template.id), True)
    assert names(favourites) == ["Promo"]
    assert second["is_favorite"] is False
    assert in_tenant(a.tenant, lambda: Template.objects.get(pk=template.pk).is_favorite) is False
    assert names(ok_data(client.get(TEMPLATES, {"is_favorite": "false"}))) == ["Other", "Promo"]


def test_toggle_favorite_sets_the_value_given(api, a):
    template = make_template(a.tenant)
    url = template_url(template.id, "toggle-favorite")
    client = api(a.owner)

    for _ in range(2):
        assert ok_data(client.post(url, {"is_favorite": True}, format="json"))["is_favorite"]
    assert ok_data(client.get(template_url(template.id)))["is_favorite"] is True


def test_variables_split_contact_fields_from_the_others(api, a):
    template = make_template(
        a.tenant,
        content="Hi {{first_name}}, {{ code }} for {{phone}}; {{code}} again {{shop.city}}",
    )

    data = ok_data(api(a.agent).get(template_url(template.id, "variables")))

    assert data == {
        "template_id": str(template.id),
        "variables": ["first_name", "code", "phone", "shop.city"],
        "contact_fields": ["first_name", "phone"],
        "attribute_fields": ["code", "shop.city"],
    }


def test_another_tenants_template_is_a_404_for_every_action(api, a, b):
    theirs = make_template(b.tenant)
    client = api(a.owner)

    for response in (
        client.post(template_url(theirs.id, "toggle-favorite")),
        client.get(template_url(theirs.id, "variables")),
        client.post(template_url(unknown_id(), "toggle-favorite")),
        client.get(template_url(unknown_id(), "variables")),
        client.get(f"{TEMPLATES}not-a-uuid/variables/"),
    ):
        assert_error(response, 404, "NOT_FOUND")
    assert in_tenant(b.tenant, lambda: Template.objects.get(pk=theirs.pk).is_favorite) is False
