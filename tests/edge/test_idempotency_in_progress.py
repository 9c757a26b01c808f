"""A command still running under an Idempotency-Key, as a client that retries sees it: a second
request with the same key waits for the first and then answers as it did (the same answer,
marked as replayed, nothing applied twice), or is told the key is taken by another request; one
that waits too long is told the first is still running and when to retry, and applies nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests

import shared.application
from services.participants.service import Participants
from shared.config import Settings
from tests.conftest import bearer
from tests.edge.conftest import PERSON, registrations


def _hold_registrations(service: Participants) -> tuple[threading.Event, threading.Event]:
    """Registrations wait inside the command (the key already claimed) until released."""
    original = service.app.register_participant
    inside, release = threading.Event(), threading.Event()

    def held(*args: Any, **kwargs: Any) -> Any:
        inside.set()
        assert release.wait(60), "the test never released the first request"
        return original(*args, **kwargs)

    service.app.register_participant = held  # type: ignore[method-assign]
    return inside, release


def _post_in_background(url: str, body: dict[str, Any], headers: dict[str, str],
                        answers: dict[str, requests.Response], name: str) -> threading.Thread:
    def post() -> None:
        with requests.Session() as session:
            answers[name] = session.post(f"{url}/participants", json=body, headers=headers, timeout=60)

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    return thread


def test_a_second_request_waits_for_the_first_and_answers_as_it_did(participants: Participants, serve,
                                                                    token: Callable[..., str]) -> None:
    url = serve(participants.http())
    inside, release = _hold_registrations(participants)
    headers = {**bearer(token()), "Idempotency-Key": "still-running"}
    answers: dict[str, requests.Response] = {}
    first = _post_in_background(url, PERSON, headers, answers, "first")
    assert inside.wait(30), "the first request never reached the command"
    retry = _post_in_background(url, PERSON, headers, answers, "retry")
    other = _post_in_background(url, {**PERSON, "name": "Someone Else"}, headers, answers, "other")
    retry.join(0.5)
    other.join(0.1)
    # Neither answers while the first is running: no early "not found", no second registration.
    assert retry.is_alive() and other.is_alive() and not answers
    release.set()
    for thread in (first, retry, other):
        thread.join(60)
        assert not thread.is_alive()

    assert answers["first"].status_code == 201 and "Idempotent-Replayed" not in answers["first"].headers
    assert answers["retry"].status_code == 201 and answers["retry"].headers["Idempotent-Replayed"] == "true"
    assert answers["retry"].json() == answers["first"].json()
    assert answers["retry"].headers["Content-Type"].startswith("application/json")
    refused = answers["other"]
    assert refused.status_code == 422 and "Idempotent-Replayed" not in refused.headers
    assert (refused.json()["title"], refused.json()["field"]) == ("Idempotency key reused", "Idempotency-Key")
    assert registrations(participants) == 1


@pytest.mark.postgres
def test_a_request_that_waits_too_long_is_told_the_first_is_still_running(
        pg_settings: Settings, serve, token: Callable[..., str], monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL waits for the key's row at most the lock timeout (1 s here, 10 s in service); on
    SQLite the whole write waits for the first command instead (the test above)."""
    monkeypatch.setattr(shared.application, "ATOMIC_LOCK_TIMEOUT", 1)
    service = Participants.build(pg_settings)
    try:
        url = serve(service.http())
        inside, release = _hold_registrations(service)
        headers = {**bearer(token()), "Idempotency-Key": "slow-one"}
        answers: dict[str, requests.Response] = {}
        first = _post_in_background(url, PERSON, headers, answers, "first")
        assert inside.wait(30), "the first request never reached the command"
        with requests.Session() as session:
            busy = session.post(f"{url}/participants", json=PERSON, headers=headers, timeout=60)
        assert busy.status_code == 409, busy.text
        assert busy.headers["Retry-After"] == "1"
        assert busy.headers["Content-Type"].startswith("application/problem+json")
        assert busy.json()["title"] == "Request in progress"
        assert busy.json()["detail"] == "a request with this Idempotency-Key is still running; retry shortly"
        assert busy.json()["field"] == "Idempotency-Key"
        release.set()
        first.join(60)
        assert answers["first"].status_code == 201
        with requests.Session() as session:
            later = session.post(f"{url}/participants", json=PERSON, headers=headers, timeout=60)
        assert later.status_code == 201 and later.headers["Idempotent-Replayed"] == "true"
        assert later.json() == answers["first"].json()
        assert registrations(service) == 1
    finally:
        service.close()
