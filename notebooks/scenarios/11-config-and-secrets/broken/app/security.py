"""Session tokens: a user name and an expiry time, signed with HMAC-SHA256 and the app's secret key.

The login service issues them with the same key; this API only verifies them.
"""

import base64
import hashlib
import hmac
import json
import time


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _mac(payload: str, key: str) -> str:
    return _b64(hmac.new(key.encode(), payload.encode(), hashlib.sha256).digest())


def sign(user: str, key: str, ttl: int = 3600) -> str:
    """A token for ``user``, valid for ``ttl`` seconds."""
    payload = _b64(json.dumps({"user": user, "exp": int(time.time()) + ttl}).encode())
    return f"{payload}.{_mac(payload, key)}"


def verify(token: str, key: str) -> str | None:
    """The token's user name, or None if the token was not signed with ``key`` or has expired."""
    payload, _, signature = token.partition(".")
    if not hmac.compare_digest(signature, _mac(payload, key)):
        return None
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    if claims["exp"] < time.time():
        return None
    return str(claims["user"])
