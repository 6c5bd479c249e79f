"""Conversation list and search benchmark (issue 15): the inbox an agent reads through the
public API, with BENCH_CONVERSATIONS conversations (default 100,000, one per contact) holding
BENCH_MESSAGES messages (default 1,000,000).

The tenant is made afresh with an owner and BENCH_AGENTS agents (each logs in with a password)
and the platform's Beem and Twilio numbers. Its rows are made in Python, copied into staging
tables and written into the tenant's schema by one INSERT ... SELECT per table (the message
table's indexes and the foreign keys of conversations and messages dropped meanwhile and made
again after), then vacuumed and analysed; the seeding time is printed step by step:

- contacts with distinct names (a first name, a father's name and a family name) and phones;
- one conversation each on the Beem or the Twilio number: three quarters resolved, the rest
  open, pending or snoozed; most unresolved and some resolved ones assigned to a member;
  unread messages on some open ones; last activity over the past year (unresolved: recent);
- their messages, in and out, in the table in the order they arrived. Each text is 3 to 18
  words drawn by Zipf's law from VOCABULARY words (Swahili and English SMS words, then words
  made of Swahili syllables), some with an order number: a common word is in a fifth to a half
  of the messages, a word of the vocabulary's tail in a few dozen. The counters of a
  conversation (messages, unread, last message, last inbound, first reply) are its messages'.
  Outbound rows have no SendRequest: no route measured reads one.

An agent logs in (POST /api/auth/login/) and reads the inbox over HTTP from one keep-alive
client, against gunicorn with 4 sync workers as `make run` has (DEBUG=false): BENCH_REQUESTS
requests a figure (or as many as FIGURE_SECONDS allow, at least FEWEST_REQUESTS), each with
its own term or id where that matters (common words from a set, distinct rare words, absent
words, names, phone digits, contacts, conversations). The same requests then run in-process
(Django's test client: the whole Django stack without gunicorn and the socket), which says
what the web tier adds. With wrk installed, a last figure mixes all of them from 8 connections
at once.

The floor, measured first in the same run: GET /api/auth/profile/, the stack's authenticated
answer that reads no conversation. Target: p95 under 100 ms for each figure (issue 15).

Runs against a separate database (BENCH_DATABASE_URL, default mifumo_bench). Usage: `make
bench` (or .venv/bin/python bench/conversations.py); BENCH_CONVERSATIONS, BENCH_MESSAGES,
BENCH_REQUESTS, BENCH_AGENTS, BENCH_WEB_WORKERS and BENCH_PORT reshape a run.
"""

import argparse
import hashlib
import io
import os
import random
import shutil
import statistics
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from environment import bench_environment  # noqa: E402
from names import FAMILY_NAMES, FIRST_NAMES, contact_name  # noqa: E402

PORT = int(os.environ.get("BENCH_PORT", "8770"))
BASE = f"http://127.0.0.1:{PORT}"
os.environ.update(
    bench_environment(),
)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402
from load import wrk_lines  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402
from webserver import gunicorn_start  # noqa: E402

from accounts.models import User  # noqa: E402
from messaging.models import Channel, Conversation, Message  # noqa: E402
from sms import channels  # noqa: E402
from sms.models import ChannelProvider  # noqa: E402
from sms.segments import GSM7  # noqa: E402
from tenants.models import Membership, Role, Tenant  # noqa: E402
from tenants.services import tenant_create  # noqa: E402

CONVERSATIONS = int(os.environ.get("BENCH_CONVERSATIONS", "100000"))
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "1000000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "50"))
AGENTS = int(os.environ.get("BENCH_AGENTS", "4"))
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "4"))
CONCURRENCY = 8
WRK_DURATION = "10s"
WRK = ["wrk", "-t1", f"-c{CONCURRENCY}", f"-d{WRK_DURATION}", "--timeout", "10s"]
FIGURE_SECONDS = 15
FEWEST_REQUESTS = 10
SUBDOMAIN = "bench-conversations"
PASSWORD = "Bench-Password-2026"
TARGET_MS = 100
CONVERSATIONS_URL = "/api/messaging/conversations/"
MESSAGES_URL = "/api/messaging/messages/"
PROFILE_URL = "/api/auth/profile/"
# Our numbers: the platform's Beem number the tenant holds, and its Twilio one.
ADDRESSES = {ChannelProvider.BEEM: "+255768000150", ChannelProvider.TWILIO: "+15005550150"}
PROVIDER_SHARES = {ChannelProvider.BEEM: 0.75, ChannelProvider.TWILIO: 0.25}
Status = Conversation.Status
STATUS_SHARES = {
    Status.RESOLVED: 0.75,
    Status.OPEN: 0.12,
    Status.PENDING: 0.08,
    Status.SNOOZED: 0.05,
}
DAY = 86_400
LONGEST_TEXT = 160  # one GSM-7 segment each

# The words of the texts, most frequent first (Zipf's law ranks them in this order); the
# vocabulary goes on with words built from Swahili syllables.
COMMON_WORDS = """
na ya kwa habari ni asante order tafadhali wa naomba sana bei the please leo kesho sawa ndiyo
you thank mzigo kiasi gani bado nataka lini payment sasa karibu msaada hapana delivery
nimepokea nimetuma namba simu huduma ofa wiki mwezi saa asubuhi jioni mchana tayari imefika
haijafika pesa malipo shilingi received sent tomorrow today when where much price account
""".split()  # noqa: SIM905
MORE_WORDS = """
mchele sukari unga mafuta maharage sabuni chai kahawa maziwa mkate nyama samaki kuku mayai
viazi ndizi nyanya vitunguu chumvi dawa kitabu chaja betri viatu nguo shati gauni kofia mkoba
mbolea mbegu saruji bati mabati rangi godoro kitanda meza kiti friji televisheni redio pikipiki
baiskeli gari tairi petroli dizeli tiketi basi safari chumba hoteli shule ada mtihani
Dar Arusha Mwanza Dodoma Mbeya Moshi Tanga Zanzibar Morogoro Iringa Kigoma Tabora Mtwara Lindi
Musoma Bukoba Singida Shinyanga Songea Sumbawanga Kariakoo Mbezi Kinondoni Temeke Ilala Ubungo
invoice balance refund cancel confirm available stock discount offer shop store branch agent
customer service problem issue hello good morning evening call back number code pin M-Pesa
Tigo Airtel Halopesa Mixx receipt transfer deposit withdraw loan interest installment week
month year monday tuesday wednesday thursday friday saturday sunday january february march
jumatatu jumanne jumatano alhamisi ijumaa jumamosi jumapili januari februari machi aprili
mei juni julai agosti septemba oktoba novemba desemba kwanza pili tatu nne tano sita saba nane
tisa kumi ishirini thelathini arobaini hamsini mia elfu laki milioni nusu robo kilo lita
mfuko boksi katoni pakiti chupa kopo gunia dazani jozi kipande mita futi inchi ukubwa
nyekundu nyeusi nyeupe bluu kijani njano kahawia ndogo kubwa mpya zamani nzuri mbaya haraka
polepole mapema kuchelewa kufika kutuma kupokea kulipa kununua kuuza kubadilisha kurudisha
""".split()  # noqa: SIM905
VOCABULARY = 4000
ZIPF_EXPONENT = 1.5
DRAW_BITS = 20
DRAW_SLOTS = 2**DRAW_BITS
ORDER_NUMBER_SHARE = 0.12
CONSONANTS = "b ch d f g h j k l m n ny p r s sh t v w y z mb nd ng nj".split()  # noqa: SIM905
VOWELS = "aeiou"
PREFIXES = ["", "", "ku", "wa", "ki", "m", "vi", "u", "ma"]


def contact_phone(n: int) -> str:
    """Distinct for every n below 10^8 (7919 is prime to 10^8), and not in order."""
    return f"+2557{(n * 7919 + 1234567) % 10**8:08d}"


def made_up_words(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """`count` Swahili-sounding words (a prefix, then two to four syllables), none in `taken`."""
    words: list[str] = []
    while len(words) < count:
        syllables = (rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(rng.randint(2, 4)))
        word = rng.choice(PREFIXES) + "".join(syllables)
        if len(word) >= 5 and word not in taken:
            taken.add(word)
            words.append(word)
    return words


class Vocabulary:
    """The words of the texts in Zipf rank order, and search terms known to be common, rare
    or absent (a made-up word that is no word of the vocabulary and inside none of them).

    Words are drawn from a table of 2^20 slots, each word holding slots in proportion to its
    probability (at least one), so a draw is one random index."""

    def __init__(self, rng: random.Random) -> None:
        known = list(dict.fromkeys(COMMON_WORDS + MORE_WORDS))
        taken = {word.lower() for word in known} | {
            name.lower() for name in FIRST_NAMES + FAMILY_NAMES
        }
        self.words = known + made_up_words(rng, VOCABULARY - len(known), taken)
        weights = [1 / (rank + 2) ** ZIPF_EXPONENT for rank in range(1, len(self.words) + 1)]
        total = sum(weights)
        slots = [max(1, round(weight / total * DRAW_SLOTS)) for weight in weights]
        slots[0] -= sum(slots) - DRAW_SLOTS
        self.draws = [word for word, k in zip(self.words, slots, strict=True) for _ in range(k)]
        self.common = [word for word in COMMON_WORDS[:12] if len(word) >= 5]
        lowered = [word.lower() for word in self.words]
        self.absent = [
            word
            for word in made_up_words(rng, 4 * REQUESTS, taken)
            if not any(word in other for other in lowered)
        ][:REQUESTS]

    def texts(self, rng: random.Random, count: int) -> list[str]:
        """`count` texts of 3 to 18 words, some with an order number; the words are drawn in
        one go and kept in `drawn` for counting."""
        lengths = [rng.randint(3, 18) for _ in range(count)]
        self.drawn = rng.choices(self.draws, k=sum(lengths))
        texts, end = [], 0
        for length in lengths:
            words = self.drawn[end : end + length]
            end += length
            if rng.random() < ORDER_NUMBER_SHARE:
                words.insert(rng.randint(0, length), f"order {rng.randint(100000, 999999)}")
            text = " ".join(words)
            if len(text) >= LONGEST_TEXT:
                text = text[: LONGEST_TEXT - 1].rsplit(" ", 1)[0]
            texts.append(text[0].upper() + text[1:] + rng.choice(".?!"))
        return texts


def fresh_tenant() -> tuple[Tenant, list[User]]:
    """The tenant, with its owner first among its members, then the agents, each able to log
    in with PASSWORD."""
    old = Tenant.objects.filter(subdomain=SUBDOMAIN).first()
    if old is not None:
        old.delete(force_drop=True)
    members = []
    for k in range(AGENTS + 1):
        user, _ = User.objects.get_or_create(
            email=f"bench-conversations-{k}@mifumo.local",
            defaults={"first_name": "Agent" if k else "Owner", "last_name": f"{k}"},
        )
        user.is_active, user.active_tenant = True, None
        user.set_password(PASSWORD)
        user.save()
        members.append(user)
    tenant = tenant_create(owner=members[0], name="Bench Conversations", subdomain=SUBDOMAIN)
    for agent in members[1:]:
        Membership.objects.create(user=agent, tenant=tenant, role=Role.AGENT)
        agent.active_tenant = tenant
        agent.save(update_fields=["active_tenant"])
    for provider, address in ADDRESSES.items():
        channels.channel_address_assign(tenant=tenant, provider=provider, address=address)
    return tenant, members


def _pick(rng: random.Random, shares: dict):
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def _copy_row(*values) -> str:
    return "\t".join(r"\N" if value is None else str(value) for value in values) + "\n"


class Inbox:
    """The rows of the inbox, as COPY input of the staging tables (one line a conversation,
    one a message), and the vocabulary whose drawn words the rare searches are chosen by."""

    def __init__(self, tenant: Tenant, members: list[User], rng: random.Random) -> None:
        self.vocabulary = Vocabulary(rng)
        texts = iter(self.vocabulary.texts(rng, MESSAGES))
        channel_ids = {
            channel.provider: channel.pk
            for channel in tenant.channels.filter(provider__in=list(ADDRESSES))
        }
        now = time.time()
        lengths = [1] * CONVERSATIONS
        busy = [rng.lognormvariate(0, 0.8) for _ in range(CONVERSATIONS)]
        for n in rng.choices(range(CONVERSATIONS), weights=busy, k=MESSAGES - CONVERSATIONS):
            lengths[n] += 1
        conversations, messages = [], []
        for n, length in enumerate(lengths):
            status = _pick(rng, STATUS_SHARES)
            provider = _pick(rng, PROVIDER_SHARES)
            resolved = status == Status.RESOLVED
            age = rng.uniform(0, 365 * DAY) if resolved else rng.expovariate(1 / (3 * DAY))
            last = now - age
            started = last - min(rng.expovariate(1 / DAY), 30 * DAY) if length > 1 else last
            times = [started, *sorted(rng.uniform(started, last) for _ in range(length - 2))]
            times = [*times[: length - 1], last]
            inbound = [rng.random() < 0.5 for _ in times]
            inbound[0] = rng.random() < 0.8  # most conversations start with the customer
            unread = 0
            if status == Status.OPEN and rng.random() < 0.6:
                inbound[-1] = True
                while unread < length and inbound[-1 - unread]:
                    unread += 1
            inbound_times = [at for at, came_in in zip(times, inbound, strict=True) if came_in]
            replies = [
                at
                for at, came_in in zip(times, inbound, strict=True)
                if not came_in and inbound_times and at > inbound_times[0]
            ]
            assigned = rng.random() < (0.4 if resolved else 0.85)
            conversations.append(
                _copy_row(
                    n,
                    contact_name(n),
                    contact_phone(n),
                    status,
                    members[rng.randrange(len(members))].pk if assigned else None,
                    provider,
                    channel_ids[provider],
                    ADDRESSES[provider],
                    unread,
                    length,
                    started,
                    last,
                    inbound_times[-1] if inbound_times else None,
                    replies[0] if replies else None,
                    last + rng.uniform(60, 3600) if resolved else None,
                    now + rng.uniform(3600, 3 * DAY) if status == Status.SNOOZED else None,
                )
            )
            for seq, at in enumerate(times):
                messages.append(f"{n}\t{seq}\t{inbound[seq]}\t{at}\t{next(texts)}\n")
        self.conversations = "".join(conversations)
        self.messages = "".join(messages)

    def rare_words(self, count: int) -> list[str]:
        """Words of the vocabulary's tail drawn 10 to 100 times (so in at most 100 messages)."""
        counts = Counter(self.vocabulary.drawn)
        return [w for w in reversed(self.vocabulary.words) if 10 <= counts[w] <= 100][:count]


STAGING_SQL = """
    CREATE TEMPORARY TABLE bench_conversation (n int, name text, phone text, status text,
        assignee_id bigint, provider text, channel_id uuid, address text, unread int,
        messages int, started float8, last_at float8, last_inbound_at float8,
        first_reply_at float8, closed_at float8, snoozed_until float8) ON COMMIT DROP;
    CREATE TEMPORARY TABLE bench_message (n int, seq int, inbound bool, at float8, text text)
        ON COMMIT DROP;
"""
CONTACTS_SQL = """
    INSERT INTO messaging_contact (id, name, phone_e164, email, attributes, tags, is_active,
        is_opted_in, opt_out_reason, last_contacted_at, created_at, updated_at)
    SELECT md5('contact' || n)::uuid, name, phone, '', '{}'::jsonb, '{}'::varchar(64)[], true,
        false, '', to_timestamp(last_at), to_timestamp(started), to_timestamp(last_at)
    FROM bench_conversation ORDER BY started
"""
CONVERSATIONS_SQL = """
    INSERT INTO messaging_conversation (id, contact_id, channel_id, provider, address, status,
        snoozed_until, assignee_id, subject, message_count, unread_count, last_message_at,
        last_inbound_at, first_reply_at, closed_at, created_at, updated_at)
    SELECT md5('conversation' || n)::uuid, md5('contact' || n)::uuid, channel_id, provider,
        address, status, to_timestamp(snoozed_until), assignee_id, '', messages, unread,
        to_timestamp(last_at), to_timestamp(last_inbound_at), to_timestamp(first_reply_at),
        to_timestamp(closed_at), to_timestamp(started),
        to_timestamp(greatest(last_at, closed_at))
    FROM bench_conversation ORDER BY started
"""
# In the order they arrived; outbound ones sent a second and delivered five after they were made.
MESSAGES_SQL = """
    INSERT INTO messaging_message (id, contact_id, conversation_id, direction, channel, status,
        recipient, sender, text, encoding, segments, credits, provider, provider_message_id,
        error_code, error_message, attempts, sent_at, delivered_at, received_at, created_at,
        updated_at)
    SELECT gen_random_uuid(), md5('contact' || m.n)::uuid, md5('conversation' || m.n)::uuid,
        CASE WHEN m.inbound THEN %(inbound)s ELSE %(outbound)s END, %(sms)s,
        CASE WHEN m.inbound THEN %(received)s ELSE %(delivered)s END,
        CASE WHEN m.inbound THEN c.address ELSE c.phone END,
        CASE WHEN m.inbound THEN c.phone ELSE c.address END,
        m.text, %(encoding)s, 1, CASE WHEN m.inbound THEN 0 ELSE 1 END, c.provider,
        md5(m.n || '-' || m.seq), '', '', CASE WHEN m.inbound THEN 0 ELSE 1 END,
        CASE WHEN m.inbound THEN NULL ELSE to_timestamp(m.at + 1) END,
        CASE WHEN m.inbound THEN NULL ELSE to_timestamp(m.at + 5) END,
        CASE WHEN m.inbound THEN to_timestamp(m.at) END,
        to_timestamp(m.at), to_timestamp(CASE WHEN m.inbound THEN m.at ELSE m.at + 5 END)
    FROM bench_message AS m JOIN bench_conversation AS c USING (n)
    ORDER BY m.at
"""

FOREIGN_KEYS_SQL = """
    SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
    WHERE conrelid = ANY(%s::regclass[]) AND contype = 'f'
"""


def seed(tenant: Tenant, inbox: Inbox) -> dict[str, float]:
    """The inbox written into the tenant's schema; seconds per step.

    The message table's indexes (the model's) and the foreign keys of conversations and
    messages are dropped for the INSERTs and made again after them: CREATE INDEX builds the
    trigram index in 24 s where keeping it up row by row took 110 s, and a foreign key added
    back checks every row in one join where the deferred checks of the messages took 23 s."""
    timings = {}
    parameters = {
        "inbound": Message.Direction.INBOUND,
        "outbound": Message.Direction.OUTBOUND,
        "received": Message.Status.RECEIVED,
        "delivered": Message.Status.DELIVERED,
        "sms": Channel.SMS,
        "encoding": GSM7,
    }
    with tenant_context(tenant), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute(STAGING_SQL)
        started = time.perf_counter()
        for table, rows in (
            ("bench_conversation", inbox.conversations),
            ("bench_message", inbox.messages),
        ):
            cursor.copy_expert(f"COPY {table} FROM STDIN", io.StringIO(rows))
        timings["COPY into staging"] = time.perf_counter() - started
        cursor.execute(FOREIGN_KEYS_SQL, [[Conversation._meta.db_table, Message._meta.db_table]])
        foreign_keys = cursor.fetchall()
        for table, name, _ in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        with connection.schema_editor() as editor:
            for index in Message._meta.indexes:
                editor.remove_index(Message, index)
        for name, sql in (
            ("contacts", CONTACTS_SQL),
            ("conversations", CONVERSATIONS_SQL),
            ("messages", MESSAGES_SQL),
        ):
            started = time.perf_counter()
            cursor.execute(sql, parameters)
            timings[f"INSERT ... SELECT {name}"] = time.perf_counter() - started
        started = time.perf_counter()
        for table, name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
        timings["foreign keys added back"] = time.perf_counter() - started
        started = time.perf_counter()
        with connection.schema_editor() as editor:
            for index in Message._meta.indexes:
                editor.add_index(Message, index)
        timings["CREATE INDEX (messages)"] = time.perf_counter() - started
    with tenant_context(tenant), connection.cursor() as cursor:
        started = time.perf_counter()
        for table in ("messaging_contact", "messaging_conversation", "messaging_message"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        timings["VACUUM (ANALYZE)"] = time.perf_counter() - started
    return timings


def _uuid_of(kind: str, n: int) -> str:
    """The id the seed gave row n: md5(kind || n)::uuid."""
    return str(uuid.UUID(hashlib.md5(f"{kind}{n}".encode()).hexdigest()))  # noqa: S324


def cases(inbox: Inbox, rng: random.Random) -> list[tuple[str, list[str]]]:
    """(what, REQUESTS paths with their query) per figure; searches and ids vary."""

    def some(make) -> list[str]:
        return [make(k) for k in range(REQUESTS)]

    def listed(make) -> list[str]:
        return some(lambda k: f"{CONVERSATIONS_URL}?{urlencode(make(k))}")

    def anyone() -> int:
        return rng.randrange(CONVERSATIONS)

    common, absent = inbox.vocabulary.common, inbox.vocabulary.absent
    rare = inbox.rare_words(REQUESTS)
    providers = list(ADDRESSES)

    def phone_digits(_: int) -> dict:
        national = contact_phone(anyone())[4:]
        offset = rng.randint(0, len(national) - 6)
        return {"search": national[offset : offset + 6]}

    return [
        ("list, first page", listed(lambda k: {})),
        ("list, page 50", listed(lambda k: {"page": 50})),
        ("status=open", listed(lambda k: {"status": Status.OPEN})),
        ("assignee=me", listed(lambda k: {"assignee": "me"})),
        ("assignee=unassigned", listed(lambda k: {"assignee": "unassigned"})),
        ("unread=true", listed(lambda k: {"unread": "true"})),
        ("channel=<provider>", listed(lambda k: {"channel": providers[k % len(providers)]})),
        ("search, common word", listed(lambda k: {"search": common[k % len(common)]})),
        ("search, rare word", listed(lambda k: {"search": rare[k % len(rare)]})),
        ("search, no match", listed(lambda k: {"search": absent[k % len(absent)]})),
        ("search, 6 digits of a phone", listed(phone_digits)),
        ("search, a contact's name", listed(lambda k: {"search": contact_name(anyone())})),
        ("contact_id=<id>", listed(lambda k: {"contact_id": _uuid_of("contact", anyone())})),
        (
            "GET conversations/{id}/",
            some(lambda k: f"{CONVERSATIONS_URL}{_uuid_of('conversation', anyone())}/"),
        ),
        (
            "messages/?conversation_id=",
            some(lambda k: f"{MESSAGES_URL}?conversation_id={_uuid_of('conversation', anyone())}"),
        ),
    ]


def login(email: str) -> str:
    body = {"email": email, "password": PASSWORD}
    response = requests.post(f"{BASE}/api/auth/login/", json=body, timeout=10)
    response.raise_for_status()
    return response.json()["tokens"]["access"]


def timed(get, paths: list[str]) -> dict[str, float]:
    """The paths in order, until they are all done or FIGURE_SECONDS have passed (at least
    FEWEST_REQUESTS): how many were sent, their latency (ms) and the median of their matches."""
    timings: list[float] = []
    matches: list[int] = []
    began = time.perf_counter()
    for path in paths:
        if len(timings) >= FEWEST_REQUESTS and time.perf_counter() - began > FIGURE_SECONDS:
            break
        started = time.perf_counter()
        status, body = get(path)
        timings.append((time.perf_counter() - started) * 1000)
        if status != 200:
            sys.exit(f"GET {path}: {status} {body}")
        matches.append(body["data"].get("count", 1))
    timings.sort()
    return {
        "requests": len(timings),
        "matches": statistics.median(matches),
        "p50": statistics.median(timings),
        "p95": timings[max(0, round(len(timings) * 0.95) - 1)],
        "max": timings[-1],
    }


def over_http(token: str, measured: list[tuple[str, list[str]]]) -> tuple[dict, list[dict]]:
    """The floor's figures, then each measured figure's."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"

    def get(path: str) -> tuple[int, dict]:
        response = session.get(f"{BASE}{path}", timeout=60)
        return response.status_code, response.json()

    for _ in range(2 * WEB_WORKERS):  # every worker past its first request
        get(CONVERSATIONS_URL)
    floor = timed(get, [PROFILE_URL] * REQUESTS)
    return floor, [timed(get, paths) for _, paths in measured]


def in_process(agent: User, measured: list[tuple[str, list[str]]]) -> list[dict]:
    client = APIClient(SERVER_NAME="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(agent)}")

    def get(path: str) -> tuple[int, dict]:
        response = client.get(path)
        return response.status_code, response.json()

    get(CONVERSATIONS_URL)
    return [timed(get, paths) for _, paths in measured]


def concurrent(token: str, measured: list[tuple[str, list[str]]]) -> dict[str, float]:
    """The measured requests, interleaved, from CONCURRENCY connections for WRK_DURATION."""
    mixed = [
        path for group in zip(*(paths for _, paths in measured), strict=True) for path in group
    ]
    script = ["-s", str(ROOT / "bench/wrk/get_paths.lua")]
    return wrk_lines([*WRK, *script], BASE, mixed, AUTH=f"Bearer {token}")


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    call_command("ensure_services")
    call_command("migrate_all", verbosity=0)
    rng = random.Random(15)
    began = time.perf_counter()
    tenant, members = fresh_tenant()
    inbox = Inbox(tenant, members, rng)
    generated = time.perf_counter() - began
    steps = seed(tenant, inbox)
    seeded = time.perf_counter() - began
    print(
        f"seeded {CONVERSATIONS:,} conversations, {MESSAGES:,} messages in {seeded:.1f} s "
        f"(tenant and rows made in Python {generated:.1f} s; "
        + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in steps.items())
        + ")",
        flush=True,
    )
    agent = members[1]
    measured = cases(inbox, rng)
    connection.close()
    web = gunicorn_start(port=PORT, env=dict(os.environ), workers=WEB_WORKERS)
    try:
        token = login(agent.email)
        floor, http = over_http(token, measured)
        mixed = concurrent(token, measured) if shutil.which("wrk") else None
    finally:
        web.terminate()
        web.wait()
    with tenant_context(tenant):
        local = in_process(agent, measured)
    report(floor, measured, http, local, mixed)


def report(floor, measured, http, local, mixed) -> None:
    print(
        f"Conversations of an agent over HTTP (gunicorn {WEB_WORKERS} workers, one keep-alive "
        f"client) and in-process (Django's test client, the same requests); {REQUESTS} "
        f"requests a figure or what fits in {FIGURE_SECONDS} s; latencies in ms:"
    )
    print(
        f"  {'what':30} {'requests':>8} {'matches':>8} {'p50':>7} {'p95':>7} {'max':>7}   "
        f"{'in-process p50':>14} {'p95':>7}   target p95 < {TARGET_MS} ms"
    )
    print(
        f"  {'floor: ' + PROFILE_URL:30} {floor['requests']:>8} {'':>8} {floor['p50']:>7.1f} "
        f"{floor['p95']:>7.1f} {floor['max']:>7.1f}"
    )
    for (what, _), over, alone in zip(measured, http, local, strict=True):
        verdict = "met" if over["p95"] < TARGET_MS else "NOT MET"
        print(
            f"  {what:30} {over['requests']:>8} {over['matches']:>8,.0f} {over['p50']:>7.1f} "
            f"{over['p95']:>7.1f} {over['max']:>7.1f}   {alone['p50']:>14.1f} "
            f"{alone['p95']:>7.1f}   {verdict}"
        )
    if mixed is not None:
        print(
            f"  all of them, mixed, wrk {CONCURRENCY} connections {WRK_DURATION}: "
            f"{mixed['rps']:.0f} req/s, p50 {mixed['p50_ms']:.1f} ms, "
            f"p95 {mixed['p95_ms']:.1f} ms, max {mixed['max_ms']:.1f} ms, "
            f"errors {mixed['errors']:.0f}"
        )


if __name__ == "__main__":
    main()
