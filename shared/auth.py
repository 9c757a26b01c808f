"""Authentication and authorisation: bearer JWTs with asymmetric signatures (ES256/RS256).

Tokens carry ``sub`` (a pseudonymous id), ``roles`` and ``departments``. Services verify them
against configured public keys (``JWT_PUBLIC_KEYS``, PEM files) or a ``JWKS_URL``, so a
municipal identity provider can issue them; ``delaktig token`` mints development tokens with a
local key. Every endpoint declares the roles it accepts with ``@requires``.
"""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from flask import current_app, g, request

from shared.config import Settings
from shared.errors import Forbidden, Unauthorized
from shared.keyfiles import create_once

ROLES = ("participant", "coordinator", "hiring_manager", "auditor", "researcher", "administrator")
STAFF_ROLES = ("coordinator", "hiring_manager", "administrator")
ALGORITHMS = ["ES256", "ES384", "ES512", "RS256", "EdDSA"]
# The one algorithm each kind of key verifies: a token's header never chooses how its key is used.
EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
# A verified token is remembered briefly: a caller sends the same token with every request, and
# checking its signature again each time costs more than the rest of a small request. The cache
# never outlives the token's ``exp`` and is short, so a key withdrawn from the JWKS stops working
# within VERIFIED_TOKEN_TTL seconds.
VERIFIED_TOKEN_TTL = 30.0
VERIFIED_TOKEN_CACHE = 1024

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    """Who is calling: a pseudonymous id, roles and the departments they work for."""

    sub: str
    roles: frozenset[str]
    departments: frozenset[str] = field(default_factory=frozenset)

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def role(self) -> str:
        """The role this principal acts in, for the event's ``actor``."""
        for candidate in ("administrator", "coordinator", "hiring_manager", "auditor", "researcher", "participant"):
            if candidate in self.roles:
                return candidate
        return sorted(self.roles)[0] if self.roles else "unknown"

    def actor(self, role: str | None = None) -> dict[str, str]:
        return {"id": self.sub, "role": role or self.role}

    def can_see_department(self, department: str | None) -> bool:
        return "administrator" in self.roles or (department is not None and department in self.departments)

    def check_department(self, department: str | None) -> None:
        if not self.can_see_department(department):
            raise Forbidden(f"your token does not cover department {department!r}", field="department")


def dev_key_paths(settings: Settings) -> tuple[Path, Path]:
    keys = Path(settings.data_dir) / "keys"
    return (settings.dev_jwt_private_key or keys / "dev-jwt-private.pem", keys / "dev-jwt-public.pem")


def ensure_dev_keys(settings: Settings) -> tuple[Path, Path]:
    """Create the local development signing key pair (P-256) if it does not exist."""
    private, public = dev_key_paths(settings)

    def new_private_key() -> bytes:
        return ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    key = serialization.load_pem_private_key(create_once(private, new_private_key), password=None)
    # Derived from the private key, so whichever process writes it writes the same bytes.
    create_once(public, lambda: key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), mode=0o644)
    return private, public


def mint_token(
    settings: Settings,
    *,
    sub: str | None = None,
    roles: Iterable[str] = ("coordinator",),
    departments: Iterable[str] = (),
    ttl_seconds: int = 8 * 3600,
) -> str:
    """A development token signed with the local key (never use in production)."""
    private, _ = ensure_dev_keys(settings)
    key = serialization.load_pem_private_key(private.read_bytes(), password=None)
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub or f"staff-{uuid.uuid4().hex[:12]}",
        "roles": sorted(set(roles)),
        "departments": sorted(set(departments)),
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, key, algorithm="ES256")  # type: ignore[arg-type]


def pinned_algorithm(key: Any) -> str | None:
    """The algorithm a public key is used with (ES256 for P-256, RS256 for RSA, EdDSA for Ed25519)."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        return EC_ALGORITHMS.get(key.curve.name)
    if isinstance(key, rsa.RSAPublicKey):
        return "RS256"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "EdDSA"
    return None


class TokenVerifier:
    """Verifies bearer tokens against public keys or a JWKS endpoint.

    Each key verifies with its own algorithm only, so RSA and EC keys may be mixed, and a header
    naming another algorithm (``none``, ``HS256`` with a public key as secret, ``RS256`` for an
    EC key) is refused before any key is tried. Every refusal is a 401 whose detail says what is
    wrong with the token in plain words, never the verifying library's message."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._jwks = jwt.PyJWKClient(settings.jwks_url) if settings.jwks_url else None
        paths = [Path(p.strip()) for p in settings.jwt_public_keys]
        if not paths and not self._jwks:
            paths = [ensure_dev_keys(settings)[1]]
        self._keys: list[tuple[str, Any]] = []
        for path in paths:
            key = serialization.load_pem_public_key(path.read_bytes())
            algorithm = pinned_algorithm(key)
            if algorithm is None:
                raise ValueError(f"{path}: unsupported public key type {type(key).__name__}")
            self._keys.append((algorithm, key))
        self._verified: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; ``Unauthorized`` otherwise."""
        now = time.time()
        hit = self._verified.get(token)
        if hit is not None and now < hit[0]:
            return hit[1]
        principal, expires = self._verify(token)
        with self._lock:
            if len(self._verified) >= VERIFIED_TOKEN_CACHE:
                self._verified.clear()  # many distinct callers at once: start over rather than track age
            self._verified[token] = (min(expires, now + VERIFIED_TOKEN_TTL), principal)
        return principal

    def _candidates(self, token: str, algorithm: str) -> list[Any]:
        candidates = [key for pinned, key in self._keys if pinned == algorithm]
        if self._jwks is not None:
            try:
                jwk = self._jwks.get_signing_key_from_jwt(token)
            except Exception:
                raise Unauthorized("invalid token: no key of the identity provider matches it") from None
            if pinned_algorithm(jwk.key) == algorithm:
                candidates.insert(0, jwk.key)
        return candidates

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except Exception:
            raise Unauthorized("invalid token: not a well-formed JWT") from None
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
            raise Unauthorized("invalid token: its signing algorithm is not accepted")
        candidates = self._candidates(token, algorithm)
        if not candidates:
            raise Unauthorized(f"invalid token: no configured key verifies {algorithm}")
        kwargs: dict[str, Any] = {"algorithms": [algorithm],
                                  "options": {"require": ["sub", "exp", "roles", "departments"]}}
        if self.settings.jwt_audience:
            kwargs["audience"] = self.settings.jwt_audience
        if self.settings.jwt_issuer:
            kwargs["issuer"] = self.settings.jwt_issuer
        for key in candidates:
            try:
                claims = jwt.decode(token, key, **kwargs)
                break
            except jwt.InvalidSignatureError:
                continue
            except jwt.ExpiredSignatureError:
                raise Unauthorized("invalid token: it has expired") from None
            except jwt.ImmatureSignatureError:
                raise Unauthorized("invalid token: it is not valid yet") from None
            except (jwt.InvalidAudienceError, jwt.InvalidIssuerError):
                raise Unauthorized("invalid token: it was not issued for this service") from None
            except jwt.MissingRequiredClaimError as error:
                raise Unauthorized(f"invalid token: it has no {error.claim!r} claim") from None
            except Exception:  # any other library or key error: the token is not acceptable
                raise Unauthorized("invalid token: it cannot be verified") from None
        else:
            raise Unauthorized("invalid token: the signature does not verify")
        roles = claims.get("roles")
        departments = claims.get("departments")
        if (not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles)
                or not isinstance(departments, list) or not all(isinstance(d, str) for d in departments)):
            raise Unauthorized("invalid token: roles must be a non-empty list and departments a list")
        sub, expires = claims.get("sub"), claims.get("exp")
        if not isinstance(sub, str) or not sub or not isinstance(expires, int | float):
            raise Unauthorized("invalid token: sub must be a string and exp a number")
        principal = Principal(sub, frozenset(roles), frozenset(departments))
        return principal, float(expires)


def current_principal() -> Principal:
    principal = getattr(g, "principal", None)
    if principal is None:
        raise Unauthorized("no bearer token")
    return principal  # type: ignore[no-any-return]


def authenticate() -> Principal:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Unauthorized("send 'Authorization: Bearer <token>'")
    verifier: TokenVerifier = current_app.extensions["delaktig.verifier"]
    principal = verifier.verify(header[len("Bearer ") :].strip())
    g.principal = principal
    return principal


def check_roles(principal: Principal, roles: tuple[str, ...]) -> None:
    if not principal.has(*roles):
        raise Forbidden(f"this needs one of the roles {', '.join(roles)}")


def authorize_request() -> None:
    """Run before the view and its body parsing: a request without a valid token gets 401
    even when its body is also wrong (checked in ``create_app``'s ``before_request``)."""
    view = current_app.view_functions.get(request.endpoint or "")
    roles = getattr(view, "_delaktig_roles", None)
    if roles:
        check_roles(authenticate(), roles)


def public(view: F) -> F:
    """Declare an endpoint that needs no token (e.g. a login page, a published advert); its
    OpenAPI operation says so (``security: []``, ``x-public: true``)."""
    view._delaktig_public = True  # type: ignore[attr-defined]
    apidoc = dict(getattr(view, "_apidoc", {}))
    apidoc["manual_doc"] = {**apidoc.get("manual_doc", {}), "x-public": True, "security": []}
    view._apidoc = apidoc  # type: ignore[attr-defined]
    return view


def requires(*roles: str) -> Callable[[F], F]:
    """Declare the roles an endpoint accepts; 401 without a valid token, 403 otherwise."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = getattr(g, "principal", None) or authenticate()
            check_roles(principal, roles)
            return view(*args, **kwargs)

        wrapper._delaktig_roles = roles  # type: ignore[attr-defined]
        # Put the roles in the OpenAPI operation too (flask-smorest merges "manual_doc").
        apidoc = dict(getattr(wrapper, "_apidoc", {}))
        manual = dict(apidoc.get("manual_doc", {}))
        manual["x-roles"] = list(roles)
        manual["security"] = [{"bearerAuth": []}]
        manual.setdefault("responses", {})
        manual["responses"] = {**manual["responses"], "401": {"description": "missing or invalid token"},
                               "403": {"description": f"needs one of the roles: {', '.join(roles)}"}}
        apidoc["manual_doc"] = manual
        wrapper._apidoc = apidoc  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator
