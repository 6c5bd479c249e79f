"""Keywords and consent (messaging.keywords): whole-message matching with its property tests,
the tenant's settings at /api/messaging/keywords/, keywords applied to received messages
(opt-out, opt-in, help; one free reply in the conversation), and sends refused or skipped for
contacts who opted out."""

import unicodedata
import uuid

import pytest
from django.db import transaction
from django_tenants.utils import tenant_context
from hypothesis import assume, given
from hypothesis import strategies as st

from messaging.keywords import (
    DEFAULTS,
    KeywordAction,
    keyword_match,
    keyword_settings_get,
    keywords_apply,
)
from messaging.models import Contact, Conversation, KeywordSettings, Message, SendRequest
from messaging.services.messages import send_create, send_opted_out_details
from mifumo.errors import ApplicationError, ErrorCode
from sms.providers.sandbox import sandbox_outbox
from tests.concurrency import at_once
from tests.conftest import client_for, committed
from tests.envelope import assert_error, ok_data
from tests.messaging.helpers import make_contact, new_phone
from tests.sms.helpers import SEND, balance_of, fund

KEYWORDS = "/api/messaging/keywords/"
DEFAULT_SETTINGS = KeywordSettings(**DEFAULTS)
OPT_OUT, OPT_IN, HELP = KeywordAction.OPT_OUT, KeywordAction.OPT_IN, KeywordAction.HELP


def match(text: str, settings: KeywordSettings = DEFAULT_SETTINGS) -> KeywordAction | None:
    return keyword_match(text, settings=settings)


# --- Matching


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("STOP", OPT_OUT),
        ("stop", OPT_OUT),
        ("Stop!", OPT_OUT),
        (" stop. ", OPT_OUT),
        ("¡STOP!", OPT_OUT),
        ("«stop»", OPT_OUT),
        ("\u200bSTOP\n", OPT_OUT),  # a zero-width space some keyboards add
        ("ＳＴＯＰ", OPT_OUT),  # full-width letters
        ("unsubscribe", OPT_OUT),
        ("Acha.", OPT_OUT),
        ("start", OPT_IN),
        ("Anza!", OPT_IN),
        ("yes", OPT_IN),
        ("msaada?", HELP),
        ("HELP", HELP),
        ("stop sending me offers", None),
        ("S T O P", None),
        ("STOP 👍", None),
        ("STOPP", None),
        ("Habari", None),
        ("", None),
        ("!!!", None),
    ],
)
def test_a_whole_message_equal_to_a_keyword_matches(text, action):
    assert match(text) == action


def test_a_tenants_own_keywords_are_what_match():
    settings = KeywordSettings(
        **{**DEFAULTS, "opt_out_keywords": ["SIMAMA"], "opt_in_keywords": ["ENDELEA"]}
    )

    assert match("simama!", settings) == OPT_OUT
    assert match("Endelea", settings) == OPT_IN
    assert match("STOP", settings) is None


ALL_KEYWORDS = [
    (keyword, action)
    for action, field in [
        (OPT_OUT, "opt_out_keywords"),
        (OPT_IN, "opt_in_keywords"),
        (HELP, "help_keywords"),
    ]
    for keyword in DEFAULTS[field]
]
# What may surround a keyword: spaces of several kinds, ASCII and other Unicode punctuation.
EDGES = st.text(alphabet=" \t\n\u00a0\u3000.,!?;:'\"-()[]¡¿«»“”…。、！？", max_size=6)


@st.composite
def any_case(draw, word: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return "".join(c.lower() if flip else c.upper() for c, flip in zip(word, flips, strict=True))


@given(data=st.data(), entry=st.sampled_from(ALL_KEYWORDS), before=EDGES, after=EDGES)
def test_any_case_and_any_surrounding_spaces_and_punctuation_match(data, entry, before, after):
    keyword, action = entry

    assert match(before + data.draw(any_case(keyword)) + after) == action


@given(
    entry=st.sampled_from(ALL_KEYWORDS),
    word=st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=10),
    after=EDGES,
)
def test_a_keyword_followed_by_more_words_matches_nothing(entry, word, after):
    keyword, _ = entry

    assert match(f"{keyword} {word}{after}") is None
    assert match(f"{word} {keyword}{after}") is None


@given(text=st.text(max_size=40), before=EDGES, after=EDGES)
def test_surrounding_punctuation_never_changes_what_a_text_means(text, before, after):
    nfkc = lambda value: unicodedata.normalize("NFKC", value)  # noqa: E731
    assume(nfkc(before + text + after) == nfkc(before) + nfkc(text) + nfkc(after))

    assert match(before + text + after) == match(text)


@given(
    text=st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ !.", max_size=14)
)
def test_matching_ignores_case(text):
    assert match(text.upper()) == match(text.lower()) == match(text)


# --- Settings


def test_the_settings_start_with_the_defaults_made_on_first_read(api, a):
    with tenant_context(a.tenant):
        assert not KeywordSettings.objects.exists()

    data = ok_data(api(a.agent).get(KEYWORDS))

    assert data["opt_out_keywords"] == [
        "STOP",
        "STOPALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "ACHA",
    ]
    assert data["opt_in_keywords"] == ["START", "YES", "UNSTOP", "ANZA"]
    assert data["help_keywords"] == ["HELP", "INFO", "MSAADA"]
    assert "{{business}}" in data["opt_out_reply"] and "ANZA" in data["opt_out_reply"]
    ok_data(api(a.owner).get(KEYWORDS))
    with tenant_context(a.tenant):
        assert KeywordSettings.objects.count() == 1


def test_an_owner_changes_keywords_upper_cased_and_each_once(api, a):
    body = {
        "opt_out_keywords": [" simama ", "Stop", "STOP", "ＳＴＯＰ"],
        "help_reply": " Piga 0800 ",
    }

    data = ok_data(api(a.owner).put(KEYWORDS, body, format="json"))

    assert data["opt_out_keywords"] == ["SIMAMA", "STOP"]
    assert data["help_reply"] == "Piga 0800"
    assert data["opt_in_keywords"] == DEFAULTS["opt_in_keywords"]  # left as it was
    assert data["opt_out_reply"] == DEFAULTS["opt_out_reply"]
    assert ok_data(api(a.agent).get(KEYWORDS)) == data


def test_an_admin_may_change_keywords_and_an_agent_may_not(api, a):
    ok_data(api(a.admin).put(KEYWORDS, {"help_keywords": ["HELP"]}, format="json"))

    response = api(a.agent).put(KEYWORDS, {"help_keywords": ["SOS"]}, format="json")

    assert_error(response, 403, "PERMISSION_DENIED")
    assert ok_data(api(a.agent).get(KEYWORDS))["help_keywords"] == ["HELP"]


def test_a_keyword_in_two_lists_is_a_400_naming_the_clash(api, a):
    response = api(a.owner).put(KEYWORDS, {"opt_in_keywords": ["START", "acha"]}, format="json")

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert list(body["errors"]) == ["opt_in_keywords"]
    assert "ACHA is both an opt-out and an opt-in keyword" in body["errors"]["opt_in_keywords"][0]

    both = {"opt_out_keywords": ["STOP"], "help_keywords": ["HELP", "Stop"]}
    body = assert_error(api(a.owner).put(KEYWORDS, both, format="json"), 400, "VALIDATION_ERROR")
    assert list(body["errors"]) == ["help_keywords"]
    assert ok_data(api(a.owner).get(KEYWORDS))["opt_in_keywords"] == DEFAULTS["opt_in_keywords"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"opt_out_keywords": []}, "opt_out_keywords"),
        ({"opt_in_keywords": ["START", "  "]}, "opt_in_keywords"),
        ({"help_keywords": ["NEED HELP"]}, "help_keywords"),
        ({"help_keywords": ["X" * 33]}, "help_keywords"),
        ({"opt_out_keywords": ["STOP!"]}, "opt_out_keywords"),
        ({"opt_out_keywords": "STOP"}, "opt_out_keywords"),
        ({"opt_out_reply": "x" * 481}, "opt_out_reply"),
        ({"opt_in_reply": "   "}, "opt_in_reply"),
    ],
)
def test_bad_settings_are_a_400_naming_the_field(api, a, body, field):
    response = api(a.owner).put(KEYWORDS, body, format="json")

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert list(body["errors"]) == [field]


def test_a_32_character_keyword_and_a_480_character_reply_are_accepted(api, a):
    body = {"help_keywords": ["X" * 32], "help_reply": "y" * 480}

    data = ok_data(api(a.owner).put(KEYWORDS, body, format="json"))

    assert (data["help_keywords"], len(data["help_reply"])) == (["X" * 32], 480)


def test_another_tenants_keywords_are_its_own(api, a, b):
    ok_data(api(a.owner).put(KEYWORDS, {"opt_out_keywords": ["SIMAMA"]}, format="json"))

    assert ok_data(api(b.owner).get(KEYWORDS))["opt_out_keywords"] == DEFAULTS["opt_out_keywords"]
    ok_data(api(b.owner).put(KEYWORDS, {"help_keywords": ["SOS"]}, format="json"))
    data = ok_data(api(a.owner).get(KEYWORDS))
    assert (data["opt_out_keywords"], data["help_keywords"]) == (
        ["SIMAMA"],
        ["HELP", "INFO", "MSAADA"],
    )
    # B's owner naming tenant A gets nothing of it.
    response = api(b.owner, HTTP_X_TENANT_ID=str(a.tenant.id)).get(KEYWORDS)
    assert response.status_code == 403


@committed
def test_first_reads_at_once_make_one_row(committed_tenant):
    owner = committed_tenant.owner

    statuses = at_once(lambda _: client_for(owner).get(KEYWORDS).status_code, 8)

    assert statuses == [200] * 8
    with tenant_context(committed_tenant.tenant):
        assert KeywordSettings.objects.count() == 1


# --- Keywords applied to received messages


def conversation_for(tenant, contact, address: str = "+255800100200") -> Conversation:
    with tenant_context(tenant):
        return Conversation.objects.create(
            contact=contact, channel_id=uuid.uuid4(), provider="sandbox", address=address
        )


def receive(tenant, on_commit, *messages: tuple[Contact, Conversation | None, str]) -> None:
    """keywords_apply over these (contact, conversation, text), as the inbound batch calls it:
    in the tenant's schema, inside a transaction, the outbox's work run after commit."""
    received = [
        (uuid.uuid4(), contact.pk, conversation.pk if conversation else None, text)
        for contact, conversation, text in messages
    ]
    with on_commit(), tenant_context(tenant), transaction.atomic():
        keywords_apply(tenant=tenant, received=received)


def replies_to(tenant, contact) -> list[Message]:
    with tenant_context(tenant):
        return list(Message.objects.filter(contact=contact).order_by("created_at"))


def refreshed(tenant, contact) -> Contact:
    with tenant_context(tenant):
        return Contact.objects.get(pk=contact.pk)


def test_stop_opts_out_and_confirms_once_free_of_credits_in_the_conversation(a, on_commit):
    fund(a.tenant, 5)
    contact = make_contact(a.tenant, is_opted_in=True)
    conversation = conversation_for(a.tenant, contact)

    receive(a.tenant, on_commit, (contact, conversation, "Stop!"))

    contact = refreshed(a.tenant, contact)
    assert (contact.is_opted_in, contact.opt_out_reason) == (False, "keyword STOP")
    assert contact.opt_out_at is not None
    (reply,) = replies_to(a.tenant, contact)
    assert reply.text.startswith(f"You have been unsubscribed from {a.tenant.name}.")
    assert "Jibu ANZA" in reply.text
    assert (reply.credits, reply.conversation_id, reply.sender) == (
        0,
        conversation.pk,
        "+255800100200",
    )
    assert reply.status == Message.Status.DELIVERED
    assert sandbox_outbox(to=contact.phone_e164)[0]["text"] == reply.text
    with tenant_context(a.tenant):
        assert (SendRequest.objects.get().credits, SendRequest.objects.get().source) == (
            0,
            "keyword",
        )
        conversation.refresh_from_db()
    assert conversation.message_count == 1 and conversation.last_message_at is not None
    assert balance_of(a.tenant) == 5


def test_the_reason_names_the_keyword_used_and_a_free_reply_needs_no_credits(a, on_commit):
    contact = make_contact(a.tenant)  # and the balance is 0

    receive(a.tenant, on_commit, (contact, conversation_for(a.tenant, contact), " acha. "))

    assert refreshed(a.tenant, contact).opt_out_reason == "keyword ACHA"
    assert len(replies_to(a.tenant, contact)) == 1
    assert balance_of(a.tenant) == 0


def test_start_opts_back_in_and_confirms(a, on_commit):
    contact = make_contact(a.tenant, name="Asha Juma")
    conversation = conversation_for(a.tenant, contact)
    receive(a.tenant, on_commit, (contact, conversation, "STOP"))

    receive(a.tenant, on_commit, (contact, conversation, "start"))

    contact = refreshed(a.tenant, contact)
    assert (contact.is_opted_in, contact.opt_out_at, contact.opt_out_reason) == (True, None, "")
    assert contact.opt_in_at is not None
    _, start_reply = replies_to(a.tenant, contact)
    assert start_reply.text.startswith(f"You are subscribed to {a.tenant.name} again.")
    assert (start_reply.credits, start_reply.conversation_id) == (0, conversation.pk)


def test_help_answers_with_the_tenants_help_text(api, a, on_commit):
    body = {"help_reply": "{{business}}: call 0800 100 200, {{first_name}}."}
    ok_data(api(a.owner).put(KEYWORDS, body, format="json"))
    contact = make_contact(a.tenant, name="Asha Juma", is_opted_in=True)

    receive(a.tenant, on_commit, (contact, conversation_for(a.tenant, contact), "Msaada?"))

    (reply,) = replies_to(a.tenant, contact)
    assert reply.text == f"{a.tenant.name}: call 0800 100 200, Asha."
    assert reply.credits == 0
    assert refreshed(a.tenant, contact).is_opted_in is True


def test_an_opted_out_contact_hears_nothing_until_an_opt_in_keyword(a, on_commit):
    contact = make_contact(a.tenant)
    conversation = conversation_for(a.tenant, contact)
    receive(a.tenant, on_commit, (contact, conversation, "STOP"))
    opted_out_at = refreshed(a.tenant, contact).opt_out_at

    receive(
        a.tenant,
        on_commit,
        (contact, conversation, "help"),
        (contact, conversation, "Habari"),
        (contact, conversation, "QUIT"),
    )

    contact = refreshed(a.tenant, contact)
    assert (contact.opt_out_at, contact.opt_out_reason) == (opted_out_at, "keyword STOP")
    assert len(replies_to(a.tenant, contact)) == 1  # the first confirmation only


def test_each_contact_gets_one_reply_to_its_last_keyword(a, on_commit):
    first, second, quiet = (make_contact(a.tenant, is_opted_in=True) for _ in range(3))
    conversations = {c.pk: conversation_for(a.tenant, c) for c in (first, second, quiet)}

    receive(
        a.tenant,
        on_commit,
        (first, conversations[first.pk], "HELP"),
        (second, conversations[second.pk], "STOP"),
        (first, conversations[first.pk], "stop"),
        (second, conversations[second.pk], "anza"),
        (quiet, conversations[quiet.pk], "Habari yako"),
    )

    (to_first,) = replies_to(a.tenant, first)
    (to_second,) = replies_to(a.tenant, second)
    assert to_first.text.startswith("You have been unsubscribed")
    assert to_second.text.startswith("You are subscribed")
    assert replies_to(a.tenant, quiet) == []
    assert refreshed(a.tenant, first).is_opted_in is False
    assert refreshed(a.tenant, second).is_opted_in is True
    with tenant_context(a.tenant):
        assert SendRequest.objects.count() == 2  # one free send per reply and address


@committed
def test_two_batches_with_the_same_stop_at_once_confirm_it_once(committed_tenant):
    tenant = committed_tenant.tenant
    contact = make_contact(tenant, is_opted_in=True)
    conversation = conversation_for(tenant, contact)
    with tenant_context(tenant):
        keyword_settings_get()  # made already: its first insert would make the batches wait

    def apply(_: int) -> None:
        with tenant_context(tenant), transaction.atomic():
            received = [(uuid.uuid4(), contact.pk, conversation.pk, "STOP")]
            keywords_apply(tenant=tenant, received=received)

    at_once(apply, 4)

    assert refreshed(tenant, contact).is_opted_in is False
    assert len(replies_to(tenant, contact)) == 1


def test_a_batch_without_keywords_costs_one_query(a, django_assert_num_queries):
    contact = make_contact(a.tenant)
    with tenant_context(a.tenant):
        keyword_settings_get()
        received = [(uuid.uuid4(), contact.pk, None, f"Habari {n}") for n in range(50)]

        with django_assert_num_queries(1):
            keywords_apply(tenant=a.tenant, received=received)


def test_a_reply_without_a_conversation_comes_from_the_platform_sender(a, on_commit, settings):
    contact = make_contact(a.tenant)

    receive(a.tenant, on_commit, (contact, None, "STOP"))

    (reply,) = replies_to(a.tenant, contact)
    assert (reply.sender, reply.conversation_id) == (settings.PLATFORM_SMS_SENDER, None)


# --- Sends to contacts who opted out


def send(api, user, on_commit, **body):
    with on_commit():
        return api(user).post(SEND, body, format="json")


def opted_out_contact(tenant) -> Contact:
    with tenant_context(tenant):
        contact = make_contact(tenant)
        Contact.objects.filter(pk=contact.pk).update(
            is_opted_in=False, opt_out_at="2026-01-01T00:00:00Z", opt_out_reason="keyword STOP"
        )
    return contact


def test_a_send_to_one_opted_out_contact_is_a_400_and_costs_nothing(api, a, on_commit):
    fund(a.tenant, 5)
    contact = opted_out_contact(a.tenant)

    response = send(api, a.owner, on_commit, message="Ofa!", recipient=contact.phone_e164)

    body = assert_error(response, 400, "CONTACT_OPTED_OUT")
    assert body["details"]["opted_out_recipients"] == [contact.phone_e164]
    assert balance_of(a.tenant) == 5
    with tenant_context(a.tenant):
        assert not Message.objects.exists()


def test_a_contact_who_never_opted_in_nor_out_is_sent_to(api, a, on_commit):
    fund(a.tenant, 5)
    contact = make_contact(a.tenant)  # is_opted_in False, no opt-out

    ok_data(send(api, a.owner, on_commit, message="Karibu", recipient=contact.phone_e164), 201)


def test_a_send_to_several_skips_the_opted_out_and_names_them(api, a, on_commit):
    fund(a.tenant, 10)
    out = opted_out_contact(a.tenant)
    numbers = [new_phone(), out.phone_e164, new_phone()]

    response = send(api, a.owner, on_commit, message="Ofa!", recipients=numbers)
    data = ok_data(response, 201)

    assert (data["total_recipients"], data["credits_used"]) == (2, 2)
    assert response.json()["details"] == {
        "opted_out_count": 1,
        "opted_out_recipients": [out.phone_e164],
    }
    assert balance_of(a.tenant) == 8
    with tenant_context(a.tenant):
        assert set(Message.objects.values_list("recipient", flat=True)) == {numbers[0], numbers[2]}
    assert sandbox_outbox(to=out.phone_e164) == []


def test_a_send_that_skips_no_one_reads_nothing_more(a, on_commit, django_assert_num_queries):
    fund(a.tenant, 10)
    numbers = [new_phone(), new_phone()]
    with tenant_context(a.tenant):
        sent = send_create(
            tenant=a.tenant,
            recipients=[(None, number, None) for number in numbers],
            sender="Taarifa-SMS",
            text="Hi",
            template=None,
        )
        with django_assert_num_queries(0):
            assert send_opted_out_details(send=sent) is None


def test_a_send_to_a_contact_object_who_opted_out_is_refused_too(a):
    fund(a.tenant, 5)
    contact = opted_out_contact(a.tenant)

    with tenant_context(a.tenant), pytest.raises(ApplicationError) as refused:
        send_create(
            tenant=a.tenant,
            recipients=[(contact.pk, contact.phone_e164, None)],
            sender="Taarifa-SMS",
            text="Hi",
            template=None,
        )

    assert refused.value.code == ErrorCode.CONTACT_OPTED_OUT
    assert balance_of(a.tenant) == 5


def test_an_opt_out_outlives_the_contacts_deletion(api, a, on_commit):
    fund(a.tenant, 5)
    contact = opted_out_contact(a.tenant)
    with tenant_context(a.tenant):
        Contact.objects.filter(pk=contact.pk).update(deleted_at="2026-02-01T00:00:00Z")

    response = send(api, a.owner, on_commit, message="Ofa!", recipient=contact.phone_e164)

    assert_error(response, 400, "CONTACT_OPTED_OUT")


def test_a_send_to_only_opted_out_contacts_is_a_400_listing_them(api, a, on_commit):
    fund(a.tenant, 10)
    numbers = [opted_out_contact(a.tenant).phone_e164 for _ in range(2)]

    body = assert_error(
        send(api, a.owner, on_commit, message="Ofa!", recipients=numbers), 400, "CONTACT_OPTED_OUT"
    )

    assert body["details"] == {"opted_out_count": 2, "opted_out_recipients": numbers}


def test_stop_then_a_send_is_refused_and_start_lets_it_through(api, a, on_commit):
    fund(a.tenant, 10)
    contact = make_contact(a.tenant)
    conversation = conversation_for(a.tenant, contact)
    receive(a.tenant, on_commit, (contact, conversation, "STOP"))

    refused = send(api, a.owner, on_commit, message="Ofa!", recipient=contact.phone_e164)
    assert_error(refused, 400, "CONTACT_OPTED_OUT")

    receive(a.tenant, on_commit, (contact, conversation, "Start"))
    ok_data(send(api, a.owner, on_commit, message="Ofa!", recipient=contact.phone_e164), 201)
    assert balance_of(a.tenant) == 9


def test_another_tenants_opt_out_does_not_refuse_this_tenants_send(api, a, b, on_commit):
    fund(a.tenant, 5)
    foreign = opted_out_contact(b.tenant)

    ok_data(send(api, a.owner, on_commit, message="Hi", recipient=foreign.phone_e164), 201)
