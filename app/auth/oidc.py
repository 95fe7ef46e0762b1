"""OpenID Connect relying party: discovery, PKCE, the code exchange and ID token validation.

One :class:`OidcClient` per configured provider lives as long as the API process. It caches the
provider's discovery document and JWKS; a token signed with a key id the cache does not know makes it
fetch the JWKS again (the provider rotated its keys), at most once per :data:`JWKS_REFETCH_GAP_S`.
Signatures are checked with joserfc, the PKCE challenge is Authlib's.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from core.settings import OidcProviderSettings

# Asymmetric algorithms only: HMAC tokens are signed with the client secret, "none" with nothing.
ALLOWED_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
# Unknown key ids refetch the JWKS at most this often (a flood of forged kids must not hammer the provider).
JWKS_REFETCH_GAP_S = 5.0


class OidcError(Exception):
    """A sign-in through the provider failed; ``reason`` is a short code shown to the user."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """The parts of the discovery document Jikji uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> ProviderMetadata:
        """Read a discovery document; the four required endpoints must be there."""
        try:
            return cls(
                issuer=str(doc["issuer"]),
                authorization_endpoint=str(doc["authorization_endpoint"]),
                token_endpoint=str(doc["token_endpoint"]),
                jwks_uri=str(doc["jwks_uri"]),
                userinfo_endpoint=doc.get("userinfo_endpoint"),
                end_session_endpoint=doc.get("end_session_endpoint"),
            )
        except KeyError as exc:
            raise OidcError("discovery_failed", f"missing {exc.args[0]}") from exc


@dataclass(frozen=True, slots=True)
class PkcePair:
    """A PKCE code verifier and its S256 challenge."""

    verifier: str
    challenge: str


def new_pkce() -> PkcePair:
    """A fresh PKCE verifier (64 URL-safe characters) and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    return PkcePair(verifier, create_s256_code_challenge(verifier))


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


class OidcClient:
    """The relying party for one provider (thread-safe; caches discovery and JWKS)."""

    def __init__(self, settings: OidcProviderSettings, *, cache_s: float = 3600.0) -> None:
        self.settings = settings
        self._cache_s = cache_s
        self._lock = threading.Lock()
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = 0.0
        self._kid_refetch_at = -JWKS_REFETCH_GAP_S

    @property
    def name(self) -> str:
        """The provider's short name."""
        return self.settings.name

    def _http(self) -> httpx.Client:
        return httpx.Client(timeout=self.settings.timeout_s, follow_redirects=False)

    def _get_json(self, url: str, reason: str) -> dict[str, Any]:
        try:
            with self._http() as http:
                response = http.get(url, headers={"Accept": "application/json"})
                response.raise_for_status()
                body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(reason, str(exc)[:200]) from exc
        if not isinstance(body, dict):
            raise OidcError(reason, "not a JSON object")
        return body

    def metadata(self) -> ProviderMetadata:
        """The provider's discovery document (cached)."""
        with self._lock:
            if self._metadata is not None and time.monotonic() - self._metadata_at < self._cache_s:
                return self._metadata
        url = self.settings.discovery_url or (
            self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
        )
        metadata = ProviderMetadata.from_document(self._get_json(url, "discovery_failed"))
        if metadata.issuer.rstrip("/") != self.settings.issuer.rstrip("/"):
            raise OidcError("discovery_failed", "the discovered issuer differs from the configured one")
        with self._lock:
            self._metadata, self._metadata_at = metadata, time.monotonic()
        return metadata

    def _fetch_keys(self) -> KeySet:
        try:
            keys = KeySet.import_key_set(self._get_json(self.metadata().jwks_uri, "jwks_failed"))  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError) as exc:
            raise OidcError("jwks_failed", str(exc)[:200]) from exc
        with self._lock:
            self._keys, self._keys_at = keys, time.monotonic()
        return keys

    def _key_set(self, kid: str | None) -> KeySet:
        """The JWKS holding ``kid``: the cached one, refetched when stale or when it lacks the kid (the
        provider rotated its keys); refetches for unknown kids are spaced by :data:`JWKS_REFETCH_GAP_S`."""
        with self._lock:
            keys, fetched_at, retried_at = self._keys, self._keys_at, self._kid_refetch_at
        now = time.monotonic()
        if keys is None or now - fetched_at >= self._cache_s:
            return self._fetch_keys()
        if kid is not None and all(k.kid != kid for k in keys) and now - retried_at >= JWKS_REFETCH_GAP_S:
            with self._lock:
                self._kid_refetch_at = now
            return self._fetch_keys()
        return keys

    def authorization_url(self, *, state: str, nonce: str, pkce: PkcePair, redirect_uri: str) -> str:
        """Where to send the browser to sign in."""
        params = {
            "response_type": "code",
            "client_id": self.settings.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(self.settings.scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
        }
        endpoint = self.metadata().authorization_endpoint
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"

    def exchange_code(self, code: str, *, verifier: str, redirect_uri: str) -> dict[str, Any]:
        """Trade the authorization code for tokens (client_secret_basic when a secret is set)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.settings.client_id,
            "code_verifier": verifier,
        }
        secret = self.settings.client_secret
        try:
            with self._http() as http:
                if secret is None:
                    response = http.post(self.metadata().token_endpoint, data=form)
                else:
                    basic = httpx.BasicAuth(self.settings.client_id, secret.get_secret_value())
                    response = http.post(self.metadata().token_endpoint, data=form, auth=basic)
                body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError("token_failed", str(exc)[:200]) from exc
        if response.status_code != 200 or not isinstance(body, dict) or "id_token" not in body:
            error = body.get("error") if isinstance(body, dict) else None
            raise OidcError("token_failed", f"HTTP {response.status_code} {error or ''}".strip())
        return body

    def validate_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """The ID token's claims once its signature, issuer, audience, times and nonce check out."""
        try:
            header = jws.extract_compact(id_token.encode("ascii")).headers()
        except (JoseError, ValueError, UnicodeError) as exc:
            raise OidcError("invalid_token", "malformed") from exc
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise OidcError("invalid_token", f"algorithm {header.get('alg')!r} not accepted")
        keys = self._key_set(header.get("kid"))
        try:
            token = jwt.decode(id_token, keys, algorithms=list(ALLOWED_ALGORITHMS))
        except JoseError as exc:
            raise OidcError("invalid_token", f"signature: {exc.error}") from exc
        self._check_claims(token.claims, nonce)
        return dict(token.claims)

    def _check_claims(self, claims: Mapping[str, Any], nonce: str) -> None:
        metadata = self.metadata()
        skew = self.settings.clock_skew_s
        now = time.time()
        audiences = _as_list(claims.get("aud"))
        exp, iat, sub, got_nonce = (claims.get(k) for k in ("exp", "iat", "sub", "nonce"))
        checks = (
            (claims.get("iss") == metadata.issuer, "wrong issuer"),
            (self.settings.client_id in audiences, "wrong audience"),
            (len(audiences) <= 1 or claims.get("azp") == self.settings.client_id, "wrong authorized party"),
            (isinstance(sub, str) and bool(sub), "no subject"),
            (isinstance(exp, int | float) and exp > now - skew, "expired"),
            (isinstance(iat, int | float) and iat <= now + skew, "issued in the future"),
            (isinstance(got_nonce, str) and secrets.compare_digest(got_nonce, nonce), "nonce"),
        )
        for ok, what in checks:
            if not ok:
                raise OidcError("invalid_token", what)

    def userinfo(self, access_token: str) -> dict[str, Any]:
        """The userinfo claims (empty when the provider has no userinfo endpoint)."""
        endpoint = self.metadata().userinfo_endpoint
        if not endpoint:
            return {}
        try:
            with self._http() as http:
                response = http.get(endpoint, headers={"Authorization": f"Bearer {access_token}"})
                response.raise_for_status()
                body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError("userinfo_failed", str(exc)[:200]) from exc
        return body if isinstance(body, dict) else {}

    def logout_url(self, *, post_logout_redirect_uri: str, id_token_hint: str | None = None) -> str | None:
        """RP-initiated logout at the provider, where it advertises ``end_session_endpoint``."""
        try:
            endpoint = self.metadata().end_session_endpoint
        except OidcError:
            return None
        if not endpoint:
            return None
        params = {"client_id": self.settings.client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        if id_token_hint:
            params["id_token_hint"] = id_token_hint
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"

    def health(self) -> dict[str, Any]:
        """Whether discovery and the JWKS can be read now (for the admin page)."""
        try:
            self.metadata()
            keys = self._key_set(None)
        except OidcError as exc:
            return {"healthy": False, "detail": exc.reason}
        return {"healthy": True, "detail": f"{len(list(keys))} signing keys"}


class OidcRegistry:
    """The configured providers' clients, by name (one per API process)."""

    def __init__(self, providers: list[OidcProviderSettings], *, cache_s: float = 3600.0) -> None:
        self._clients = {p.name: OidcClient(p, cache_s=cache_s) for p in providers}

    def get(self, name: str) -> OidcClient | None:
        """The client of provider ``name``, if configured."""
        return self._clients.get(name)

    def all(self) -> list[OidcClient]:
        """Every configured client, in configuration order."""
        return list(self._clients.values())

    def by_issuer(self, issuer: str) -> OidcClient | None:
        """The client whose configured issuer is ``issuer``."""
        wanted = issuer.rstrip("/")
        return next((c for c in self._clients.values() if c.settings.issuer.rstrip("/") == wanted), None)
