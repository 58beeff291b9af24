"""SQLAlchemy 2.0 typed models. Invariants live here as database constraints too."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db

#: How long before the start and after the end the poster lets people in by default.
CHECKIN_MARGIN = timedelta(hours=2)


class UTCDateTime(sa.types.TypeDecorator):
    """Aware UTC datetimes on both databases (SQLite would otherwise hand back naive ones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Organiser(UserMixin, db.Model):
    """Someone who runs events. Logs in with email and password."""

    __tablename__ = "organiser"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored casefolded, so "Ana@X.org" and "ana@x.org" are one account.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Kept in the login session and checked on every request; bumped by log-out and a new
    #: password, so every copy of an older session cookie stops working.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    #: The first organiser, who signed up without an invitation. At most one row holds it
    #: (a partial unique index), so two sign-ups racing on an empty install can't both win.
    is_founder: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    events: Mapped[list[Event]] = relationship(back_populates="organiser")

    __table_args__ = (
        sa.Index("uq_organiser_founder", "is_founder", unique=True,
                 sqlite_where=sa.text("is_founder"), postgresql_where=sa.text("is_founder")),
    )

    def get_id(self) -> str:
        """What flask-login keeps in the session: the id and the session version."""
        return f"{self.id}:{self.session_version}"


class PasswordReset(db.Model):
    """A single-use link, sent by email, that sets a new password within an hour."""

    __tablename__ = "password_reset"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the token in the link; the link itself is only in the email.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    organiser_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organiser.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CoOrganiser(db.Model):
    """Another organiser who runs an event with its owner: they see and run it (the door,
    the dashboard, the poster, the people list), but only the owner deletes it or changes
    who runs it."""

    __tablename__ = "co_organiser"

    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), primary_key=True)
    organiser_id: Mapped[int] = mapped_column(sa.ForeignKey("organiser.id", ondelete="CASCADE"),
                                              primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Invitation(db.Model):
    """A single-use link that lets one more organiser sign up."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the token in the link; the link itself is shown once.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("organiser.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organiser.id", ondelete="SET NULL"), index=True
    )
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: An invitation to run this event: whoever signs up with it becomes its co-organiser.
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)

    def state(self, now: datetime) -> str:
        if self.used_at:
            return "used"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "open"


class Event(db.Model):
    """One networking evening."""

    __tablename__ = "event"
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint("prompt_hour >= 0 AND prompt_hour <= 23", name="prompt_hour_range"),
        sa.CheckConstraint("checkin_mode IN ('auto', 'open', 'closed')", name="checkin_mode"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organiser_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organiser.id", ondelete="CASCADE"), index=True
    )
    #: Short public handle used in URLs (`/c/<slug>/<key>`, `/e/<slug>`).
    slug: Mapped[str] = mapped_column(sa.String(16), unique=True)
    #: Secret part of the poster URL; rotating it voids printed posters.
    checkin_key: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(120))
    venue: Mapped[str] = mapped_column(sa.String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: IANA time zone name; used to show and compute local times only.
    timezone: Mapped[str] = mapped_column(sa.String(64))
    #: Local hour of the next-morning prompt (0-23).
    prompt_hour: Mapped[int] = mapped_column(sa.SmallInteger, default=9)
    #: 'auto' = open from 2 h before the start to 2 h after the end; 'open'/'closed' override.
    checkin_mode: Mapped[str] = mapped_column(sa.String(8), default="auto")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: When its attendee data is deleted: the end plus EVENTMATE_RETENTION_DAYS, fixed when
    #: the event is saved (attendees are told this date at check-in). None for events made
    #: before automatic deletion existed: kept until the organiser deletes them.
    purge_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the attendee data was deleted under the retention setting (None: not yet).
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The dashboard's numbers at that moment (JSON: counts only, no people), so the
    #: organiser still sees how the night went.
    summary: Mapped[str | None] = mapped_column(sa.Text)

    organiser: Mapped[Organiser] = relationship(back_populates="events")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    @property
    def checkin_opens_at(self) -> datetime:
        return self.starts_at - CHECKIN_MARGIN

    @property
    def checkin_closes_at(self) -> datetime:
        return self.ends_at + CHECKIN_MARGIN

    def is_checkin_open(self, now: datetime) -> bool:
        if self.checkin_mode == "open":
            return True
        if self.checkin_mode == "closed":
            return False
        return self.checkin_opens_at <= now < self.checkin_closes_at


#: Letters NFKD leaves whole, spelled the way people type them without the key.
_UNDECOMPOSED = str.maketrans({
    "ø": "o", "ł": "l", "æ": "ae", "œ": "oe", "đ": "d", "ð": "d", "þ": "th", "ħ": "h",
    "ı": "i", "ŀ": "l", "ŧ": "t", "ĸ": "k", "ŋ": "n", "ʼ": "'", "’": "'",
})
#: The stored folded text never passes this many UTF-8 bytes, so PostgreSQL's B-tree index
#: on it (who's here order) always takes the row (its limit is 2,704 bytes per entry). Real
#: answers stay far below: 783 characters of CJK fold to 2,349 bytes.
SEARCH_TEXT_MAX_BYTES = 2600


def fold(text: str) -> str:
    """Text as search compares it: "Zoë", "ZOE", "zoë" typed with a combining accent, "Zoe"
    all give "zoe"; "Ørsted" "orsted", "Łódź" "lodz", "Straße" "strasse".

    Compatibility forms are split (NFKD), combining marks dropped, case folded, the Latin
    letters NFKD keeps whole spelled out, then composed again (NFKC: Hangul, kana).
    The stored column and the words typed into search both go through here, so SQLite and
    PostgreSQL (whose own lower() and LIKE differ) find the same people.
    """
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFKC", bare.casefold().translate(_UNDECOMPOSED))


class Attendee(db.Model):
    """One person at one event. Exists before check-in only when imported."""

    __tablename__ = "attendee"
    __table_args__ = (
        sa.Index("ix_attendee_event_checked_in", "event_id", "checked_in_at"),
        # Who's here: the present people of one event, in the page's order (page 1 reads 26
        # index entries, the total counts the index) -- not every row of the event, sorted.
        sa.Index("ix_attendee_here", "event_id", "search_text", "id",
                 sqlite_where=sa.text("checked_in_at IS NOT NULL AND left_at IS NULL"),
                 postgresql_where=sa.text("checked_in_at IS NOT NULL AND left_at IS NULL")),
        # PostgreSQL: search words (LIKE '%word%') by trigram, whatever the crowd's size.
        sa.Index("ix_attendee_search_trgm", "search_text", postgresql_using="gin",
                 postgresql_ops={"search_text": "gin_trgm_ops"},
                 info={"only_dialect": "postgresql"}).ddl_if(dialect="postgresql"),
        # Lets picks and notes reference (attendee, event) pairs: "same event" is then a
        # foreign key, not just a check in Python.
        sa.UniqueConstraint("id", "event_id", name="uq_attendee_id_event"),
        # An imported registration is on the list once: a second import of the same file
        # (or two at once) can't add the person twice. Also finds the row a check-in claims.
        sa.Index("uq_attendee_imported_email", "event_id", "email", unique=True,
                 sqlite_where=sa.text("imported_at IS NOT NULL AND deleted_at IS NULL"),
                 postgresql_where=sa.text("imported_at IS NOT NULL AND deleted_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(80))
    what_i_do: Mapped[str] = mapped_column(sa.String(140))
    how_i_help: Mapped[str] = mapped_column(sa.String(280))
    looking_for: Mapped[str] = mapped_column(sa.String(280))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    #: Contact details the attendee chose to share with the people they pick.
    contact: Mapped[str | None] = mapped_column(sa.String(280))
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: SHA-256 of the check-in form's one-time token: a double submit lands on the same row.
    #: Only the hash: the token is a bearer secret while check-in is open.
    checkin_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    #: The return code and device credential the check-in handed out, encrypted under a key
    #: made from the form token and the browser's form cookie (neither is stored), so a
    #: retry from that browser gets the same answer and a database copy yields nothing.
    checkin_seal: Mapped[str | None] = mapped_column(sa.String(160))
    #: SHA-256 of the return code; the code itself lives only on the attendee's devices.
    return_code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: Opaque token behind the personal "pick me" QR; unrelated to the return code.
    pickme_token: Mapped[str] = mapped_column(sa.String(32), unique=True)
    #: Name and one-liners through `fold`, so search ignores case and accents alike on both
    #: databases. Text: folding lengthens some words ("ß" -> "ss").
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
    #: Set when the morning prompt goes out: from then on my three are fixed for this event.
    three_fixed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Set by the one-click unsubscribe link in an email: no more email from this event.
    email_opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: A device cookie from before devices existed (a code, no credential) still opens this
    #: attendee. True only for attendees who checked in before then; a new return code or
    #: deleting my data ends it.
    legacy_cookie_ok: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    #: Ticked at check-in: the organiser may have my email and contact details (in their
    #: attendee export). Off unless the attendee ticks it.
    contact_consent: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    #: The organiser who checked this person in by hand at the door (None: by QR, or imported).
    checked_in_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organiser.id", ondelete="SET NULL"),
                                                         index=True)
    #: Set when the attendee deleted their data: the row stays as a scrubbed tombstone, so
    #: notes others wrote about them and notes they already sent stay with the other person.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Set when the organiser imported this person's registration (Eventbrite, Luma, a CSV):
    #: on the list before they arrive. Their QR check-in with the same email claims the row.
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()

    @property
    def is_here(self) -> bool:
        return self.checked_in_at is not None and self.left_at is None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_registration(self) -> bool:
        """Imported, and not (yet) checked in."""
        return self.imported_at is not None and self.checked_in_at is None

    def refresh_search_text(self) -> None:
        self.search_text = search_text_for(self.name, self.what_i_do, self.how_i_help, self.looking_for)


def search_text_for(*parts: str | None) -> str:
    """The stored search text of a person's name and answers."""
    folded = fold(" ".join(p for p in parts if p))
    return folded.encode()[:SEARCH_TEXT_MAX_BYTES].decode(errors="ignore")


ORGANISER_ACTIONS = ("door_check_in", "door_undo", "door_code", "export", "import")


class OrganiserAction(db.Model):
    """What an organiser did to an event's people (door check-ins, undos, codes handed over,
    exports, imports): shown on the door page, kept for the record."""

    __tablename__ = "organiser_action"
    __table_args__ = (
        sa.CheckConstraint("action IN ('door_check_in', 'door_undo', 'door_code', 'export', 'import')",
                           name="action"),
        sa.Index("ix_organiser_action_event_created", "event_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"))
    organiser_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organiser.id", ondelete="SET NULL"),
                                                     index=True)
    attendee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("attendee.id", ondelete="SET NULL"),
                                                    index=True)
    action: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Pick(db.Model):
    """One of an attendee's (at most) three people."""

    __tablename__ = "pick"
    __table_args__ = (
        sa.UniqueConstraint("picker_id", "picked_id", name="uq_pick_picker_picked"),
        # The limit of three lives here: three slots, each taken at most once.
        sa.UniqueConstraint("picker_id", "slot", name="uq_pick_picker_slot"),
        sa.CheckConstraint("slot >= 0 AND slot <= 2", name="slot_range"),
        sa.CheckConstraint("picker_id <> picked_id", name="not_self"),
        sa.ForeignKeyConstraint(["picker_id", "event_id"], ["attendee.id", "attendee.event_id"],
                                name="fk_pick_picker_same_event", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["picked_id", "event_id"], ["attendee.id", "attendee.event_id"],
                                name="fk_pick_picked_same_event", ondelete="CASCADE"),
        sa.Index("ix_pick_picked_id", "picked_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    picker_id: Mapped[int] = mapped_column()
    picked_id: Mapped[int] = mapped_column()
    slot: Mapped[int] = mapped_column(sa.SmallInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    picked: Mapped[Attendee] = relationship(foreign_keys=[picked_id],
                                            primaryjoin="Pick.picked_id == Attendee.id")


class Note(db.Model):
    """An attendee's private listening notes about one person. Only the author reads them."""

    __tablename__ = "note"
    __table_args__ = (
        sa.UniqueConstraint("author_id", "subject_id", name="uq_note_author_subject"),
        sa.CheckConstraint("author_id <> subject_id", name="not_self"),
        sa.ForeignKeyConstraint(["author_id", "event_id"], ["attendee.id", "attendee.event_id"],
                                name="fk_note_author_same_event", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["subject_id", "event_id"], ["attendee.id", "attendee.event_id"],
                                name="fk_note_subject_same_event", ondelete="CASCADE"),
        sa.Index("ix_note_subject_id", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column()
    subject_id: Mapped[int] = mapped_column()
    #: What they are working on.
    working_on: Mapped[str] = mapped_column(sa.Text, default="")
    #: What they need.
    needs: Mapped[str] = mapped_column(sa.Text, default="")
    #: What I can offer, or promised.
    offer: Mapped[str] = mapped_column(sa.Text, default="")
    #: Something personal to remember.
    personal: Mapped[str] = mapped_column(sa.Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    PROMPTS = ("working_on", "needs", "offer", "personal")

    @property
    def filled(self) -> int:
        return sum(1 for name in self.PROMPTS if getattr(self, name))


class NoteSave(db.Model):
    """One saved change to a note, under the id the page made for it: replaying it
    (a double submit, an offline outbox sent twice) finds it here and changes nothing."""

    __tablename__ = "note_save"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    note_id: Mapped[int] = mapped_column(sa.ForeignKey("note.id", ondelete="CASCADE"), index=True)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: SHA-256 of the change (whom it is about, the fields it set, the values they were based
    #: on): the same id with another change is refused, not taken for a replay. NULL for saves
    #: made before changes were recorded.
    change_hash: Mapped[str | None] = mapped_column(sa.String(64))
    #: What the save did, as JSON (fields saved, conflicts with both versions): a replay is
    #: answered with exactly this. NULL for saves made before results were recorded.
    result: Mapped[str | None] = mapped_column(sa.Text)


class PickChange(db.Model):
    """One change to my three (pick, unpick, swap) sent by the page under an id it made:
    the phone's outbox may send it again after a lost answer, or twice at once; a replay
    finds it here and is answered with what it did the first time, changing nothing."""

    __tablename__ = "pick_change"
    __table_args__ = (sa.UniqueConstraint("attendee_id", "client_id", name="uq_pick_change_attendee_client"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attendee_id: Mapped[int] = mapped_column(sa.ForeignKey("attendee.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(sa.String(36))
    #: SHA-256 of what the change asked (its kind, the person, whom a swap drops): the same id
    #: with another change is refused, not taken for a replay.
    change_hash: Mapped[str] = mapped_column(sa.String(64))
    #: The status it was answered with: 200 when done, else the refusal's (409 for a fourth pick).
    status: Mapped[int] = mapped_column(sa.SmallInteger)
    #: The answer as JSON (what was done, or the refusal's code and message), without anyone's
    #: name: a replay is answered with exactly this.
    result: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Device(db.Model):
    """One phone or browser. Its cookie carries a credential; we keep only the hash."""

    __tablename__ = "device"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the credential in the device cookie.
    credential_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Updated at most hourly, so reading a page rarely writes.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: "Chrome on Android": how the attendee tells their devices apart (from the browser's
    #: User-Agent when the device was made; "" for devices from before labels).
    label: Mapped[str] = mapped_column(sa.String(60), default="", server_default="")


class DeviceAttendee(db.Model):
    """Which attendees a device holds (one per event it checked in to or signed in at)."""

    __tablename__ = "device_attendee"
    __table_args__ = (sa.Index("ix_device_attendee_attendee_id", "attendee_id"),)

    device_id: Mapped[int] = mapped_column(sa.ForeignKey("device.id", ondelete="CASCADE"), primary_key=True)
    attendee_id: Mapped[int] = mapped_column(sa.ForeignKey("attendee.id", ondelete="CASCADE"),
                                             primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PushSubscription(db.Model):
    """A browser's Web Push subscription. It belongs to a device, so one phone gets one
    message per attendee it holds, however many pages subscribed."""

    __tablename__ = "push_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(sa.ForeignKey("device.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(sa.String(1000))
    #: SHA-256 of the endpoint: unique, and small enough to index on both databases.
    endpoint_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    p256dh: Mapped[str] = mapped_column(sa.String(100))
    auth: Mapped[str] = mapped_column(sa.String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Last time the browser itself showed us this subscription. WebKit may answer 200 for a
    #: dead one, so one not confirmed for 60 days is dropped.
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime)


MESSAGE_KINDS = ("prompt", "reminder", "note_received", "coffee_proposed", "coffee_answered")
MESSAGE_STATES = ("pending", "sent", "skipped", "cancelled")


class Message(db.Model):
    """One outgoing notification: a row with its due time, claimed and sent by a worker's
    sweep (`flask send-prompts`, `flask worker`). Nothing is sent from a request."""

    __tablename__ = "message"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('prompt', 'reminder', 'note_received', 'coffee_proposed', "
                           "'coffee_answered')", name="kind"),
        sa.CheckConstraint("state IN ('pending', 'sent', 'skipped', 'cancelled')", name="state"),
        sa.CheckConstraint("channel IS NULL OR channel IN ('push', 'email', 'app')", name="channel"),
        # The sweep's question: what is pending and due? Only pending rows are indexed.
        sa.Index("ix_message_pending_due", "due_at", postgresql_where=sa.text("state = 'pending'"),
                 sqlite_where=sa.text("state = 'pending'")),
        sa.Index("ix_message_attendee_id", "attendee_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    #: The recipient.
    attendee_id: Mapped[int] = mapped_column(sa.ForeignKey("attendee.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    #: "prompt:<attendee>" and "reminder:<attendee>": at most one of each, held by the database.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(80), unique=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(sa.String(12), default="pending")
    #: How many times a worker has claimed it (a try); capped by the dispatcher.
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(40))
    #: A claim expires, so a worker killed mid-pass leaves nothing stuck.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: How it reached the person: by push, by email, or only in the app.
    channel: Mapped[str | None] = mapped_column(sa.String(8))
    #: A short word on how it went, for the operator.
    outcome: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    #: What a note or coffee notification is about (read when it is sent, so it says
    #: what is true then).
    letter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("letter.id", ondelete="CASCADE"), index=True)
    coffee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("coffee.id", ondelete="CASCADE"), index=True)

    attendee: Mapped[Attendee] = relationship()
    letter: Mapped[Letter | None] = relationship()
    coffee: Mapped[Coffee | None] = relationship()


class PushDelivery(db.Model):
    """This subscription already has this message: a retried message skips it."""

    __tablename__ = "push_delivery"

    message_id: Mapped[int] = mapped_column(sa.ForeignKey("message.id", ondelete="CASCADE"), primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("push_subscription.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FollowUp(db.Model):
    """I followed up with one of my three (sent in the app, or confirmed I sent it elsewhere)."""

    __tablename__ = "follow_up"
    __table_args__ = (
        sa.UniqueConstraint("author_id", "subject_id", "channel", name="uq_follow_up_author_subject_channel"),
        sa.CheckConstraint("author_id <> subject_id", name="not_self"),
        sa.ForeignKeyConstraint(["author_id", "event_id"], ["attendee.id", "attendee.event_id"],
                                name="fk_follow_up_author_same_event", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["subject_id", "event_id"], ["attendee.id", "attendee.event_id"],
                                name="fk_follow_up_subject_same_event", ondelete="CASCADE"),
        sa.Index("ix_follow_up_subject_id", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column()
    subject_id: Mapped[int] = mapped_column()
    #: 'in_app' (a Letter, counted automatically); the rest are what the author confirmed
    #: ("Sent it?"): 'email', 'sms', 'share', 'copy', or 'confirmed' (some other way).
    channel: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Letter(db.Model):
    """A note one attendee sends another in the app: the morning follow-up, or a reply.

    Sent exactly once per `client_id` (the page makes one per form), however often the
    button is pressed or the request replayed. A letter from someone the recipient muted is
    kept for its sender and `hidden` from the recipient: it goes nowhere, silently.
    """

    __tablename__ = "letter"
    __table_args__ = (
        sa.CheckConstraint("sender_id <> recipient_id", name="not_self"),
        sa.CheckConstraint("length(body) BETWEEN 1 AND 1000", name="body_length"),
        sa.ForeignKeyConstraint(["sender_id", "event_id"], ["attendee.id", "attendee.event_id"],
                                name="fk_letter_sender_same_event", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["recipient_id", "event_id"], ["attendee.id", "attendee.event_id"],
                                name="fk_letter_recipient_same_event", ondelete="CASCADE"),
        sa.Index("ix_letter_recipient_created", "recipient_id", "created_at"),
        sa.Index("ix_letter_sender_created", "sender_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    sender_id: Mapped[int] = mapped_column()
    recipient_id: Mapped[int] = mapped_column()
    body: Mapped[str] = mapped_column(sa.Text)
    client_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    hidden: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    sender: Mapped[Attendee] = relationship(foreign_keys=[sender_id],
                                            primaryjoin="Letter.sender_id == Attendee.id")
    recipient: Mapped[Attendee] = relationship(foreign_keys=[recipient_id],
                                               primaryjoin="Letter.recipient_id == Attendee.id")


class Mute(db.Model):
    """The muter hears nothing more from the muted: their notes and invitations go nowhere."""

    __tablename__ = "mute"
    __table_args__ = (
        sa.CheckConstraint("muter_id <> muted_id", name="not_self"),
        sa.ForeignKeyConstraint(["muter_id", "event_id"], ["attendee.id", "attendee.event_id"],
                                name="fk_mute_muter_same_event", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["muted_id", "event_id"], ["attendee.id", "attendee.event_id"],
                                name="fk_mute_muted_same_event", ondelete="CASCADE"),
        sa.Index("ix_mute_muted_id", "muted_id"),
    )

    muter_id: Mapped[int] = mapped_column(primary_key=True)
    muted_id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


COFFEE_STATES = ("proposed", "accepted", "declined", "cancelled")


class Coffee(db.Model):
    """A coffee between two attendees: one row per pair, so a counter-offer or a reschedule
    updates it (and its calendar UID stays the same). `proposer_id` put the current times
    forward; the other person answers. `version` grows with every change: an answer names
    the version it saw, so two people acting at once cannot overwrite each other."""

    __tablename__ = "coffee"
    __table_args__ = (
        sa.UniqueConstraint("low_id", "high_id", name="uq_coffee_pair"),
        sa.CheckConstraint("low_id < high_id", name="pair_order"),
        sa.CheckConstraint("proposer_id = low_id OR proposer_id = high_id", name="proposer_in_pair"),
        sa.CheckConstraint("state IN ('proposed', 'accepted', 'declined', 'cancelled')", name="state"),
        sa.CheckConstraint("state <> 'accepted' OR starts_at IS NOT NULL", name="accepted_has_time"),
        sa.CheckConstraint("sequence >= 0 AND version >= 0", name="counters"),
        sa.ForeignKeyConstraint(["low_id", "event_id"], ["attendee.id", "attendee.event_id"],
                                name="fk_coffee_low_same_event", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["high_id", "event_id"], ["attendee.id", "attendee.event_id"],
                                name="fk_coffee_high_same_event", ondelete="CASCADE"),
        sa.Index("ix_coffee_high_id", "high_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id", ondelete="CASCADE"), index=True)
    #: The pair, smaller id first: the unique constraint makes one coffee per pair.
    low_id: Mapped[int] = mapped_column()
    high_id: Mapped[int] = mapped_column()
    proposer_id: Mapped[int] = mapped_column()
    state: Mapped[str] = mapped_column(sa.String(12))
    place: Mapped[str] = mapped_column(sa.String(120), default="")
    #: The accepted time (UTC); kept while a reschedule is being agreed.
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Calendar identity: UID stays, SEQUENCE grows with each new time and with a cancel.
    uid: Mapped[str] = mapped_column(sa.String(80), unique=True)
    sequence: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=0)
    #: Proposed while the other person had muted the proposer: they never see it.
    hidden: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    slots: Mapped[list[CoffeeSlot]] = relationship(order_by="CoffeeSlot.position",
                                                   cascade="all, delete-orphan", passive_deletes=True)

    def other(self, attendee_id: int) -> int:
        return self.high_id if attendee_id == self.low_id else self.low_id


class CoffeeSlot(db.Model):
    """One of the (up to three) times on the table."""

    __tablename__ = "coffee_slot"
    __table_args__ = (sa.CheckConstraint("position >= 0 AND position <= 2", name="position_range"),)

    coffee_id: Mapped[int] = mapped_column(sa.ForeignKey("coffee.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Handover(db.Model):
    """A used home-screen hand-over token (see `eventmate.handover`): its id, once. Tokens
    are made without a write; only their use is recorded, so a copy opens nothing."""

    __tablename__ = "handover"

    jti: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    attendee_id: Mapped[int] = mapped_column(sa.ForeignKey("attendee.id", ondelete="CASCADE"), index=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime)
