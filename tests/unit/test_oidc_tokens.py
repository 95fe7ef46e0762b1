"""ID token checks of the OIDC client with locally signed tokens (the provider process is exercised in
tests/integration/test_oidc.py; here the discovery and JWKS caches are filled by hand, no network)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from app.auth.oidc import OidcClient, OidcError, ProviderMetadata
from app.auth.oidc_accounts import claimed_groups
from core.settings import OidcProviderSettings

ISSUER = "https://idp.example"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})


def client(skew: int = 60) -> OidcClient:
    """A client whose caches already hold the provider's metadata and key (so nothing is fetched)."""
    made = OidcClient(
        OidcProviderSettings(name="t", issuer=ISSUER, client_id="jikji", clock_skew_s=skew), cache_s=3600
    )
    made._metadata = ProviderMetadata(ISSUER, f"{ISSUER}/a", f"{ISSUER}/t", f"{ISSUER}/j", None, None)
    made._metadata_at = time.monotonic()
    made._keys = KeySet([KEY])
    made._keys_at = time.monotonic()
    return made


def token(**changes: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "jikji", "sub": "u1", "iat": now, "exp": now + 300, "nonce": "n"}
    claims.update(changes)
    return jwt.encode({"alg": "RS256", "kid": "k1"}, {k: v for k, v in claims.items() if v is not None}, KEY)


def test_a_good_token_gives_its_claims() -> None:
    assert client().validate_id_token(token(), nonce="n")["sub"] == "u1"


def test_clock_skew_is_allowed_within_the_setting() -> None:
    now = int(time.time())
    assert client(skew=60).validate_id_token(token(exp=now - 30), nonce="n")
    with pytest.raises(OidcError, match="expired"):
        client(skew=10).validate_id_token(token(exp=now - 30), nonce="n")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"aud": ["jikji", "other"]}, "authorized party"),
        ({"sub": None}, "no subject"),
        ({"iat": int(time.time()) + 3600}, "future"),
        ({"nonce": None}, "nonce"),
        ({"iss": ISSUER + "/"}, "issuer"),
    ],
)
def test_bad_claims_are_refused(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(OidcError, match=reason):
        client().validate_id_token(token(**changes), nonce="n")


def test_symmetric_and_unsigned_tokens_are_refused() -> None:
    hs = jwt.encode(
        {"alg": "HS256"}, {"iss": ISSUER, "aud": "jikji", "sub": "u1"}, OctKey.import_key("s" * 32)
    )
    with pytest.raises(OidcError, match="algorithm"):
        client().validate_id_token(hs, nonce="n")
    unsigned = f"eyJhbGciOiJub25lIn0.{token().split('.')[1]}."  # {"alg":"none"}, no signature
    with pytest.raises(OidcError, match="algorithm"):
        client().validate_id_token(unsigned, nonce="n")
    with pytest.raises(OidcError, match="malformed"):
        client().validate_id_token("not-a-jwt", nonce="n")


def test_groups_claim_shapes() -> None:
    assert claimed_groups({}, "groups") is None
    assert claimed_groups({"groups": "finance"}, "groups") == ["finance"]
    assert claimed_groups({"groups": ["a", " ", 3]}, "groups") == ["a", "3"]
