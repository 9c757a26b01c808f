"""A development OpenID Connect provider, so sign-in runs offline in ``make up`` and the tests.

It is a real OIDC provider (discovery, JWKS, authorization code flow with PKCE, token, userinfo,
end session) with a "choose who you are" page instead of passwords, plus the one-time code
sign-in for service users without e-legitimation (codes go to a local outbox instead of a phone).
Never run it in production: anybody can be anybody here.
"""
