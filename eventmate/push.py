"""Web Push: the one door through which EventMate talks to push services.

Standards: the Web Push protocol (RFC 8030), VAPID (RFC 8292) and aes128gcm message
encryption (RFC 8291). The crypto is pywebpush's (with py_vapid and http_ece); this module
only chooses the headers, caches the VAPID signature and turns answers into an `Outcome`.
No Flask here: the dispatcher passes the config values in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
import urllib.request
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from ipaddress import ip_address
from urllib.parse import urlsplit

import urllib3
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid
from py_vapid.jwt import sign as sign_jwt
from pywebpush import WebPusher, WebPushException

#: Push services accept at least 4096 bytes of ciphertext; 3 KB of JSON leaves room for the
#: 86-byte aes128gcm header, the tag and padding.
MAX_PAYLOAD_BYTES = 3072
MAX_ENDPOINT_CHARS = 1000
URGENCIES = ("very-low", "low", "normal", "high")
#: A signed VAPID token says it is valid for 12 h (RFC 8292 allows up to 24 h); we reuse it
#: for 1 h so a clock skew or a long queue never presents an expired token.
VAPID_LIFETIME_SECONDS = 12 * 3600
VAPID_REUSE_SECONDS = 3600
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


@dataclass(frozen=True)
class Subscription:
    """What a browser's PushSubscription gives us: where to post and how to encrypt."""

    endpoint: str
    p256dh: str  # base64url
    auth: str  # base64url


@dataclass(frozen=True)
class Outcome:
    """What became of one push, in the terms the dispatcher acts on."""

    kind: str  # "delivered" | "gone" | "rejected" | "retry"
    http_status: int | None  # None for timeouts/connection errors
    retry_after: float | None  # seconds, from a Retry-After header, else None
    detail: str  # short text for logs


def _b64url_decode(value: str) -> bytes:
    """Strict base64url (padding optional): Python's decoder would skip stray characters."""
    if not isinstance(value, str) or not _B64URL.match(value):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load_private_key(value: str) -> Vapid:
    """Read a VAPID private key given as PEM or as a base64url raw 32-byte P-256 scalar."""
    value = (value or "").strip()
    try:
        if value.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(value.encode(), password=None)
        else:
            raw = _b64url_decode(value)
            if len(raw) == 32:
                key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
            else:  # py_vapid's other form: base64 DER
                key = serialization.load_der_private_key(raw, password=None)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ValueError(f"The VAPID private key is neither PEM nor base64url: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("The VAPID private key must be an EC P-256 key.")
    return Vapid(key)


def _public_key_bytes(vapid: Vapid) -> bytes:
    return vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def application_server_key(private_key: str) -> str:
    """The public key for the page's `pushManager.subscribe` (base64url, no padding)."""
    return _b64url_encode(_public_key_bytes(load_private_key(private_key)))


def validate_subscription(data) -> Subscription:
    """Parse a browser's `PushSubscription.toJSON()` (keys returned unpadded); ValueError says why not."""
    if not isinstance(data, dict):
        raise ValueError("The subscription must be a JSON object.")
    endpoint = data.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise ValueError("The subscription has no endpoint.")
    if len(endpoint) > MAX_ENDPOINT_CHARS:
        raise ValueError(f"The endpoint is longer than {MAX_ENDPOINT_CHARS} characters.")
    if any(ch.isspace() or ord(ch) < 32 for ch in endpoint):
        raise ValueError("The endpoint contains spaces or control characters.")
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise ValueError("The endpoint is not a valid URL.") from exc
    if not host:
        raise ValueError("The endpoint has no host.")
    # Push services are HTTPS; plain http only for this machine, so tests can run a receiver.
    if not (parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(host))):
        raise ValueError("The endpoint must be an https:// address.")
    keys = data.get("keys")
    if not isinstance(keys, dict):
        raise ValueError("The subscription has no keys.")
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not p256dh or not auth:
        raise ValueError("The subscription keys need both p256dh and auth.")
    try:
        point = _b64url_decode(p256dh)
    except ValueError as exc:
        raise ValueError("The p256dh key is not base64url.") from exc
    if len(point) != 65 or point[0] != 4:
        raise ValueError("The p256dh key must be a 65-byte uncompressed P-256 point.")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as exc:
        raise ValueError("The p256dh key is not a point on the P-256 curve.") from exc
    try:
        secret = _b64url_decode(auth)
    except ValueError as exc:
        raise ValueError("The auth secret is not base64url.") from exc
    if len(secret) != 16:
        raise ValueError("The auth secret must be 16 bytes.")
    return Subscription(endpoint=endpoint, p256dh=_b64url_encode(point), auth=_b64url_encode(secret))


def is_loopback_endpoint(endpoint: str) -> bool:
    """True for an endpoint on this machine (only the tests' receiver lives there)."""
    try:
        return _is_loopback(urlsplit(endpoint).hostname or "")
    except ValueError:
        return False


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def origin_of(endpoint: str) -> str:
    """scheme://host[:port], the VAPID `aud`: a non-default port must be kept (RFC 8292 §2)."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    default = {"https": 443, "http": 80}.get(parts.scheme)
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{host}{port}"


def topic_header(topic: str) -> str:
    """A valid RFC 8030 Topic (≤ 32 URL-safe base64 characters): kept, or derived by hashing."""
    if _TOPIC.match(topic):
        return topic
    # Hashing keeps the replace-the-older-message meaning: the same topic gives the same header.
    return _b64url_encode(hashlib.sha256(topic.encode()).digest())[:32]


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # obsolete date formats parse as naive; HTTP-dates are GMT
        return None
    return max(0.0, when.timestamp() - time.time())


def encode_payload(payload: dict) -> bytes:
    """Compact JSON of {title, body, url, ...}; ValueError if malformed or over 3 KB."""
    if not isinstance(payload, dict):
        raise ValueError("The push payload must be a dict.")
    missing = [key for key in ("title", "body", "url") if key not in payload]
    if missing:
        raise ValueError(f"The push payload lacks {', '.join(missing)}.")
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    if len(data) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"The push payload is {len(data)} bytes; the limit is {MAX_PAYLOAD_BYTES}.")
    return data


def classify(status: int, retry_after: str | None, reason: str = "") -> Outcome:
    """Map a push service's HTTP status to what the dispatcher should do (RFC 8030 §5–8)."""
    detail = f"{status} {reason}".strip()
    if 200 <= status < 300:
        return Outcome("delivered", status, None, detail)
    if status in (404, 410):  # the subscription expired or was unsubscribed
        return Outcome("gone", status, None, detail)
    if status in (429, 503):  # the service asks us to slow down and may say until when
        return Outcome("retry", status, parse_retry_after(retry_after), detail)
    if status >= 500:  # the caller backs off exponentially
        return Outcome("retry", status, None, detail)
    # 413 (too large) and other 4xx (400 bad request, 401/403 VAPID) will not improve by retrying.
    return Outcome("rejected", status, None, detail)


class Pusher:
    """One per worker: one pool of kept-alive connections, the VAPID key, headers cached per
    origin. Thread-safe: the dispatcher sends from several threads at once.

    pywebpush encrypts (RFC 8291) and we post the result through urllib3 ourselves: posting
    through requests cost 2.4 ms of CPU per push against 0.6 ms (it scans the environment
    for proxies and looks for ~/.netrc on every request; bench/README.md, "Morning fan-out").
    """

    def __init__(self, private_key: str, subject: str, timeout: float = 10.0, connections: int = 10):
        if not subject.startswith(("mailto:", "https:")):
            raise ValueError("The VAPID subject must be a mailto: or https: URL (RFC 8292 §2.1).")
        self._vapid = load_private_key(private_key)
        self._public_key = _b64url_encode(_public_key_bytes(self._vapid))
        self.subject = subject
        self.timeout = timeout
        self._auth: dict[str, tuple[str, float]] = {}  # origin -> (Authorization, reuse until)
        # As many kept-alive connections per push service as threads sending through them; a
        # proxy from the environment is read once here, not on every push.
        pool_options = {"num_pools": 20, "maxsize": connections, "block": False,
                        "timeout": urllib3.Timeout(connect=timeout, read=timeout), "retries": False}
        self._http = urllib3.PoolManager(**pool_options)
        proxy = urllib.request.getproxies().get("https")
        self._proxied = urllib3.ProxyManager(proxy, **pool_options) if proxy else None

    def authorization(self, endpoint: str) -> str:
        """The `vapid t=…,k=…` header for this endpoint's origin, signed at most once an hour."""
        origin = origin_of(endpoint)
        now = time.time()
        cached = self._auth.get(origin)
        if cached and cached[1] > now:
            return cached[0]
        # A fresh claims dict per signature: a shared one would leak one origin's aud into another.
        claims = {"aud": origin, "exp": int(now) + VAPID_LIFETIME_SECONDS, "sub": self.subject}
        # py_vapid's own sign() refuses IPv6 origins, so we call its JWT signer directly.
        header = f"vapid t={sign_jwt(claims, self._vapid.private_key)},k={self._public_key}"
        self._auth[origin] = (header, now + VAPID_REUSE_SECONDS)
        return header

    def send(
        self, sub: Subscription, payload: dict, *, topic: str, ttl: int, urgency: str = "normal"
    ) -> Outcome:
        """Encrypt and post one message; never raises for what the push service answers."""
        data = encode_payload(payload)
        if urgency not in URGENCIES:
            raise ValueError(f"Urgency must be one of {', '.join(URGENCIES)}.")
        if not isinstance(ttl, int) or ttl < 0:
            raise ValueError("TTL must be a whole number of seconds, 0 or more.")
        headers = {"Authorization": self.authorization(sub.endpoint), "Urgency": urgency}
        if topic:
            headers["Topic"] = topic_header(topic)
        info = {"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}}
        try:
            body = WebPusher(info).encode(data, content_encoding="aes128gcm")["body"]
        except (ValueError, WebPushException) as exc:  # keys that slipped past validation
            return Outcome("rejected", None, None, f"cannot encrypt for this subscription: {exc}")
        headers.update({"TTL": str(ttl), "Content-Encoding": "aes128gcm",
                        "Content-Type": "application/octet-stream"})
        try:
            # The timeout bounds both the connect and each wait for bytes, so a hung service
            # can't hold the worker. A redirected POST may carry the message elsewhere: never
            # follow one.
            response = self._pool_for(sub.endpoint).request(
                "POST", sub.endpoint, body=body, headers=headers, redirect=False, retries=False)
        except urllib3.exceptions.TimeoutError:
            return Outcome("retry", None, None, f"no answer within {self.timeout:g} s")
        except urllib3.exceptions.HTTPError as exc:
            return Outcome("retry", None, None, f"connection failed: {type(exc).__name__}")
        if 300 <= response.status < 400:
            return Outcome("rejected", response.status, None, "push service answered with a redirect")
        return classify(response.status, response.headers.get("Retry-After"), response.reason or "")

    def _pool_for(self, endpoint: str):
        """Through HTTPS_PROXY when one is set (and the host isn't in NO_PROXY), else direct."""
        if self._proxied and endpoint.startswith("https:") and \
                not urllib.request.proxy_bypass(urlsplit(endpoint).hostname or ""):
            return self._proxied
        return self._http

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.clear()
        if self._proxied:
            self._proxied.clear()
