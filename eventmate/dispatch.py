"""The sweep that sends due messages. Safe with any number of workers on any number of machines.

One pass: claim a batch of due rows atomically (a conditional UPDATE; `FOR UPDATE SKIP
LOCKED` on PostgreSQL), commit, send outside any transaction (push in parallel, so one hung
endpoint never holds up the rest), then record each outcome only if the claim is still ours.
A claim expires: a worker killed mid-pass leaves its rows to the next worker, which repeats
at most what was in flight. A subscription that already got a message is recorded
(`PushDelivery`), so a retried message never reaches the same phone twice.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from . import clock, devices, followup, mail, push
from .models import Attendee, FollowUp, Message, PushDelivery, PushSubscription

log = logging.getLogger("eventmate.actions")

#: Tries per message (a try = one claim) before push gives up and the fallback takes over.
MAX_TRIES = 5
#: First retry delay; doubled on every further try, unless the push service says when.
BACKOFF = timedelta(seconds=30)
#: How long a push service should keep trying to reach the phone, per kind.
TTL = {"prompt": 8 * 3600, "reminder": 4 * 3600}
DEFAULT_TTL = 24 * 3600
#: Bulk UPDATE/DELETE without matching the session's objects in Python: the dispatcher reads
#: fresh rows for every batch, and matching grows with the session (quadratic over a pass).
_NO_SYNC = {"synchronize_session": False}


@dataclass
class Settings:
    """What the dispatcher needs from configuration (no Flask inside)."""

    base_url: str
    vapid_private_key: str
    vapid_subject: str
    smtp_url: str | None = None
    mail_from: str = "EventMate <eventmate@localhost>"
    claim_seconds: int = 120
    push_timeout: float = 10.0
    unsubscribe_url: object = None  # callable(attendee) -> absolute URL, for email

    @classmethod
    def from_config(cls, config: dict, base_url: str, unsubscribe_url=None) -> Settings:
        return cls(base_url=base_url.rstrip("/"), vapid_private_key=config["VAPID_PRIVATE_KEY"],
                   vapid_subject=config["VAPID_SUBJECT"], smtp_url=config.get("SMTP_URL"),
                   mail_from=config.get("MAIL_FROM") or cls.mail_from,
                   claim_seconds=int(config.get("DISPATCH_CLAIM_SECONDS", 120)),
                   push_timeout=float(config.get("PUSH_TIMEOUT_SECONDS", 10.0)),
                   unsubscribe_url=unsubscribe_url)


@dataclass
class Summary:
    """What one pass did, for the one-line report."""

    claimed: int = 0
    push: int = 0
    email: int = 0
    app: int = 0
    skipped: int = 0
    retrying: int = 0
    gone: int = 0
    lost: int = 0
    reasons: dict = field(default_factory=dict)

    def add(self, other: Summary) -> None:
        for name in ("claimed", "push", "email", "app", "skipped", "retrying", "gone", "lost"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def line(self) -> str:
        sent = self.push + self.email + self.app
        return (f"{sent} sent ({self.push} by push, {self.email} by email, {self.app} in the app only), "
                f"{self.skipped} skipped, {self.retrying} to retry, {self.gone} dead subscriptions removed")


@dataclass
class _Job:
    """One message being delivered in this pass."""

    message: Message
    attendee: Attendee
    payload: dict | None = None
    subscriptions: list = field(default_factory=list)
    #: A subscription already got this message on an earlier try.
    already_pushed: bool = False
    outcomes: list = field(default_factory=list)  # (subscription, push.Outcome)


@dataclass
class _Outcome:
    """A batch's results, written together."""

    deliveries: list = field(default_factory=list)
    gone: list = field(default_factory=list)
    retries: list = field(default_factory=list)  # (job, next due time)
    finished: dict = field(default_factory=dict)  # (state, outcome, channel) -> [job]

    def finish(self, job: _Job, state: str, outcome: str, channel: str | None) -> None:
        self.finished.setdefault((state, outcome, channel), []).append(job)


def _topic(message: Message) -> str:
    """The push Topic: the reminder replaces the morning prompt on the lock screen rather
    than stacking under it; other notifications stand on their own."""
    if message.kind in ("prompt", "reminder"):
        return f"em-followup-{message.attendee_id}"
    return f"em-{message.kind[:12]}-{message.id}"[:32]


def worker_name() -> str:
    return f"{socket.gethostname()[:20]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Dispatcher:
    """Claims, sends and records. One per worker process; `run_pass` as often as you like."""

    def __init__(self, session, settings: Settings, *, name: str | None = None, threads: int = 16,
                 batch: int = 200, pusher: push.Pusher | None = None):
        self.session = session
        self.settings = settings
        self.name = name or worker_name()
        self.batch = batch
        self.pusher = pusher or push.Pusher(settings.vapid_private_key, settings.vapid_subject,
                                            timeout=settings.push_timeout, connections=threads)
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="push")
        self._claimed_at = time.monotonic()

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.pusher.close()

    def run_pass(self) -> Summary:
        """Send everything due now, batch by batch, until nothing due is left unclaimed."""
        total = Summary()
        devices.expire_subscriptions(self.session)
        while True:
            ids = self.claim(self.batch)
            if not ids:
                return total
            total.add(self._deliver(ids))

    # --- claim ------------------------------------------------------------------------

    def claim(self, limit: int) -> list[int]:
        """Atomically take up to `limit` due, unclaimed (or abandoned) messages. Commits."""
        now = clock.now()
        due = (
            sa.select(Message.id)
            .where(Message.state == "pending", Message.due_at <= now,
                   sa.or_(Message.claimed_until.is_(None), Message.claimed_until < now))
            .order_by(Message.due_at, Message.id)
            .limit(limit)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = self.session.scalars(
            sa.update(Message)
            .where(Message.id.in_(due.scalar_subquery()))
            .values(claimed_by=self.name, claimed_until=now + timedelta(seconds=self.settings.claim_seconds),
                    attempts=Message.attempts + 1)
            .returning(Message.id),
            execution_options=_NO_SYNC,
        ).all()
        self.session.commit()
        self._claimed_at = time.monotonic()
        return list(ids)

    # --- deliver ----------------------------------------------------------------------

    def _deliver(self, ids: list[int]) -> Summary:
        summary = Summary(claimed=len(ids))
        now = clock.now()
        jobs = self._prepare(ids, now)
        self.session.commit()  # send outside any transaction: no lock held while waiting
        work = [(job, sub) for job in jobs if job.payload for sub in job.subscriptions]
        for (job, sub), outcome in zip(work, self.pool.map(self._send, work), strict=True):
            job.outcomes.append((sub, outcome))
        outcome = _Outcome()
        for job in jobs:
            self._decide(job, now, outcome)
        self._apply(outcome, now, summary)
        self.session.commit()
        self.session.expunge_all()  # the next batch starts from fresh rows
        return summary

    def _prepare(self, ids: list[int], now: datetime) -> list[_Job]:
        """Load the batch with everything it needs in a handful of queries."""
        messages = list(self.session.scalars(
            sa.select(Message).where(Message.id.in_(ids), Message.claimed_by == self.name)
            .options(joinedload(Message.attendee).joinedload(Attendee.event),
                     joinedload(Message.letter), joinedload(Message.coffee))
        ))
        attendee_ids = sorted({m.attendee_id for m in messages})
        waiting = followup.waiting_by_attendee(self.session, attendee_ids)
        followed_up = set(self.session.scalars(
            sa.select(FollowUp.author_id).where(FollowUp.author_id.in_(attendee_ids))
        ))
        subs_by_attendee = devices.subscriptions_by_attendee(self.session, attendee_ids)
        delivered = set(self.session.execute(
            sa.select(PushDelivery.message_id, PushDelivery.subscription_id)
            .where(PushDelivery.message_id.in_(ids))
        ).tuples())
        jobs = []
        for message in messages:
            job = _Job(message=message, attendee=message.attendee)
            jobs.append(job)
            if message.kind == "prompt" and message.due_at < now - followup.STALE_AFTER:
                continue  # recorded as skipped: too late to be the morning after
            if message.kind == "reminder" and message.attendee_id in followed_up:
                continue
            other = self._about(message)
            text = followup.compose(message.kind, job.attendee, job.attendee.event,
                                    waiting.get(message.attendee_id, []), message, other)
            if text is None:
                continue
            job.payload = {"title": text[0], "body": text[1], "url": self._url(job)}
            job.subscriptions = [s for s in subs_by_attendee.get(message.attendee_id, [])
                                 if (message.id, s.id) not in delivered]
            job.already_pushed = any(mid == message.id for mid, _ in delivered)
        return jobs

    def _about(self, message: Message) -> Attendee | None:
        """The other person a note or coffee notification is about."""
        if message.letter is not None:
            return self.session.get(Attendee, message.letter.sender_id)
        if message.coffee is not None:
            return self.session.get(Attendee, message.coffee.other(message.attendee_id))
        return None

    def _url(self, job: _Job) -> str:
        slug, message = job.attendee.event.slug, job.message
        if message.kind in ("prompt", "reminder"):
            return f"{self.settings.base_url}/e/{slug}/follow-up"
        other = self._about(message)
        if other is not None:
            return f"{self.settings.base_url}/e/{slug}/with/{other.id}"
        return f"{self.settings.base_url}/e/{slug}/inbox"

    def _send(self, item) -> push.Outcome:
        job, sub = item
        try:
            return self.pusher.send(
                push.Subscription(endpoint=sub.endpoint, p256dh=sub.p256dh, auth=sub.auth),
                job.payload, topic=_topic(job.message),
                ttl=TTL.get(job.message.kind, DEFAULT_TTL),
            )
        except Exception as error:  # a bug in one send must not lose the whole batch
            log.exception("push failed: message=%s subscription=%s", job.message.id, sub.id)
            return push.Outcome(kind="retry", http_status=None, retry_after=None, detail=str(error)[:100])

    # --- record -----------------------------------------------------------------------

    def _decide(self, job: _Job, now: datetime, outcome: _Outcome) -> None:
        """What became of one message: finished (sent or skipped) or put back for a retry."""
        message = job.message
        if job.payload is None:
            reason = ("too late" if message.kind == "prompt" and message.due_at < now - followup.STALE_AFTER
                      else "nothing left to follow up" if message.kind in ("prompt", "reminder")
                      else "nothing to say")
            outcome.finish(job, "skipped", reason, None)
            return
        pushed = job.already_pushed
        retry_after: list[float] = []
        for sub, result in job.outcomes:
            if result.kind == "delivered":
                pushed = True
                outcome.deliveries.append({"message_id": message.id, "subscription_id": sub.id,
                                           "delivered_at": now})
            elif result.kind == "gone":
                outcome.gone.append(sub.id)
            elif result.kind == "retry":
                retry_after.append(result.retry_after or 0)
                log.warning("push to retry: message=%s subscription=%s status=%s %s",
                            message.id, sub.id, result.http_status, result.detail)
            else:
                log.warning("push rejected: message=%s subscription=%s status=%s %s",
                            message.id, sub.id, result.http_status, result.detail)
        backoff = BACKOFF * 2 ** (message.attempts - 1)
        if retry_after and message.attempts < MAX_TRIES:
            outcome.retries.append((job, now + max(timedelta(seconds=max(retry_after)), backoff)))
            return
        if pushed:
            outcome.finish(job, "sent", "pushed", "push")
        elif self._can_email(job.attendee):
            if time.monotonic() - self._claimed_at > 0.75 * self.settings.claim_seconds:
                # A slow mail server ate most of the claim: hand the rest back rather than
                # let the claim run out under us (another worker would send them twice).
                outcome.retries.append((job, now))
                return
            sent, detail = self._email(job)
            if sent:
                outcome.finish(job, "sent", "emailed", "email")
            elif message.attempts < MAX_TRIES:
                outcome.retries.append((job, now + backoff))
            else:
                outcome.finish(job, "sent", f"email failed: {detail}"[:200], "app")
        else:
            outcome.finish(job, "sent", "waiting in the app", "app")

    def _apply(self, outcome: _Outcome, now: datetime, summary: Summary) -> None:
        """Write a batch's outcomes in a few statements, each guarded by our claim."""
        session, dialect = self.session, self._dialect()
        if outcome.deliveries:
            session.execute(dialect.insert(PushDelivery).on_conflict_do_nothing(), outcome.deliveries)
        if outcome.gone:
            session.execute(sa.delete(PushSubscription).where(PushSubscription.id.in_(outcome.gone)),
                            execution_options=_NO_SYNC)
            summary.gone += len(outcome.gone)
        for job, due_at in outcome.retries:
            released = session.execute(
                sa.update(Message).where(Message.id == job.message.id, Message.claimed_by == self.name)
                .values(due_at=due_at, claimed_by=None, claimed_until=None), execution_options=_NO_SYNC,
            ).rowcount
            summary.retrying += released
        fixed, reminders = [], []
        for (state, reason, channel), jobs in outcome.finished.items():
            done = set(session.scalars(
                sa.update(Message)
                .where(Message.id.in_([j.message.id for j in jobs]), Message.claimed_by == self.name,
                       Message.state == "pending")
                .values(state=state, outcome=reason, channel=channel,
                        sent_at=now if state == "sent" else None, claimed_by=None, claimed_until=None)
                .returning(Message.id),
                execution_options=_NO_SYNC,
            ))
            summary.lost += len(jobs) - len(done)
            for job in jobs:
                message = job.message
                if message.id not in done:
                    continue  # our claim ran out and another worker has it now
                if state == "skipped":
                    summary.skipped += 1
                else:
                    setattr(summary, channel, getattr(summary, channel) + 1)
                    log.info("%s sent: event=%s attendee=%s channel=%s", message.kind, message.event_id,
                             message.attendee_id, channel)
                if message.kind == "prompt":
                    fixed.append(message.attendee_id)
                    due = followup.reminder_due_at(job.attendee.event, now) if state == "sent" else None
                    if due is not None:
                        reminders.append(followup.reminder_row(job.attendee, due))
        if fixed:  # the prompt went out: these attendees' three are now what they follow up on
            session.execute(
                sa.update(Attendee).where(Attendee.id.in_(fixed), Attendee.three_fixed_at.is_(None))
                .values(three_fixed_at=now), execution_options=_NO_SYNC)
        if reminders:
            session.execute(dialect.insert(Message).on_conflict_do_nothing(), reminders)

    def _dialect(self):
        return postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite

    # --- email fallback ---------------------------------------------------------------

    def _can_email(self, attendee: Attendee) -> bool:
        return bool(self.settings.smtp_url and attendee.email and attendee.email_opted_out_at is None)

    def _email(self, job: _Job) -> tuple[bool, str]:
        unsubscribe = self.settings.unsubscribe_url(job.attendee) if self.settings.unsubscribe_url else None
        try:
            mail.send(self.settings.smtp_url, self.settings.mail_from,
                      followup.email_for(job.attendee, job.payload, unsubscribe),
                      timeout=self.settings.push_timeout)
        except (mail.MailError, ValueError) as error:  # ValueError: an address we cannot write to
            log.warning("email failed: message=%s: %s", job.message.id, error)
            return False, str(error)
        return True, ""
