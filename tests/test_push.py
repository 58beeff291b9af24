"""Web Push: the RFC 8291 test vector, and eventmate.push against a real local receiver."""

from __future__ import annotations

import time
from email.utils import formatdate

import http_ece
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from push_fixtures import push_receiver_fixture  # noqa: F401
from push_receiver import PushReceiver, b64url, unb64url
from py_vapid.jwt import sign as sign_jwt
from pywebpush import WebPusher

from eventmate.push import (
    MAX_PAYLOAD_BYTES,
    Outcome,
    Pusher,
    Subscription,
    application_server_key,
    is_loopback_endpoint,
    load_private_key,
    origin_of,
    parse_retry_after,
    topic_header,
    validate_subscription,
)

PAYLOAD = {"title": "Ana picked you", "body": "Say hello at the bar", "url": "/e/thursday/people"}


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_b64(key: ec.EllipticCurvePrivateKey) -> str:
    return b64url(key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))


SERVER_KEY = new_key()
SERVER_PEM = pem(SERVER_KEY)


@pytest.fixture
def pusher():
    pusher = Pusher(SERVER_PEM, "mailto:ops@example.org", timeout=2.0)
    yield pusher
    pusher.close()


def send(pusher, sub: dict, payload=PAYLOAD, **kwargs) -> Outcome:
    kwargs = {"topic": "msg-1", "ttl": 3600, **kwargs}
    return pusher.send(validate_subscription(sub), payload, **kwargs)


# --- RFC 8291 Appendix A ------------------------------------------------------------------

RFC8291 = {
    "plaintext": b"When I grow up, I want to be a watermelon",
    "as_private": "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw",
    "as_public": "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8",
    "ua_private": "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
    "ua_public": "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
    "salt": "DGv6ra1nlYgDCS1FRnbzlw",
    "auth": "BTBZMqHH6r4Tts7J_aSIgg",
    "body": "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
}


def scalar_key(b64: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(unb64url(b64), "big"), ec.SECP256R1())


def test_rfc8291_appendix_a_is_reproduced_byte_for_byte():
    sender = scalar_key(RFC8291["as_private"])
    assert public_b64(sender) == RFC8291["as_public"]
    body = http_ece.encrypt(
        RFC8291["plaintext"], salt=unb64url(RFC8291["salt"]), private_key=sender,
        dh=unb64url(RFC8291["ua_public"]), auth_secret=unb64url(RFC8291["auth"]),
        rs=4096, version="aes128gcm",
    )
    assert b64url(body) == RFC8291["body"]
    opened = http_ece.decrypt(body, private_key=scalar_key(RFC8291["ua_private"]),
                              auth_secret=unb64url(RFC8291["auth"]), version="aes128gcm")
    assert opened == RFC8291["plaintext"]


# --- sending to the receiver --------------------------------------------------------------

def test_delivered_payload_and_headers(pusher, push_receiver):
    sub = push_receiver.new_subscription()
    payload = {**PAYLOAD, "body": "Zoë says ☕ at 9?", "tag": "pick"}
    outcome = send(pusher, sub, payload, topic="msg-1", ttl=3600, urgency="high")
    assert outcome.kind == "delivered" and outcome.http_status == 201, outcome
    [delivery] = push_receiver.wait_for(1)
    assert delivery.payload == payload
    assert delivery.headers == {"TTL": "3600", "Urgency": "high", "Topic": "msg-1"}
    assert delivery.status_returned == 201
    assert push_receiver.deliveries_for(sub) == [delivery]
    assert push_receiver.rejections == []


def test_vapid_aud_carries_the_port(pusher, push_receiver):
    sub = push_receiver.new_subscription()
    assert send(pusher, sub).kind == "delivered"
    [delivery] = push_receiver.deliveries
    port = push_receiver.origin.rsplit(":", 1)[1]
    assert delivery.claims["aud"] == f"http://127.0.0.1:{port}"
    assert delivery.claims["sub"] == "mailto:ops@example.org"
    assert time.time() + 11 * 3600 < delivery.claims["exp"] <= time.time() + 12 * 3600 + 5


def test_each_origin_gets_its_own_claims(pusher, push_receiver):
    with PushReceiver() as other:
        first, second = push_receiver.new_subscription(), other.new_subscription()
        for _ in range(2):  # the second round reuses the cached headers
            assert send(pusher, first).kind == "delivered"
            assert send(pusher, second).kind == "delivered"
        assert [d.claims["aud"] for d in other.deliveries] == [other.origin] * 2
        assert other.rejections == []
    assert [d.claims["aud"] for d in push_receiver.deliveries] == [push_receiver.origin] * 2
    assert pusher.authorization(first["endpoint"]) != pusher.authorization(second["endpoint"])


def test_authorization_is_cached_per_origin(pusher, push_receiver):
    endpoint = push_receiver.new_subscription()["endpoint"]
    assert pusher.authorization(endpoint) is pusher.authorization(endpoint + "/other")


@pytest.mark.parametrize(("behaviour", "kind", "status", "retry_after"), [
    (200, "delivered", 200, None),
    (202, "delivered", 202, None),
    (404, "gone", 404, None),
    (410, "gone", 410, None),
    (413, "rejected", 413, None),
    ((429, {"Retry-After": "7"}), "retry", 429, 7.0),
    (503, "retry", 503, None),
    ((503, {"Retry-After": "120"}), "retry", 503, 120.0),
    (500, "retry", 500, None),
    (400, "rejected", 400, None),
    (401, "rejected", 401, None),
    (403, "rejected", 403, None),
])
def test_status_classification(pusher, push_receiver, behaviour, kind, status, retry_after):
    outcome = send(pusher, push_receiver.new_subscription(behaviour))
    assert (outcome.kind, outcome.http_status, outcome.retry_after) == (kind, status, retry_after)
    assert str(status) in outcome.detail


def test_behaviour_list_is_consumed_then_the_last_repeats(pusher, push_receiver):
    sub = push_receiver.new_subscription([503, 201])
    assert [send(pusher, sub).kind for _ in range(3)] == ["retry", "delivered", "delivered"]
    assert push_receiver.attempts[sub["endpoint"].rpartition("/")[2]] == 3


def test_a_redirect_is_not_followed(pusher, push_receiver):
    sub = push_receiver.new_subscription((301, {"Location": "/elsewhere"}))
    outcome = send(pusher, sub)
    assert (outcome.kind, outcome.http_status) == ("rejected", 301)
    assert sum(push_receiver.attempts.values()) == 1


def test_retry_after_as_http_date():
    later = formatdate(time.time() + 60, usegmt=True)
    assert 55 <= parse_retry_after(later) <= 60
    assert parse_retry_after(formatdate(time.time() - 60, usegmt=True)) == 0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_a_hung_service_does_not_hang_the_caller(push_receiver):
    pusher = Pusher(SERVER_PEM, "mailto:ops@example.org", timeout=0.5)
    try:
        started = time.monotonic()
        outcome = send(pusher, push_receiver.new_subscription("hang"))
    finally:
        pusher.close()
    assert outcome.kind == "retry" and outcome.http_status is None, outcome
    assert time.monotonic() - started < 5


def test_an_unreachable_service_is_a_retry(pusher):
    with PushReceiver() as gone:
        sub = gone.new_subscription()
    outcome = send(pusher, sub)  # the port is closed now
    assert (outcome.kind, outcome.http_status) == ("retry", None)


def test_a_payload_over_3_kb_is_refused_before_sending(pusher, push_receiver):
    sub = push_receiver.new_subscription()
    with pytest.raises(ValueError, match="limit"):
        send(pusher, sub, {**PAYLOAD, "body": "x" * MAX_PAYLOAD_BYTES})
    with pytest.raises(ValueError, match="lacks url"):
        send(pusher, sub, {"title": "t", "body": "b"})
    with pytest.raises(ValueError):
        send(pusher, sub, urgency="urgent")
    with pytest.raises(ValueError):
        send(pusher, sub, ttl=-1)
    assert push_receiver.attempts == {} and push_receiver.deliveries == []


def test_topic_is_kept_when_valid_and_derived_otherwise():
    assert topic_header("msg-42_A") == "msg-42_A"
    derived = topic_header("message 42 for attendee 7 / pick")
    assert len(derived) == 32 and derived == topic_header("message 42 for attendee 7 / pick")
    assert topic_header("a" * 33) != topic_header("a" * 34)


def test_derived_topic_reaches_the_receiver(pusher, push_receiver):
    sub = push_receiver.new_subscription()
    assert send(pusher, sub, topic="event 3: Ana → you").kind == "delivered"
    assert push_receiver.deliveries[0].headers["Topic"] == topic_header("event 3: Ana → you")


# --- the receiver's checks are real -------------------------------------------------------

def raw_post(receiver, sub: dict, *, signer, k_key, aud=None, exp=None) -> requests.Response:
    """POST a correctly encrypted message with a hand-made VAPID header."""
    claims = {"aud": aud or receiver.origin, "exp": exp or int(time.time()) + 3600, "sub": "mailto:a@example.org"}
    authorization = f"vapid t={sign_jwt(claims, signer)},k={public_b64(k_key)}"
    body = WebPusher(sub).encode(b'{"title":"t","body":"b","url":"/"}')["body"]
    headers = {"Authorization": authorization, "Content-Encoding": "aes128gcm", "TTL": "60"}
    return requests.post(sub["endpoint"], data=body, headers=headers, timeout=5)


def test_receiver_accepts_a_correct_hand_made_request(push_receiver):
    sub = push_receiver.new_subscription()
    assert raw_post(push_receiver, sub, signer=SERVER_KEY, k_key=SERVER_KEY).status_code == 201


def test_a_jwt_signed_by_another_key_is_rejected(push_receiver):
    sub = push_receiver.new_subscription()
    response = raw_post(push_receiver, sub, signer=new_key(), k_key=SERVER_KEY)
    assert response.status_code == 401
    assert "InvalidSignature" in push_receiver.rejections[0].reason
    assert push_receiver.deliveries == []


@pytest.mark.parametrize("aud", ["http://127.0.0.1", "http://localhost:{port}", "https://127.0.0.1:{port}"])
def test_a_wrong_aud_is_rejected(push_receiver, aud):
    sub = push_receiver.new_subscription()
    port = push_receiver.origin.rsplit(":", 1)[1]
    response = raw_post(push_receiver, sub, signer=SERVER_KEY, k_key=SERVER_KEY, aud=aud.format(port=port))
    assert response.status_code == 401
    assert "InvalidAudience" in push_receiver.rejections[0].reason


def test_expired_or_too_distant_exp_is_rejected(push_receiver):
    sub = push_receiver.new_subscription()
    for exp in (int(time.time()) - 10, int(time.time()) + 25 * 3600):
        assert raw_post(push_receiver, sub, signer=SERVER_KEY, k_key=SERVER_KEY, exp=exp).status_code == 401
    assert len(push_receiver.rejections) == 2


def test_a_subscription_bound_to_another_server_key_answers_403(push_receiver):
    sub = push_receiver.new_subscription(server_key=application_server_key(pem(new_key())))
    pusher = Pusher(SERVER_PEM, "mailto:ops@example.org", timeout=2.0)
    try:
        outcome = send(pusher, sub)
    finally:
        pusher.close()
    assert (outcome.kind, outcome.http_status) == ("rejected", 403)


def test_a_subscription_bound_to_our_key_is_delivered(pusher, push_receiver):
    sub = push_receiver.new_subscription(server_key=application_server_key(SERVER_PEM))
    assert send(pusher, sub).kind == "delivered"


def test_unknown_subscription_is_gone(pusher, push_receiver):
    sub = push_receiver.new_subscription()
    sub["endpoint"] = sub["endpoint"].rsplit("/", 1)[0] + "/no-such-id"
    assert send(pusher, sub).kind == "gone"


# --- keys and subscriptions ---------------------------------------------------------------

def test_application_server_key_round_trips_pem_and_raw():
    public = application_server_key(SERVER_PEM)
    assert "=" not in public and len(unb64url(public)) == 65 and unb64url(public)[0] == 4
    assert public == public_b64(SERVER_KEY)
    raw = b64url(SERVER_KEY.private_numbers().private_value.to_bytes(32, "big"))
    assert application_server_key(raw) == public
    for value in (SERVER_PEM, raw):
        vapid = load_private_key(value)
        assert vapid.private_key.private_numbers() == SERVER_KEY.private_numbers()


@pytest.mark.parametrize("value", ["", "not a key!", b64url(b"\x01" * 31),
                                   "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"])
def test_load_private_key_refuses_junk(value):
    with pytest.raises(ValueError):
        load_private_key(value)


def test_pusher_requires_a_vapid_subject():
    with pytest.raises(ValueError, match="subject"):
        Pusher(SERVER_PEM, "ops@example.org")


def test_validate_subscription_accepts_a_browser_subscription(push_receiver):
    data = push_receiver.new_subscription()
    assert validate_subscription(data) == Subscription(data["endpoint"], data["keys"]["p256dh"], data["keys"]["auth"])
    for endpoint in ("https://fcm.googleapis.com/fcm/send/abc:def", "http://localhost:8080/p/1",
                     "http://[::1]:9000/p/1"):
        assert validate_subscription({**data, "endpoint": endpoint}).endpoint == endpoint


def _with(data: dict, **keys) -> dict:
    return {**data, "keys": {**data["keys"], **keys}}


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: "not a dict", "JSON object"),
    (lambda d: {"endpoint": d["endpoint"]}, "no keys"),
    (lambda d: {k: v for k, v in d.items() if k != "endpoint"}, "no endpoint"),
    (lambda d: _with(d, auth=None), "both"),
    (lambda d: _with(d, p256dh="!!not base64!!"), "p256dh key is not base64url"),
    (lambda d: _with(d, p256dh=b64url(b"\x04" + b"\x01" * 31)), "65-byte"),
    (lambda d: _with(d, p256dh=b64url(b"\x04" + b"\x00" * 64)), "curve"),
    (lambda d: _with(d, auth="a+b/"), "auth secret is not base64url"),
    (lambda d: _with(d, auth=b64url(b"\x01" * 15)), "16 bytes"),
    (lambda d: {**d, "endpoint": "http://push.example.com/p/1"}, "https"),
    (lambda d: {**d, "endpoint": "ftp://127.0.0.1/p/1"}, "https"),
    (lambda d: {**d, "endpoint": "https://push.example.com/" + "a" * 1000}, "1000"),
    (lambda d: {**d, "endpoint": "https:///nohost"}, "host"),
])
def test_validate_subscription_rejects_malformed(push_receiver, change, message):
    with pytest.raises(ValueError, match=message):
        validate_subscription(change(push_receiver.new_subscription()))


def test_origin_of_keeps_only_non_default_ports():
    assert origin_of("https://push.example:8443/x/y") == "https://push.example:8443"
    assert origin_of("https://push.example:443/x") == "https://push.example"
    assert origin_of("http://[::1]:9000/p") == "http://[::1]:9000"


def test_is_loopback_endpoint():
    assert is_loopback_endpoint("http://127.0.0.1:5000/push/1") and is_loopback_endpoint("http://[::1]:80/p")
    assert is_loopback_endpoint("http://localhost/p") and is_loopback_endpoint("https://127.0.0.2/p")
    assert not is_loopback_endpoint("https://fcm.googleapis.com/fcm/send/x")
