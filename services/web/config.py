"""The web app's configuration, from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from shared import oidc
from shared.config import Settings


@dataclass(frozen=True)
class WebConfig:
    """Where the identity provider and the services are, and how sessions behave."""

    oidc_issuer: str
    oidc_client_id: str
    oidc_client_secret: str
    service_urls: dict[str, str]
    secret_key: str
    data_dir: Path
    roles_claim: str = "roles"
    departments_claim: str = "departments"
    scope: str = "openid profile"
    session_minutes: float = 30.0
    proxies: int = 0  # how many reverse proxies (TLS terminators) sit in front: ProxyFix trusts that many
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> WebConfig:
        env = dict(os.environ if environ is None else environ)
        settings = Settings.from_env(env)
        urls = {name: env.get(f"{name.upper()}_URL") or f"http://127.0.0.1:{port}"
                for name, port in settings.ports.items()}
        return cls(
            oidc_issuer=oidc.issuer(env),
            oidc_client_id=env.get("OIDC_CLIENT_ID") or "delaktig-web",
            oidc_client_secret=env.get("OIDC_CLIENT_SECRET") or "development-secret",
            service_urls=urls,
            secret_key=oidc.session_secret(Path(settings.data_dir), env),
            data_dir=Path(settings.data_dir),
            roles_claim=env.get("OIDC_ROLES_CLAIM", "roles"),
            departments_claim=env.get("OIDC_DEPARTMENTS_CLAIM", "departments"),
            scope=env.get("OIDC_SCOPE", "openid profile"),
            session_minutes=float(env.get("WEB_SESSION_MINUTES", "30")),
            proxies=int(env.get("WEB_PROXIES", "0")),
        )
