"""Exactly-once commands: the Idempotency-Key is recorded in the same transaction as the events."""

from __future__ import annotations

import threading
from typing import Any

import requests
from flask_smorest import Blueprint

from services.participants.service import Participants
from shared.auth import mint_token
from shared.config import Settings
from shared.web import create_app
from tests.conftest import bearer
from tests.edge.conftest import PERSON, registrations


def test_twelve_concurrent_posts_with_one_key_register_one_person(participants: Participants, serve,
                                                                   token) -> None:
    """Issue 17 finding 3: the check-then-insert race created 3 people out of 12 requests."""
    url = serve(participants.http())
    headers = {**bearer(token()), "Idempotency-Key": "race-1"}
    answers: list[requests.Response] = []
    barrier = threading.Barrier(12)

    def post() -> None:
        with requests.Session() as session:
            barrier.wait()
            answers.append(session.post(f"{url}/participants", json=PERSON, headers=headers, timeout=60))

    threads = [threading.Thread(target=post) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert registrations(participants) == 1
    winners = [a for a in answers if a.status_code == 201]
    assert winners and all(a.status_code in (201, 409) for a in answers), [a.status_code for a in answers]
    assert {a.json()["id"] for a in winners} == {winners[0].json()["id"]}
    assert sum(1 for a in winners if a.headers.get("Idempotent-Replayed") != "true") == 1


def test_retry_replays_the_first_answer_and_another_body_is_refused(participants: Participants, serve, token,
                                                                     http) -> None:
    url = serve(participants.http())
    headers = {**bearer(token()), "Idempotency-Key": "reg-7"}
    first = http.post(f"{url}/participants", json=PERSON, headers=headers)
    again = http.post(f"{url}/participants", json=PERSON, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    other = http.post(f"{url}/participants", json={**PERSON, "name": "Someone Else"}, headers=headers)
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"
    assert registrations(participants) == 1
    # The same key from another caller is another command.
    mine = http.post(f"{url}/participants", json=PERSON, headers={**bearer(token(sub="staff-2")),
                                                                   "Idempotency-Key": "reg-7"})
    assert mine.status_code == 201 and mine.json()["id"] != first.json()["id"]
    assert registrations(participants) == 2


def test_the_key_is_stored_with_the_events_or_not_at_all(participants: Participants, serve, token, http) -> None:
    """A command that fails after its events were saved stores neither events nor key: the retry
    runs anew (the old code committed the events at once and the key only after the answer)."""
    flask_app = participants.http()
    application = participants.app
    original = application.register_participant
    failures = {"left": 1}

    def register_then_fail(*args: Any, **kwargs: Any) -> Any:
        pid = original(*args, **kwargs)
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("the worker failed after saving")
        return pid

    application.register_participant = register_then_fail  # type: ignore[method-assign]
    url = serve(flask_app)
    headers = {**bearer(token()), "Idempotency-Key": "fail-once"}
    failed = http.post(f"{url}/participants", json=PERSON, headers=headers)
    assert failed.status_code == 500
    assert "Nothing was stored" in failed.json()["detail"] and "Idempotency-Key" in failed.json()["detail"]
    assert registrations(participants) == 0
    retried = http.post(f"{url}/participants", json=PERSON, headers=headers)
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
    assert registrations(participants) == 1
    assert http.post(f"{url}/participants", json=PERSON, headers=headers).json() == retried.json()
    assert registrations(participants) == 1


def test_every_write_of_an_event_sourced_service_honours_the_key(participants: Participants, serve, token,
                                                                 http) -> None:
    """Not only the marked POSTs: a PUT or any POST sent with a key is applied once and replayed."""
    url = serve(participants.http())
    coordinator = bearer(token())
    pid = http.post(f"{url}/participants", json=PERSON, headers=coordinator).json()["id"]
    before = participants.app.max_position()
    headers = {**coordinator, "Idempotency-Key": "rectify-1"}
    contact = f"{url}/participants/{pid}/contact-details"
    first = http.put(contact, json={"phone": "+46 70 999 99 99"}, headers=headers)
    again = http.put(contact, json={"phone": "+46 70 999 99 99"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert participants.app.max_position() == before + 1
    other = http.put(contact, json={"phone": "+46 70 111 11 11"}, headers=headers)
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"
    assert participants.app.max_position() == before + 1


def test_a_refused_command_does_not_use_up_its_key(participants: Participants, serve, token, http) -> None:
    """An answer other than 2xx is never recorded: the client fixes the request and sends it again
    with the same key, and it runs (it is neither replayed nor refused as a reused key)."""
    url = serve(participants.http())
    headers = {**bearer(token()), "Idempotency-Key": "fix-and-retry"}
    broken = {k: v for k, v in PERSON.items() if k != "name"}
    for _ in range(2):
        refused = http.post(f"{url}/participants", json=broken, headers=headers)
        assert refused.status_code == 422 and "Idempotent-Replayed" not in refused.headers
    assert registrations(participants) == 0
    fixed = http.post(f"{url}/participants", json=PERSON, headers=headers)
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed.headers
    replayed = http.post(f"{url}/participants", json=PERSON, headers=headers)
    assert replayed.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.headers["Content-Type"].startswith("application/json") and replayed.json() == fixed.json()
    assert registrations(participants) == 1


def test_a_key_names_one_request_on_one_address(participants: Participants, serve, token, http) -> None:
    """The same key and body sent to another address (or with another method) is another request
    under a reused key: refused, and nothing is applied."""
    url = serve(participants.http())
    coordinator = bearer(token())
    pid = http.post(f"{url}/participants", json=PERSON, headers=coordinator).json()["id"]
    before = participants.app.max_position()
    headers = {**coordinator, "Idempotency-Key": "one-address"}
    body = {"phone": "+46 70 999 99 99"}
    assert http.put(f"{url}/participants/{pid}/contact-details", json=body, headers=headers).status_code == 200
    other = http.put(f"{url}/participants/{pid}/contact-details?x=1", json=body, headers=headers)
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"
    assert other.json()["title"] == "Idempotency key reused"
    assert other.json()["detail"] == "this Idempotency-Key was used for another request"
    assert participants.app.max_position() == before + 1


def test_an_unusable_key_is_refused_naming_it_and_nothing_is_stored(participants: Participants, serve, token,
                                                                      http) -> None:
    url = serve(participants.http())
    auth = bearer(token())
    for bad in ("k" * 201, "tab\there"):
        refused = http.post(f"{url}/participants", json=PERSON, headers={**auth, "Idempotency-Key": bad})
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "Idempotency-Key"
        assert refused.json()["detail"] == "Idempotency-Key must be at most 200 printable characters"
        assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert registrations(participants) == 0
    longest = {**auth, "Idempotency-Key": "k" * 200}
    assert http.post(f"{url}/participants", json=PERSON, headers=longest).status_code == 201
    assert http.post(f"{url}/participants", json=PERSON, headers=longest).headers["Idempotent-Replayed"] == "true"
    assert registrations(participants) == 1


def test_a_retry_with_a_fresh_token_of_the_same_person_replays(participants: Participants, serve, settings: Settings,
                                                               http) -> None:
    """The key is the caller's, not the token's: a client whose token was renewed between the
    attempt and its retry gets the first answer again, and nothing is applied twice."""
    url = serve(participants.http())
    first_token = mint_token(settings, sub="staff-renewed", roles=["coordinator"],
                             departments=["socialforvaltningen"], ttl_seconds=3600)
    renewed = mint_token(settings, sub="staff-renewed", roles=["coordinator"],
                         departments=["socialforvaltningen"], ttl_seconds=7200)
    assert renewed != first_token
    first = http.post(f"{url}/participants", json=PERSON,
                      headers={**bearer(first_token), "Idempotency-Key": "renewed-1"})
    again = http.post(f"{url}/participants", json=PERSON, headers={**bearer(renewed), "Idempotency-Key": "renewed-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert registrations(participants) == 1


def test_a_service_without_an_event_store_serves_its_writes_as_usual_with_a_key(sqlite_settings: Settings) -> None:
    """A client library may send an Idempotency-Key on every POST. A service that keeps no event
    store (the dashboards' sign-in, the audit service) has nowhere to record it: it answers the
    write as it always does instead of failing, and nothing is replayed."""
    blp = Blueprint("plain", __name__)
    calls: list[int] = []

    @blp.route("/notes", methods=["POST"])
    @blp.response(201)
    def add_note() -> Any:
        calls.append(1)
        return {"n": len(calls)}

    client = create_app("plain", sqlite_settings, [blp]).test_client()
    headers = {**bearer(mint_token(sqlite_settings, roles=["coordinator"])), "Idempotency-Key": "any-key"}
    answers = [client.post("/notes", json={}, headers=headers) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201], [a.get_data(as_text=True) for a in answers]
    assert [a.get_json() for a in answers] == [{"n": 1}, {"n": 2}]
    assert all("Idempotent-Replayed" not in a.headers for a in answers)
