"""The decision-influence record of a recruitment, built from the verified history
(``recruitments.events`` and ``matching.events``): every person whose input reached the hiring
decision, each input with time, event id and an RFC 9162 inclusion proof against a signed
checkpoint, and flags for what an auditor should look at."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from services.audit.merkle import inclusion_proof_hashes, leaf_hash, verify_inclusion
from services.audit.moments import occurred_by
from services.audit.verify import History, full_envelope
from shared.envelope import Envelope

# What each event contributes, and who the person behind it is.
INPUT_KINDS = {
    "RecruitmentOpened": "recruitment opened",
    "JobDescriptionContributed": "job description contribution",
    "AdvertContributed": "advert contribution",
    "AdvertPublished": "advert published",
    "ParticipationTextContributed": "contribution to how service users take part",
    "ParticipationTextPublished": "how service users take part published",
    "ApplicationAssessed": "application assessment",
    "PanelProposed": "panel proposal",
    "PanelAssigned": "panel assignment",
    "PanelMemberReplaced": "panel member replaced",
    "PanelLearned": "panel learned",
    "ConflictDeclared": "conflict declaration",
    "InterviewScored": "interview score",
    "ScoreAmended": "score amendment",
    "HiringDecisionMade": "hiring decision",
    "OutcomeShared": "outcome shared",
    "RecruitmentClosed": "recruitment closed",
    "ManagerFeedbackGiven": "manager feedback",
    "ParticipantFeedbackGiven": "participant feedback",
    "HireFollowedUp": "hire followed up",
}
# Inputs that must come before the decision to count as having informed it.
PRE_DECISION = frozenset({"JobDescriptionContributed", "AdvertContributed", "ParticipationTextContributed",
                          "ApplicationAssessed", "PanelAssigned",
                          "PanelMemberReplaced", "ConflictDeclared", "InterviewScored", "ScoreAmended"})
SYSTEM_IDS = frozenset({"system", "", "None"})


def _events_of(history: History, recruitment_id: str) -> list[Envelope]:
    found = [full_envelope(e) for e in history.events.get("recruitments", [])
             if e.get("aggregate_id") == recruitment_id]
    found += [e for e in history.full("matching") if (e.get("payload") or {}).get("recruitment_id") == recruitment_id]
    return sorted(found, key=sort_key)


def proof_for(history: History, env: Envelope) -> dict[str, Any] | None:
    """An inclusion proof of the event under the first signed checkpoint that covers it."""
    source = str(env["source"])
    index = history.index_of(source, str(env["event_id"]))
    if index is None:
        return None
    leaves = history.leaf_hashes[source]
    for cp in sorted(history.checkpoints.get(source, []), key=lambda c: int(c["tree_size"])):
        size = int(cp["tree_size"])
        if index < size <= len(leaves):
            path = inclusion_proof_hashes(leaves[:size], index)
            leaf = leaf_hash(bytes.fromhex(str(env["hash"])))
            return {
                "leaf_index": index,
                "tree_size": size,
                "leaf_data": "chain hash (32 bytes)",
                "audit_path": [h.hex() for h in path],
                "checkpoint": cp,
                "verified": verify_inclusion(leaf, index, size, path, bytes.fromhex(cp["root"])),
            }
    return None


def _people_of(env: Envelope) -> list[tuple[dict[str, str], str]]:
    """``(person, how)`` pairs: who gave input through this event."""
    p = env.get("payload") or {}
    t = env["event_type"]
    out: list[tuple[dict[str, str], str]] = []
    actor = env.get("actor") or {}
    if str(actor.get("id")) not in SYSTEM_IDS:
        out.append(({"id": str(actor["id"]), "role": str(actor.get("role"))}, "actor"))
    if t == "ApplicationAssessed" and p.get("assessor"):
        out.append(({"id": str(p["assessor"]["id"]), "role": str(p["assessor"]["role"])}, "assessor"))
    if t in ("InterviewScored", "ScoreAmended") and p.get("member"):
        out.append(({"id": str(p["member"]["id"]), "role": str(p["member"]["role"])}, "panel member"))
    if t == "PanelAssigned":
        out.extend(({"id": str(m), "role": "participant"}, "panel member") for m in p.get("members") or [])
    if t == "PanelMemberReplaced" and p.get("replacement"):
        out.append(({"id": str(p["replacement"]), "role": "participant"}, "panel member (replacement)"))
    if t == "ConflictDeclared" and p.get("member_id"):
        out.append(({"id": str(p["member_id"]), "role": "participant"}, "declared conflict"))
    if t == "ParticipantFeedbackGiven" and p.get("participant_id"):
        out.append(({"id": str(p["participant_id"]), "role": "participant"}, "feedback"))
    return out


def _summary(env: Envelope) -> dict[str, Any]:
    p = dict(env.get("payload") or {})
    p.pop("text", None)
    p.pop("comment", None)  # encrypted free text stays out of the record
    p.pop("personal", None)
    return p


def decision_record(history: History, recruitment_id: str, as_of: datetime | None = None) -> dict[str, Any]:
    """The decision-influence record (JSON-ready) of one recruitment, from the whole verified
    history (the reference: ``delaktig audit decision`` and the tests; the HTTP API answers from
    the read model in ``services/audit/decision_model.py``); ``as_of``: as it stood at that
    moment, from the events that had happened then (what the hiring manager and the panel could
    see when the decision was made)."""
    return record_of(_events_of(history, recruitment_id), recruitment_id, as_of,
                     lambda env: proof_for(history, env))


def sort_key(env: Envelope) -> tuple[str, bool, int]:
    """The order of a record's events: time, matching before recruitments at the same time, position."""
    return str(env.get("occurred_at")), env.get("source") != "matching", int(env.get("position") or 0)


def informs(env: Envelope) -> str | None:
    """The recruitment whose record the event belongs to: a recruitment's own events and
    matching events whose payload names it."""
    if env.get("source") == "recruitments":
        return str(env.get("aggregate_id"))
    if env.get("source") == "matching":
        rid = (env.get("payload") or {}).get("recruitment_id")
        return str(rid) if rid else None
    return None


def record_of(everything: list[Envelope], recruitment_id: str, as_of: datetime | None,
              proof: Callable[[Envelope], dict[str, Any] | None]) -> dict[str, Any]:
    """The record from every event that informs the recruitment (in ``sort_key`` order), with
    ``proof`` giving each input's inclusion proof."""
    events = [e for e in everything if occurred_by(e, as_of)]
    inputs: list[dict[str, Any]] = []
    people: dict[str, dict[str, Any]] = {}
    decisions = [e for e in events if e["event_type"] == "HiringDecisionMade"]
    decided_at = str(decisions[0]["occurred_at"]) if decisions else None
    flags: list[dict[str, Any]] = []
    for env in events:
        if env["event_type"] not in INPUT_KINDS:
            continue
        persons = _people_of(env)
        entry = {
            "kind": INPUT_KINDS[env["event_type"]],
            "event_type": env["event_type"],
            "event_id": env["event_id"],
            "source": env["source"],
            "position": env["position"],
            "time": env["occurred_at"],
            "actor": env.get("actor"),
            "people": [{**person, "as": how} for person, how in persons],
            "details": _summary(env),
            "imported": (env.get("payload") or {}).get("imported"),
            "proof": proof(env),
        }
        inputs.append(entry)
        for person, how in persons:
            key = f"{person['id']}|{person['role']}"
            record = people.setdefault(key, {"id": person["id"], "role": person["role"], "as": [], "events": []})
            if how not in record["as"]:
                record["as"].append(how)
            record["events"].append(env["event_id"])
        if decided_at and env["event_type"] in PRE_DECISION and str(env["occurred_at"]) > decided_at:
            flags.append({"flag": "input_after_decision", "event_id": env["event_id"],
                          "detail": f"{env['event_type']} recorded at {env['occurred_at']}, after the decision "
                                    f"at {decided_at}"})
        if env["event_type"] == "PanelAssigned":
            for override in (env.get("payload") or {}).get("overrides") or []:
                flags.append({"flag": "matching_rule_overridden", "event_id": env["event_id"],
                              "detail": f"{override.get('participant_id')}: rule {override.get('rule')} "
                                        f"overridden, reason: {override.get('reason')}"})
    for decision in decisions:
        against = _against_participants(events, decision)
        if against:
            flags.append({"flag": "decision_against_participants", "event_id": decision["event_id"],
                          "detail": against})
    departments = sorted({str(e["department"]) for e in everything if e.get("department")})
    return {
        "recruitment_id": recruitment_id,
        "as_of": as_of.isoformat() if as_of else None,
        "department": departments[0] if departments else None,
        "imported": any(i["imported"] for i in inputs),
        "decided": bool(decisions),
        "decision": [{"event_id": d["event_id"], "time": d["occurred_at"], "by": d.get("actor"),
                      "candidate_id": d["payload"].get("candidate_id"),
                      "motivation": d["payload"].get("motivation"),
                      "imported": d["payload"].get("imported")} for d in decisions],
        "people": sorted(people.values(), key=lambda p: (p["role"], p["id"])),
        "inputs": inputs,
        "flags": flags,
        "proofs_verified": all(i["proof"] is None or i["proof"]["verified"] for i in inputs),
        "unproven": [i["event_id"] for i in inputs if i["proof"] is None],
    }


def _against_participants(events: list[Envelope], decision: Envelope) -> str | None:
    payload = decision.get("payload") or {}
    candidate = payload.get("candidate_id")
    latest: dict[str, str] = {}
    for env in events:
        if env["event_type"] in ("InterviewScored", "ScoreAmended") and (env["payload"] or {}).get(
                "candidate_id") == candidate:
            member = env["payload"].get("member") or {}
            if member.get("role") == "participant":
                latest[str(member.get("id"))] = str(env["payload"].get("recommendation"))
    counts = Counter(latest.values())
    majority = counts.most_common(1)[0][0] if counts else None
    if payload.get("against_participants") or (majority is not None and majority != "hire"):
        return (f"hired {candidate} although the participants' recommendation was "
                f"{payload.get('participants_recommendation') or majority}")
    return None


def decision_html(record: dict[str, Any]) -> str:
    """A readable, self-contained HTML page of the record."""
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(str(i['time']))}</td><td>{e(i['kind'])}</td>"
        f"<td>{e(', '.join(p['id'] + ' (' + p['role'] + ', ' + p['as'] + ')' for p in i['people']))}</td>"
        f"<td><code>{e(str(i['event_id']))}</code></td>"
        f"<td>{'verified against checkpoint ' + str(i['proof']['tree_size']) if i['proof'] and i['proof']['verified'] else 'no checkpoint yet'}</td></tr>"  # noqa: E501
        for i in record["inputs"]
    )
    people = "".join(f"<li><code>{e(p['id'])}</code> — {e(p['role'])} ({e(', '.join(p['as']))})</li>"
                     for p in record["people"])
    flags = "".join(f"<li><strong>{e(f['flag'])}</strong>: {e(f['detail'])}</li>" for f in record["flags"]) or \
        "<li>none</li>"
    decisions = "".join(f"<p>Decision {e(str(d['time']))} by {e(str((d['by'] or {}).get('id')))}: candidate "
                        f"<code>{e(str(d['candidate_id']))}</code>. Motivation: {e(str(d['motivation']))}</p>"
                        for d in record["decision"]) or "<p>No decision recorded.</p>"
    return (
        "<!doctype html><html lang=\"sv\"><head><meta charset=\"utf-8\">"
        f"<title>Beslutsunderlag {e(record['recruitment_id'])}</title>"
        "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3em;vertical-align:top}</style></head><body>"
        f"<h1>Decision-influence record</h1><p>Recruitment <code>{e(record['recruitment_id'])}</code></p>"
        + (f"<p>As it stood at {e(str(record['as_of']))}.</p>" if record.get("as_of") else "")
        + ("<p>Imported history: dated as it originally happened; each input says who imported it.</p>"
           if record.get("imported") else "")
        + f"{decisions}<h2>Flags</h2><ul>{flags}</ul><h2>People who took part</h2><ul>{people}</ul>"
        "<h2>Inputs</h2><table><tr><th>Time</th><th>Input</th><th>People</th><th>Event</th><th>Proof</th></tr>"
        f"{rows}</table></body></html>"
    )
