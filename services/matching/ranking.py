"""Who may sit on a panel, who should, and why: pure functions, no I/O.

Hard filters decide eligibility; a coordinator may override only the soft ones (cooldown,
availability, participation limit) and must give a reason. Ranking is a greedy panel build:
each seat goes to the person who adds most to the panel (wanted experience areas not yet
covered, wanted languages), minus a rotation penalty for recent engagements, so the same
"expert users" are not picked every time. Ties break on fewer engagements, longer wait, then
participant id, so the same read model always gives the same proposal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from shared.contract import cooldown_active

DEFAULT_PANEL_SIZE = 3
MAX_PANEL_SIZE = 3

AREA_NEW = 10  # a wanted area the panel does not cover yet
AREA_DEPTH = 2  # a wanted area someone on the panel already covers
LANGUAGE_NEW = 8  # a wanted language nobody on the panel speaks yet
ROTATION = 10  # per engagement in the last 12 months
ROTATION_DAYS = 365

HARD = "hard"
SOFT = "soft"


@dataclass(frozen=True)
class Limit:
    """A department's participation limit over a rolling period."""

    max_engagements: int = 4
    period_days: int = 365


@dataclass(frozen=True)
class Needs:
    """What a recruitment asks of its panel (from ``RecruitmentOpened``)."""

    recruitment_id: str
    department: str
    unit: str | None = None
    areas: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    interviews_from: str | None = None
    interviews_to: str | None = None
    panel_size: int = DEFAULT_PANEL_SIZE


@dataclass(frozen=True)
class Candidate:
    """What matching knows about one participant: pseudonymous id and matching facts only."""

    participant_id: str
    tags: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    consent_department: bool = False
    consent_matching: bool = False
    confidentiality: bool = False
    training: bool = False
    contact_status: str = "available"
    contact_until: str | None = None
    windows: tuple[tuple[str, str], ...] = ()
    excluded_units: frozenset[str] = frozenset()
    engagements: tuple[tuple[str, str], ...] = ()  # (department, engaged_on ISO date)

    def recent_engagements(self, today: date, days: int = ROTATION_DAYS) -> int:
        if not self.engagements:
            return 0
        since = (today - timedelta(days=days)).isoformat()
        return sum(1 for _, on in self.engagements if on > since)

    def department_engagements(self, department: str, today: date, days: int) -> int:
        since = (today - timedelta(days=days)).isoformat()
        return sum(1 for dep, on in self.engagements if dep == department and on > since)

    @property
    def last_engaged_on(self) -> str | None:
        if not self.engagements:
            return None
        return max((on for _, on in self.engagements), default=None)


@dataclass(frozen=True)
class Exclusion:
    """One rule a person fails, in plain language."""

    rule: str
    severity: str
    reason: str

    @property
    def hard(self) -> bool:
        return self.severity == HARD


@dataclass(frozen=True)
class Pick:
    """One proposed panel member, with the points they added and why."""

    candidate: Candidate
    score: int
    adds_areas: tuple[str, ...]
    explanation: str


@dataclass
class Panel:
    """The result of one proposal run."""

    picks: list[Pick] = field(default_factory=list)
    covered_areas: list[str] = field(default_factory=list)
    empty_reason: str | None = None


# -- hard and soft filters ------------------------------------------------------------------
RULE_ORDER = (
    "consent_department",
    "consent_matching",
    "readiness",
    "contact_status",
    "cooldown",
    "availability",
    "excluded_unit",
    "participation_limit",
)

RULE_LABELS = {
    "consent_department": "consent for the department",
    "consent_matching": "consent to matching",
    "readiness": "confidentiality undertaking and introduction training",
    "contact_status": "contact status",
    "cooldown": "cooldown over",
    "availability": "available on the interview dates",
    "excluded_unit": "not excluded for the unit",
    "participation_limit": "under the participation limit",
}


def covers(windows: Iterable[tuple[str, str]], start: str, end: str) -> bool:
    """Whether the inclusive date windows together cover every day from ``start`` to ``end``."""
    for w_start, w_end in windows:
        if w_start <= start and end <= w_end:
            return True  # ISO dates compare as strings; one window covering it all is the usual case
    reach = date.fromisoformat(start)
    last = date.fromisoformat(end)
    for w_start, w_end in sorted(windows):
        if date.fromisoformat(w_start) > reach:
            break
        reach = max(reach, date.fromisoformat(w_end) + timedelta(days=1))
        if reach > last:
            return True
    return reach > last


def exclusions(candidate: Candidate, needs: Needs, limit: Limit, today: date) -> list[Exclusion]:
    """Every rule this person fails for this recruitment (empty = eligible)."""
    out: list[Exclusion] = []
    dep = needs.department
    if not candidate.consent_department:
        out.append(Exclusion("consent_department", HARD, f"no consent for {dep}"))
    if not candidate.consent_matching:
        out.append(Exclusion("consent_matching", HARD, f"no consent to matching for {dep}"))
    missing = [
        name
        for name, done in (
            ("confidentiality undertaking", candidate.confidentiality),
            ("introduction training", candidate.training),
        )
        if not done
    ]
    if missing:
        out.append(Exclusion("readiness", HARD, "not ready: " + " and ".join(missing) + " missing"))
    status = candidate.contact_status
    if status == "cooldown":
        until = candidate.contact_until
        if cooldown_active(until, today.isoformat()):
            when = f" until {until}" if until else ""
            out.append(Exclusion("cooldown", SOFT, f"in cooldown{when}"))
    elif status != "available":
        out.append(Exclusion("contact_status", HARD, f"contact status is {status.replace('_', ' ')}"))
    if (
        needs.interviews_from
        and needs.interviews_to
        and not covers(candidate.windows, needs.interviews_from, needs.interviews_to)
    ):
        out.append(
            Exclusion("availability", SOFT, f"not available {needs.interviews_from} to {needs.interviews_to}")
        )
    if needs.unit and needs.unit in candidate.excluded_units:
        out.append(Exclusion("excluded_unit", HARD, f"excluded for unit {needs.unit}"))
    used = candidate.department_engagements(dep, today, limit.period_days)
    if used >= limit.max_engagements:
        out.append(
            Exclusion(
                "participation_limit",
                SOFT,
                f"over the participation limit: {used} engagements in {dep} in the last "
                f"{limit.period_days} days (limit {limit.max_engagements})",
            )
        )
    return out


def eligible(candidate: Candidate, needs: Needs, limit: Limit, today: date) -> bool:
    """Whether the person passes every rule; the quick check behind ``not exclusions(...)``."""
    c = candidate
    if not (c.consent_department and c.consent_matching and c.confidentiality and c.training):
        return False
    if c.contact_status != "available" and not (
        c.contact_status == "cooldown" and not cooldown_active(c.contact_until, today.isoformat())
    ):
        return False
    if needs.unit and needs.unit in c.excluded_units:
        return False
    if needs.interviews_from and needs.interviews_to and not covers(c.windows, needs.interviews_from,
                                                                    needs.interviews_to):
        return False
    return not c.engagements or not exclusions(c, needs, limit, today)


def empty_reason(
    candidates: Sequence[Candidate], needs: Needs, limit: Limit, today: date, bank_size: int
) -> str | None:
    """Which constraint emptied the pool, or None if somebody fits."""
    if not candidates:
        return (
            f"nobody fits: none of the {bank_size} participants in the bank has consented "
            f"to {needs.department}"
        )
    failing = {c.participant_id: {e.rule for e in exclusions(c, needs, limit, today)} for c in candidates}
    pool = list(candidates)
    for rule in RULE_ORDER:
        remaining = [c for c in pool if rule not in failing[c.participant_id]]
        if not remaining:
            return (
                f"nobody fits: the last {len(pool)} of {len(candidates)} participants who consented "
                f"to {needs.department} were removed by '{RULE_LABELS[rule]}'"
            )
        pool = remaining
    return None


# -- ranking --------------------------------------------------------------------------------
def marginal(
    candidate: Candidate,
    needs: Needs,
    covered: set[str],
    spoken: set[str],
    recent: int,
    rotation: int = ROTATION,
) -> int:
    """The points this person adds to a panel that already covers ``covered`` and speaks ``spoken``,
    less the rotation penalty for ``recent`` engagements."""
    shared = candidate.tags.intersection(needs.areas)
    points = AREA_NEW * len(shared - covered) + AREA_DEPTH * len(shared & covered)
    if needs.languages:
        points += LANGUAGE_NEW * len(candidate.languages.intersection(needs.languages) - spoken)
    return points - rotation * recent


def build_panel(
    eligible: Sequence[Candidate],
    needs: Needs,
    today: date,
    *,
    size: int | None = None,
    seated: Sequence[Candidate] = (),
    rotation: int = ROTATION,
) -> list[Pick]:
    """Greedily fill ``size`` seats (beside any ``seated`` members) from ``eligible``."""
    seats = min(size or needs.panel_size or DEFAULT_PANEL_SIZE, MAX_PANEL_SIZE)
    covered = {a for c in seated for a in c.tags.intersection(needs.areas)}
    spoken = {lang for c in seated for lang in c.languages.intersection(needs.languages)}
    taken = {c.participant_id for c in seated}
    # Rank once by each person's best possible contribution; each seat then scans only while
    # that bound can still reach the best marginal found (branch and bound keeps 10,000 fast).
    ranked = []
    for c in eligible:
        if c.participant_id in taken:
            continue
        recent = c.recent_engagements(today)
        bound = AREA_NEW * len(c.tags.intersection(needs.areas)) - rotation * recent
        if needs.languages:
            bound += LANGUAGE_NEW * len(c.languages.intersection(needs.languages))
        ranked.append((-bound, recent, c.last_engaged_on or "", c.participant_id, c))
    ranked.sort(key=lambda r: r[:4])
    picks: list[Pick] = []
    for _ in range(seats):
        best: tuple[tuple[int, int, str, str], Candidate] | None = None
        for neg_bound, recent, last, pid, c in ranked:
            if best is not None and -neg_bound < -best[0][0]:
                break
            if pid in taken:
                continue
            key = (-marginal(c, needs, covered, spoken, recent, rotation), recent, last, pid)
            if best is None or key < best[0]:
                best = (key, c)
        if best is None:
            break
        chosen = best[1]
        adds = tuple(sorted(chosen.tags.intersection(needs.areas) - covered))
        picks.append(Pick(chosen, -best[0][0], adds, explain_pick(chosen, needs, adds, spoken, today)))
        covered |= chosen.tags.intersection(needs.areas)
        spoken |= chosen.languages.intersection(needs.languages)
        taken.add(chosen.participant_id)
    return picks


def propose(
    candidates: Sequence[Candidate],
    needs: Needs,
    limit: Limit,
    today: date,
    *,
    bank_size: int,
    size: int | None = None,
    rotation: int = ROTATION,
) -> Panel:
    """Filter, rank and explain: the whole proposal for one recruitment."""
    pool = [c for c in candidates if eligible(c, needs, limit, today)]
    if not pool:
        return Panel(empty_reason=empty_reason(candidates, needs, limit, today, bank_size))
    picks = build_panel(pool, needs, today, size=size, rotation=rotation)
    covered = sorted({a for p in picks for a in p.candidate.tags.intersection(needs.areas)})
    return Panel(picks=picks, covered_areas=covered)


# -- explanations ---------------------------------------------------------------------------
def _list(items: Iterable[str]) -> str:
    values = list(items)
    if len(values) <= 1:
        return "".join(values)
    return ", ".join(values[:-1]) + " and " + values[-1]


def explain_pick(
    candidate: Candidate, needs: Needs, adds: tuple[str, ...], spoken: set[str], today: date
) -> str:
    """Why this person was proposed, in plain language."""
    parts: list[str] = []
    shared = sorted(candidate.tags.intersection(needs.areas))
    if shared:
        text = f"shares experience of {_list(shared)} ({len(shared)} of {len(needs.areas)} wanted areas)"
        if adds:
            text += f" and brings {_list(adds)} to the panel"
        parts.append(text)
    elif needs.areas:
        parts.append("shares none of the wanted experience areas but fills a seat")
    langs = sorted(candidate.languages.intersection(needs.languages))
    if langs:
        new = [lang for lang in langs if lang not in spoken]
        parts.append(f"speaks {_list(langs)}" + (" (wanted, not yet on the panel)" if new else " (wanted)"))
    recent = candidate.recent_engagements(today)
    if recent == 0:
        last = candidate.last_engaged_on
        parts.append(
            "no panel in the last 12 months" + (f" (last on {last})" if last else " (never on a panel)")
        )
    else:
        parts.append(f"{recent} panel(s) in the last 12 months, so ranked lower for rotation")
    parts.append(f"consented to {needs.department} and to matching, ready (confidentiality and training)")
    if needs.interviews_from and needs.interviews_to:
        parts.append(f"available {needs.interviews_from} to {needs.interviews_to}")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def explain_exclusions(found: Sequence[Exclusion]) -> str:
    """``excluded: no consent for arbetsmarknadsforvaltningen; in cooldown until ...``."""
    return "excluded: " + "; ".join(e.reason for e in found)
