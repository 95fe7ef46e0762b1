"""A real OpenID Connect provider for tests, built on Authlib's server side (Flask integration).

Run as its own process (``python -m tests.support.oidc_provider --port … --redirect-uri …``) or through
:func:`running_provider`. It serves discovery, JWKS, an authorize endpoint with a login form, token
(authorization code with PKCE S256, client_secret_basic/post), userinfo and end_session, and a
provider session cookie (a second sign-in skips the form until logout).

Test-only controls (never in a real provider): ``POST /_test/rotate`` replaces the signing key (the old
one leaves the JWKS), ``POST /_test/misbehave`` with ``mode`` makes the next ID token expired,
future-dated, for another audience or issuer, with a wrong nonce, tampered, or signed by a key the
JWKS does not list.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape
from typing import IO, Any
from urllib.parse import urlencode

import httpx
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, Response, g, jsonify, redirect, request, session
from joserfc.jwk import RSAKey

from tests.support.paths import REPO_ROOT
from tests.support.ports import free_port

CLIENT_ID = "jikji-test"
CLIENT_SECRET = "jikji-test-secret"  # a throwaway test client, not a real secret


@dataclass(frozen=True)
class TestUser:
    """A person the provider knows; ``groups`` None means the token carries no groups claim at all."""

    sub: str
    username: str
    password: str
    name: str
    email: str
    groups: list[str] | None
    roles: list[str] = field(default_factory=list)


USERS: dict[str, TestUser] = {
    u.username: u
    for u in (
        TestUser(
            "sub-kim-0001", "kim", "kim-password-1", "김재무", "kim@example.co.kr", ["finance", "all-staff"]
        ),
        TestUser("sub-lee-0002", "lee", "lee-password-2", "이무소속", "lee@example.co.kr", None),
        TestUser("sub-park-0003", "park", "park-password-3", "박관리", "park@example.co.kr", ["it-admins"]),
    )
}


class Client:
    """The one registered relying party (confidential, code flow, PKCE)."""

    def __init__(self, redirect_uris: list[str], post_logout_uris: list[str]) -> None:
        self.client_id = CLIENT_ID
        self.redirect_uris = redirect_uris
        self.post_logout_uris = post_logout_uris

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in {"openid", "profile", "email", "groups"})

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, CLIENT_SECRET)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in {"client_secret_basic", "client_secret_post"}

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class AuthCode:
    """An issued authorization code."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str
    username: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class ProviderState:
    """Keys, codes, tokens and the pending misbehaviour, shared by the request threads."""

    def __init__(self, issuer: str, client: Client) -> None:
        self.issuer = issuer
        self.client = client
        self.lock = threading.Lock()
        self.keys: list[RSAKey] = [self._new_key()]
        self.codes: dict[str, AuthCode] = {}
        self.tokens: dict[str, tuple[str, str]] = {}  # access token -> (username, scope)
        self.misbehave: str | None = None

    @staticmethod
    def _new_key() -> RSAKey:
        return RSAKey.generate_key(
            2048, parameters={"kid": secrets.token_hex(8), "use": "sig", "alg": "RS256"}
        )

    def signing_key(self) -> RSAKey:
        with self.lock:
            return self.keys[-1]

    def rotate(self) -> str:
        with self.lock:
            self.keys = [self._new_key()]
            return str(self.keys[-1].kid)

    def take_misbehaviour(self) -> str | None:
        with self.lock:
            mode, self.misbehave = self.misbehave, None
            return mode


def _user_info(user: TestUser, scope: str) -> UserInfo:
    info = UserInfo(sub=user.sub, name=user.name, preferred_username=user.username)
    if "email" in scope:
        info["email"] = user.email
    if user.groups is not None:
        info["groups"] = list(user.groups)
    if user.roles:
        info["roles"] = list(user.roles)
    return info


def _tamper(token: str) -> str:
    """Change one claim of a signed token, keeping its signature (which then no longer matches)."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["groups"] = ["finance", "it-admins", "everything"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def build_app(state: ProviderState) -> Flask:
    """The provider as a Flask app."""
    app = Flask("jikji-test-oidc")
    app.secret_key = secrets.token_hex(16)
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": 600}

    class OpenIdExtension(OpenIDCode):
        def resolve_client_private_key(self, client: Client) -> RSAKey:
            return g.id_token_key

        def get_encode_header(self, client: Client) -> dict[str, str]:
            g.id_token_mode = state.take_misbehaviour()
            g.id_token_key = (
                ProviderState._new_key() if g.id_token_mode == "unknown_key" else state.signing_key()
            )
            return {"alg": "RS256", "kid": str(g.id_token_key.kid)}

        def get_client_claims(self, client: Client) -> dict[str, Any]:
            now = int(time.time())
            claims: dict[str, Any] = {"iss": state.issuer, "aud": [client.get_client_id()]}
            claims |= {"iat": now, "exp": now + 300, "auth_time": now}
            mode = g.id_token_mode
            if mode == "expired":
                claims |= {"iat": now - 7200, "exp": now - 3600}
            elif mode == "future":
                claims |= {"iat": now + 3600, "exp": now + 7200}
            elif mode == "wrong_audience":
                claims["aud"] = ["someone-else"]
            elif mode == "wrong_issuer":
                claims["iss"] = "http://evil.example"
            return claims

        def get_authorization_code_claims(self, authorization_code: AuthCode) -> dict[str, Any]:
            claims = super().get_authorization_code_claims(authorization_code)
            if g.id_token_mode == "wrong_nonce":
                claims["nonce"] = "not-the-nonce"
            return claims

        def encode_id_token(self, token: dict[str, Any], request: Any) -> str:
            encoded = str(super().encode_id_token(token, request))
            return _tamper(encoded) if g.id_token_mode == "tampered" else encoded

        def exists_nonce(self, nonce: str, request: Any) -> bool:
            return any(c.nonce == nonce for c in state.codes.values())

        def generate_user_info(self, user: TestUser, scope: str) -> UserInfo:
            return _user_info(user, scope)

    class CodeGrant(grants.AuthorizationCodeGrant):
        def save_authorization_code(self, code: str, request: Any) -> None:
            data = request.payload.data
            state.codes[code] = AuthCode(
                code=code,
                client_id=request.client.get_client_id(),
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                username=request.user.username,
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                auth_time=int(time.time()),
            )

        def query_authorization_code(self, code: str, client: Client) -> AuthCode | None:
            found = state.codes.get(code)
            return found if found and found.client_id == client.get_client_id() else None

        def delete_authorization_code(self, authorization_code: AuthCode) -> None:
            state.codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code: AuthCode) -> TestUser:
            return USERS[authorization_code.username]

    def save_token(token: dict[str, Any], req: Any) -> None:
        state.tokens[token["access_token"]] = (req.user.username, token.get("scope", ""))

    server = AuthorizationServer(
        app, query_client=lambda cid: state.client if cid == CLIENT_ID else None, save_token=save_token
    )
    server.register_grant(CodeGrant, [CodeChallenge(required=True), OpenIdExtension(require_nonce=True)])

    @app.get("/.well-known/openid-configuration")
    def discovery() -> Response:
        base = state.issuer
        return jsonify(
            issuer=base,
            authorization_endpoint=f"{base}/authorize",
            token_endpoint=f"{base}/token",
            userinfo_endpoint=f"{base}/userinfo",
            jwks_uri=f"{base}/jwks",
            end_session_endpoint=f"{base}/logout",
            response_types_supported=["code"],
            subject_types_supported=["public"],
            id_token_signing_alg_values_supported=["RS256"],
            code_challenge_methods_supported=["S256"],
            scopes_supported=["openid", "profile", "email", "groups"],
            token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
        )

    @app.get("/jwks")
    def jwks() -> Response:
        with state.lock:
            return jsonify(keys=[k.as_dict(private=False) for k in state.keys])

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize() -> Any:
        try:
            grant = server.get_consent_grant(end_user=None)
        except OAuth2Error as error:
            return jsonify(error=error.error, description=error.description), 400
        remembered = session.get("user")
        if request.method == "GET" and remembered in USERS and request.args.get("prompt") != "login":
            return server.create_authorization_response(grant_user=USERS[remembered], grant=grant)
        if request.method == "POST":
            user = USERS.get(request.form.get("username", ""))
            if user and secrets.compare_digest(user.password, request.form.get("password", "")):
                session["user"] = user.username
                return server.create_authorization_response(grant_user=user, grant=grant)
        return _login_form(request.method == "POST")

    @app.post("/token")
    def token() -> Any:
        return server.create_token_response()

    @app.get("/userinfo")
    def userinfo() -> Any:
        auth = request.headers.get("Authorization", "")
        found = state.tokens.get(auth.removeprefix("Bearer ").strip())
        if not auth.startswith("Bearer ") or found is None:
            return jsonify(error="invalid_token"), 401
        return jsonify(dict(_user_info(USERS[found[0]], found[1])))

    @app.get("/logout")
    def end_session() -> Any:
        session.pop("user", None)
        target = request.args.get("post_logout_redirect_uri", "")
        if target in state.client.post_logout_uris:
            return redirect(target)
        return "<p>Signed out / 로그아웃되었습니다.</p>"

    @app.post("/_test/rotate")
    def rotate() -> Response:
        return jsonify(kid=state.rotate())

    @app.post("/_test/misbehave")
    def misbehave() -> Response:
        with state.lock:
            state.misbehave = request.form.get("mode") or None
        return jsonify(mode=state.misbehave)

    return app


def _login_form(failed: bool) -> str:
    """The provider's login page; the authorization request travels in the form's action URL."""
    error = '<p id="error">Wrong user name or password</p>' if failed else ""
    return (
        "<!doctype html><html><head><title>Test IdP login</title></head><body>"
        f"<h1>Test IdP</h1>{error}"
        f'<form method="post" action="/authorize?{escape(urlencode(request.args))}">'
        '<label>User <input name="username" id="username"></label>'
        '<label>Password <input name="password" id="password" type="password"></label>'
        '<button type="submit" id="submit">Sign in</button></form></body></html>'
    )


def main(argv: list[str] | None = None) -> None:
    """Serve the provider until killed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redirect-uri", action="append", default=[])
    parser.add_argument("--post-logout-uri", action="append", default=[])
    args = parser.parse_args(argv)
    issuer = f"http://127.0.0.1:{args.port}"
    state = ProviderState(issuer, Client(args.redirect_uri, args.post_logout_uri))
    build_app(state).run(host="127.0.0.1", port=args.port, threaded=True)


@dataclass
class RunningProvider:
    """A provider process the test started."""

    issuer: str

    def rotate_keys(self) -> str:
        """Replace the signing key; the new key id."""
        return str(httpx.post(f"{self.issuer}/_test/rotate").json()["kid"])

    def misbehave(self, mode: str) -> None:
        """Make the next ID token bad in the given way."""
        httpx.post(f"{self.issuer}/_test/misbehave", data={"mode": mode}).raise_for_status()


@contextmanager
def running_provider(
    redirect_uris: list[str], post_logout_uris: tuple[str, ...] = ()
) -> Iterator[RunningProvider]:
    """Start the provider as a separate process on a free port; stop it afterwards."""
    port = free_port()
    command = [sys.executable, "-m", "tests.support.oidc_provider", "--port", str(port)]
    for uri in redirect_uris:
        command += ["--redirect-uri", uri]
    for uri in post_logout_uris:
        command += ["--post-logout-uri", uri]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
        issuer = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(process, issuer, log)
            yield RunningProvider(issuer)
        finally:
            process.terminate()
            process.wait(timeout=20)


def _wait_ready(process: subprocess.Popen[bytes], issuer: str, log: IO[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(
                f"the test OIDC provider exited: {log.read().decode(errors='replace')[-2000:]}"
            )
        try:
            if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the test OIDC provider did not start within 60 s")


if __name__ == "__main__":
    main()
