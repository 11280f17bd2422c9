"""A large store for benchmarks/context.py: contacts with a realistic mix of identities, tickets
spread over three years (most closed, a few open and recent), their messages, the
acknowledgements we sent and imported customer records, bulk-loaded with COPY.

Everything is derived from a seeded random generator and from row ids, so the benchmark can
name a contact's handles, a ticket's acknowledgement Message-ID or a conversation key without
reading them back. The schema is the one the migrations create; nothing here alters it.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from mailbot.pipeline.refs import ALPHABET, PREFIX
from mailbot.pipeline.subjects import normalize_subject

LANGUAGES = ("es", "es", "en", "en", "it", "pt", "fr", "de")
COUNTRY_PREFIX = {"es": "+346", "it": "+393", "en": "+447", "pt": "+3519", "fr": "+336", "de": "+4915"}
DOMAINS = ("gmail.test", "outlook.test", "yahoo.test", "libero.test", "web.test", "acme-corp.test")
WHATSAPP_NUMBER_ID = "1055"  # our WhatsApp business number's id
GENERIC_CHANNEL = "shop"
AGENT = "agent@support.test"
SUPPORT = "support@support.test"

# Which channels a contact uses, with how often that mix occurs (share of contacts).
PROFILES: tuple[tuple[tuple[str, ...], float], ...] = (
    (("email",), 0.45),
    (("email", "whatsapp"), 0.12),
    (("whatsapp",), 0.10),
    (("email", "twilio"), 0.08),  # SMS
    (("telegram",), 0.08),
    (("email", "telegram"), 0.04),
    (("generic",), 0.04),  # a partner app's user, vouched for by an e-mail address
    (("x",), 0.03),
    (("email", "x"), 0.02),
    (("slack",), 0.02),
    (("messenger",), 0.02),
)

SUBJECTS = {
    "es": ("Mi pedido {n} no ha llegado", "Tarjeta bloqueada", "Factura duplicada {n}", "Devolución {n}"),
    "en": ("Order {n} has not arrived", "Card blocked", "Refund for order {n}", "Cannot log in"),
    "it": ("Ordine {n} non arrivato", "Carta bloccata", "Rimborso ordine {n}", "Fattura errata {n}"),
    "pt": ("Encomenda {n} não chegou", "Cartão bloqueado", "Reembolso {n}", "Fatura errada {n}"),
    "fr": ("Commande {n} pas arrivée", "Carte bloquée", "Remboursement {n}", "Facture en double {n}"),
    "de": ("Bestellung {n} nicht angekommen", "Karte gesperrt", "Erstattung {n}", "Rechnung falsch {n}"),
}
TEXTS = {
    "es": (
        "Hola, hice el pedido {n} hace dos semanas y todavía no ha llegado. ¿Podéis mirarlo?",
        "Mi tarjeta está bloqueada desde esta mañana y no puedo pagar nada, ¿qué hago?",
        "Me habéis cobrado dos veces el mismo importe, la operación es la {n}.",
    ),
    "en": (
        "Hello, I placed order {n} two weeks ago and it still has not arrived. Could you check?",
        "My card has been blocked since this morning and I cannot pay for anything.",
        "I was charged twice for the same order; the second payment reference is {n}.",
    ),
    "it": (
        "Buongiorno, ho effettuato l'ordine {n} dieci giorni fa ma non è ancora arrivato.",
        "La mia carta è bloccata da stamattina e non riesco a pagare niente.",
        "Ho restituito le scarpe ma non ho ancora ricevuto il rimborso dell'ordine {n}.",
    ),
    "pt": (
        "Olá, fiz a encomenda {n} há duas semanas e ainda não chegou. Podem verificar?",
        "O meu cartão está bloqueado desde esta manhã e não consigo pagar nada.",
        "Fui cobrado duas vezes pela mesma encomenda, a referência é {n}.",
    ),
    "fr": (
        "Bonjour, j'ai passé la commande {n} il y a deux semaines et elle n'est pas arrivée.",
        "Ma carte est bloquée depuis ce matin et je ne peux plus rien payer.",
        "J'ai été débité deux fois pour la même commande, la référence est {n}.",
    ),
    "de": (
        "Hallo, ich habe die Bestellung {n} vor zwei Wochen aufgegeben, sie ist nicht angekommen.",
        "Meine Karte ist seit heute Morgen gesperrt und ich kann nichts bezahlen.",
        "Mir wurde dieselbe Bestellung zweimal abgebucht, die Referenz ist {n}.",
    ),
}
AGENT_TEXT = "Thank you, we have looked into it and it is solved now."
YEARS = 3


@dataclass(frozen=True)
class ContactRow:
    id: int
    channels: tuple[str, ...]
    language: str

    @property
    def email(self) -> str | None:
        if "email" in self.channels or "generic" in self.channels:
            return f"customer{self.id}@{DOMAINS[self.id % len(DOMAINS)]}"
        return None

    @property
    def phone(self) -> str:
        return f"{COUNTRY_PREFIX[self.language]}{self.id:08d}"

    def handle(self, channel: str) -> str:
        """The sender handle a channel gives this contact (message.sender_handle)."""
        if channel == "email":
            return self.email or ""
        if channel in ("whatsapp", "twilio", "phone"):
            return self.phone
        if channel == "generic":
            return f"app-user-{self.id}"
        if channel == "slack":
            return f"U{self.id:09d}"
        return str(7_000_000_000 + self.id)  # telegram, x, messenger: numeric platform ids

    def conversation_key(self, channel: str, ticket_id: int) -> str | None:
        """Where a chat platform files this contact's messages (webhooks/<channel>.py)."""
        if channel == "telegram":
            return f"telegram:{self.handle(channel)}"
        if channel == "whatsapp":
            return f"whatsapp:{WHATSAPP_NUMBER_ID}:{self.phone[1:]}"
        if channel == "x":
            return f"x:dm:{self.handle(channel)}-1000"
        if channel == "messenger":
            return f"messenger:page1:{self.handle(channel)}"
        if channel == "generic":
            return f"generic:{GENERIC_CHANNEL}:conv-{ticket_id}"
        if channel == "slack":
            return f"slack:T1:D{self.id}:dm"
        if channel == "twilio":
            return f"twilio:sms:+34910000000:{self.phone}"
        return None  # mail threads by headers, not by a conversation


def sender_type(channel: str) -> str:
    """The identity type a channel's senders have (message.SENDER_TYPES)."""
    return "phone" if channel == "twilio" else channel


def contact_rows(count: int, seed: int) -> list[ContactRow]:
    rng = random.Random(seed)
    mixes = [p for p, _ in PROFILES]
    weights = [w for _, w in PROFILES]
    return [ContactRow(i, rng.choices(mixes, weights)[0], rng.choice(LANGUAGES)) for i in range(1, count + 1)]


def ref_of(ticket_id: int) -> str:
    """A reference in the product's alphabet, unique per id (the pipeline draws its own at
    random and re-draws on a collision)."""
    chars = []
    for _ in range(6):
        ticket_id, digit = divmod(ticket_id, len(ALPHABET))
        chars.append(ALPHABET[digit])
    return PREFIX + "".join(reversed(chars))


def ack_message_id_of(ticket_id: int) -> str:
    return f"mailbot.ack.{ref_of(ticket_id).lower()}.0000{ticket_id % 10000:04d}@support.test"


def mail_message_id_of(message_id: int, contact: ContactRow) -> str:
    return f"m{message_id}.{contact.id}@mail.{DOMAINS[contact.id % len(DOMAINS)]}"


def ticket_contact(rng: random.Random, contacts: int) -> int:
    """Most customers write a few times over the years; a few write very often (a shop
    that orders every week, a bulk sender), which is where per-contact queries hurt."""
    if rng.random() < 0.85:
        return rng.randint(1, contacts)
    return 1 + int(contacts * rng.random() ** 3)


class Loader:
    def __init__(self, url: str, contacts: int, tickets: int, seed: int, now: datetime) -> None:
        self.url, self.contact_count, self.ticket_count = url, contacts, tickets
        self.seed, self.now = seed, now
        self.contacts = contact_rows(contacts, seed)

    def contact(self, contact_id: int) -> ContactRow:
        return self.contacts[contact_id - 1]

    def created_at(self, ticket_id: int) -> datetime:
        """Tickets come at a steady rate over YEARS, the newest a few minutes ago."""
        age = (self.ticket_count - ticket_id) / self.ticket_count * YEARS * 365 * 86400
        return self.now - timedelta(seconds=age + 300)

    def load(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            _without_foreign_key_checks(conn)
            _copy(conn, "contacts", ("id", "name", "email", "language", "created_at"), self._contacts())
            _copy(conn, "contact_identities", ("contact_id", "channel", "handle", "kind"), self._identities())
            _copy(conn, "customer_records", RECORD_COLUMNS, self._records())
            self._copy_tickets()
            for table in ("contacts", "contact_identities", "tickets", "messages", "outbox"):
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
            conn.execute("VACUUM ANALYZE")

    def _copy_tickets(self) -> None:
        """Tickets, their messages and acknowledgements come out of one pass: three
        connections each hold one COPY open, so nothing is kept in memory."""
        tables = {"tickets": TICKET_COLUMNS, "messages": MESSAGE_COLUMNS, "outbox": OUTBOX_COLUMNS}
        with ExitStack() as stack:
            copies = {}
            for table, columns in tables.items():
                conn = stack.enter_context(psycopg.connect(self.url, autocommit=True))
                _without_foreign_key_checks(conn)
                names = ", ".join(f'"{c}"' for c in columns)
                copies[table] = stack.enter_context(conn.cursor().copy(f"COPY {table} ({names}) FROM STDIN"))
            for table, row in self._ticket_rows():
                copies[table].write_row(row)

    def _contacts(self) -> Iterator[tuple]:
        for c in self.contacts:
            since = self.now - timedelta(days=YEARS * 365 * (1 - c.id / (self.contact_count * 1.2)))
            yield c.id, f"Customer {c.id}", c.email, c.language, since

    def _identities(self) -> Iterator[tuple]:
        for c in self.contacts:
            for channel in c.channels:
                yield c.id, channel, c.handle(channel), sender_type(channel)
            if "whatsapp" in c.channels or "twilio" in c.channels:
                yield c.id, "phone", c.phone, "phone"  # the verified number, claimed by identify
            if "generic" in c.channels and c.email:
                yield c.id, "email", c.email, "email"

    def _records(self) -> Iterator[tuple]:
        """The CRM export: a third of the customers, by e-mail or else by phone."""
        rng = random.Random(self.seed + 1)
        for c in self.contacts:
            if rng.random() > 0.33:
                continue
            attributes = {
                "plan": rng.choice(("basic", "plus", "gold")),
                "vip": "yes" if rng.random() < 0.05 else "no",
                "payment_status": "failed" if rng.random() < 0.04 else "paid",
            }
            email = c.email
            phone = None if email else c.phone
            yield "csv", email, phone, f"Customer {c.id}", json.dumps(attributes), self.now

    def _ticket_rows(self) -> Iterator[tuple[str, tuple]]:
        rng = random.Random(self.seed + 2)
        message_id = 0
        for ticket_id in range(1, self.ticket_count + 1):
            contact = self.contact(ticket_contact(rng, self.contact_count))
            channel = rng.choice(contact.channels)
            created = self.created_at(ticket_id)
            age_days = (self.now - created).days
            if age_days > 30:
                status = "closed" if rng.random() < 0.9 else "solved"
            else:
                status = rng.choice(("open", "open", "pending", "solved", "closed"))
            lang = contact.language
            n = 100000 + ticket_id
            subject = rng.choice(SUBJECTS[lang]).format(n=n) if channel == "email" else ""
            updated = created + timedelta(hours=rng.random() * (2 if age_days < 3 else 96))
            updated = min(updated, self.now)
            subject_key = normalize_subject(subject)
            yield "tickets", (
                ticket_id, ref_of(ticket_id), status, subject, subject_key, channel, contact.id, lang,
                "normal", "", False, created, updated, created + timedelta(hours=24), "support",
                "[]", "question", "", "normal", "", "", None,
            )  # fmt: skip
            said = [rng.choice(TEXTS[lang]).format(n=n)]
            if rng.random() < 0.35:
                said.append(rng.choice(TEXTS[lang]).format(n=n))
            handle = contact.handle(channel)
            for position, text in enumerate(said):
                message_id += 1
                if channel == "email":
                    internet_id = mail_message_id_of(message_id, contact)
                else:
                    internet_id = f"{channel}-{message_id}"
                received = min(created + timedelta(minutes=position * 90), self.now)
                digest = hashlib.sha256(f"{message_id}\x1f{text}".encode()).hexdigest()
                yield "messages", (
                    message_id, ticket_id, channel, internet_id, "customer", "new ticket",
                    sender_type(channel), handle, f"Customer {contact.id}",
                    contact.conversation_key(channel, ticket_id), subject, text, "", digest, received,
                )  # fmt: skip
            if status != "open" or rng.random() < 0.3:
                message_id += 1
                digest = hashlib.sha256(str(message_id).encode()).hexdigest()
                yield "messages", (
                    message_id, ticket_id, channel, f"agent-{message_id}", "agent", "", "panel", AGENT,
                    "Agent", None, subject, AGENT_TEXT, "", digest, updated,
                )  # fmt: skip
            if channel == "email":
                ref = ref_of(ticket_id)
                yield "outbox", (
                    f"ack:{ref}", "ack", "email", ticket_id, contact.email, SUPPORT, "",
                    f"[#{ref}] {subject}", f"We have opened {ref}.", ack_message_id_of(ticket_id), "",
                    subject_key, "sent", 1, created, created, created, "{}",
                )  # fmt: skip


RECORD_COLUMNS = ("source", "email", "phone", "name", "attributes", "fetched_at")
TICKET_COLUMNS = (
    "id", "ref", "status", "subject", "normalized_subject", "channel", "contact_id", "language",
    "priority", "urgency_cues", "held_for_review", "created_at", "updated_at", "first_response_due_at",
    "queue", "tags", "intent", "intent_cues", "urgency", "priority_cues", "routing_reason", "context",
)  # fmt: skip
MESSAGE_COLUMNS = (
    "id", "ticket_id", "channel", "internet_message_id", "kind", "reason", "sender_type", "from_address",
    "from_name", "conversation_key", "subject", "text", "quoted_text", "content_hash", "received_at",
)  # fmt: skip
OUTBOX_COLUMNS = (
    "key", "kind", "channel", "ticket_id", "to_address", "from_address", "from_name", "subject", "body",
    "internet_message_id", "references", "normalized_subject", "status", "attempts", "next_attempt_at",
    "created_at", "sent_at", "channel_fields",
)  # fmt: skip


def _without_foreign_key_checks(conn: psycopg.Connection) -> None:
    # Foreign keys hold by construction; checking them row by row would triple the load.
    conn.execute("SET session_replication_role = replica")


def _copy(conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    names = ", ".join(f'"{c}"' for c in columns)
    with conn.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
