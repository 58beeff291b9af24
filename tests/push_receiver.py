"""A real Web Push service stand-in: checks VAPID (RFC 8292), decrypts aes128gcm (RFC 8291).

It hands out browser-like subscriptions, then verifies each POST the way a push service and
the browser together would, answers with the status each subscription was told to give, and
records what arrived. Start it with the `push_receiver` fixture (tests/push_fixtures.py).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

HANG_SECONDS = 30  # longer than any client timeout in the tests
MAX_BODY_BYTES = 4096  # RFC 8030 §7.2: services must accept 4096 bytes, may refuse more (413)
TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Delivery:
    subscription_id: str
    payload: dict
    headers: dict  # TTL, Urgency, Topic as sent (those present)
    status_returned: int
    claims: dict = field(default_factory=dict)  # the verified VAPID JWT claims


class Rejected(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


class _Subscription:
    def __init__(self, behaviour, server_key: str | None):
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = secrets.token_bytes(16)
        self.behaviours = list(behaviour) if isinstance(behaviour, list) else [behaviour]
        self.server_key = server_key  # when set, only this applicationServerKey may push

    def next_behaviour(self):
        """Consume the list in order; the last one repeats."""
        return self.behaviours.pop(0) if len(self.behaviours) > 1 else self.behaviours[0]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real push service
    timeout = 30

    def do_POST(self):
        receiver: PushReceiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, extra = receiver.receive(self.path.rpartition("/")[2], self.headers, body)
        if status is None:  # stopped while hanging: the client is long gone
            self.close_connection = True
            return
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):  # keep test output quiet
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default listen backlog is 5: four workers opening their pools at once
    # overflow it, and the kernel then drops their handshakes for seconds at a time.
    request_queue_size = 128

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):  # a client hanging up is not news
            super().handle_error(request, client_address)


class PushReceiver:
    def __init__(self):
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._subs: dict[str, _Subscription] = {}
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self.deliveries: list[Delivery] = []
        self.rejections: list[Rejected] = []
        self.attempts: Counter[str] = Counter()
        # A short poll interval: shutdown() waits for it, once per test.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    def start(self) -> PushReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes "hang" handlers
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def new_subscription(self, behaviour=201, *, server_key: str | None = None) -> dict:
        """A dict exactly like a browser's PushSubscription.toJSON()."""
        sub_id = secrets.token_urlsafe(12)
        sub = _Subscription(behaviour, server_key)
        with self._lock:
            self._subs[sub_id] = sub
        public = sub.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": f"{self.origin}/push/{sub_id}", "keys": {"p256dh": b64url(public), "auth": b64url(sub.auth)}}

    def deliveries_for(self, sub) -> list[Delivery]:
        sub_id = (sub["endpoint"] if isinstance(sub, dict) else getattr(sub, "endpoint", sub)).rpartition("/")[2]
        with self._lock:
            return [d for d in self.deliveries if d.subscription_id == sub_id]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        """Wait until `count` deliveries have arrived; AssertionError on timeout."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.deliveries) >= count, timeout):
                raise AssertionError(f"{len(self.deliveries)} of {count} deliveries; rejections: {self.rejections}")
            return list(self.deliveries)

    def receive(self, sub_id: str, headers, body: bytes) -> tuple[int | None, dict]:
        with self._lock:
            self.attempts[sub_id] += 1
            sub = self._subs.get(sub_id)
        if sub is None:
            return 404, {}
        try:
            claims = self._verify_vapid(sub, headers.get("Authorization", ""))
            payload, sent = self._open(sub, headers, body)
        except Rejected as rejected:
            with self._lock:
                self.rejections.append(rejected)
            return rejected.status, {}
        behaviour = sub.next_behaviour()
        if behaviour == "hang":
            if self._stopping.wait(HANG_SECONDS):
                return None, {}
            behaviour = 201
        status, extra = behaviour if isinstance(behaviour, tuple) else (behaviour, {})
        with self._lock:
            self.deliveries.append(Delivery(sub_id, payload, sent, status, claims))
            self._lock.notify_all()
        return status, {**extra, **({"Location": f"/message/{secrets.token_urlsafe(8)}"} if status == 201 else {})}

    def _verify_vapid(self, sub: _Subscription, authorization: str) -> dict:
        scheme, _, params = authorization.partition(" ")
        parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        if scheme.lower() != "vapid" or not parts.get("t") or not parts.get("k"):
            raise Rejected(401, f"Authorization is not 'vapid t=…,k=…': {authorization[:40]!r}")
        try:
            key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(parts["k"]))
        except ValueError as exc:
            raise Rejected(401, "k is not a P-256 public key") from exc
        if sub.server_key and parts["k"].rstrip("=") != sub.server_key.rstrip("="):
            raise Rejected(403, "k is not the applicationServerKey this subscription was made with")
        try:
            claims = jwt.decode(parts["t"], key=key, algorithms=["ES256"], audience=self.origin,
                                options={"require": ["aud", "exp", "sub"]})
        except jwt.InvalidTokenError as exc:
            raise Rejected(401, f"JWT refused: {type(exc).__name__}: {exc}") from exc
        if claims["exp"] > time.time() + 24 * 3600:
            raise Rejected(401, "exp is more than 24 hours away")
        if not str(claims["sub"]).startswith(("mailto:", "https:")):
            raise Rejected(401, "sub is neither mailto: nor https:")
        return claims

    def _open(self, sub: _Subscription, headers, body: bytes) -> tuple[dict, dict]:
        sent = self.check_headers(headers, body)
        try:
            plaintext = http_ece.decrypt(body, private_key=sub.private_key, auth_secret=sub.auth, version="aes128gcm")
            payload = json.loads(plaintext)
        except Exception as exc:  # any failure to open the message is the sender's fault
            raise Rejected(400, f"cannot decrypt or parse: {type(exc).__name__}") from exc
        return payload, sent

    @staticmethod
    def check_headers(headers, body: bytes) -> dict:
        """RFC 8030/8291 header and size checks; returns the TTL/Urgency/Topic sent."""
        if headers.get("Content-Encoding") != "aes128gcm":
            raise Rejected(400, f"Content-Encoding is {headers.get('Content-Encoding')!r}, not aes128gcm")
        if not (headers.get("TTL") or "").isdigit():
            raise Rejected(400, "TTL header missing or not a number")
        if headers.get("Urgency", "normal") not in ("very-low", "low", "normal", "high"):
            raise Rejected(400, f"bad Urgency {headers.get('Urgency')!r}")
        if "Topic" in headers and not TOPIC.match(headers["Topic"]):
            raise Rejected(400, f"bad Topic {headers['Topic']!r}")
        if len(body) > MAX_BODY_BYTES:
            raise Rejected(413, f"body is {len(body)} bytes")
        return {name: headers[name] for name in ("TTL", "Urgency", "Topic") if name in headers}
