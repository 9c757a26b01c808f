"""The web app people use: server-rendered pages over the services' public HTTP APIs.

It signs people in with OpenID Connect, keeps their access token in the session and calls the
services with it; it owns no data and never reads another service's database.
"""
