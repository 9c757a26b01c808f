"""Who can sign in at the development identity provider.

The people come from ``DEVIDP_PEOPLE`` (a JSON list of ``{sub, name, roles, departments, email,
phone}``) or, by default, from the demo ``make up`` loaded (``DATA_DIR/demo-loaded.json`` holds
the ids, ``infra.demo`` the names), plus the demo's staff. Read on each request, so people the
demo registers after start-up appear without a restart.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.config import Settings


@dataclass(frozen=True)
class Person:
    """A demo identity: the claims the provider vouches for."""

    sub: str
    name: str
    roles: tuple[str, ...]
    departments: tuple[str, ...] = ()
    email: str | None = None
    phone: str | None = None

    def claims(self) -> dict[str, Any]:
        return {"sub": self.sub, "name": self.name, "roles": list(self.roles),
                "departments": list(self.departments), "email": self.email, "phone_number": self.phone}


def demo_email(name: str) -> str:
    """The e-mail address the demo registers for a person (``Förnamn Efternamn`` -> ascii)."""
    first, last = name.split(" ", 1)
    local = f"{first}.{last}".lower().replace(" ", "")
    for a, b in (("å", "a"), ("ä", "a"), ("ö", "o"), ("č", "c")):
        local = local.replace(a, b)
    return f"{local}@example.org"


def normalise(identifier: str) -> str:
    """E-mail lower-cased, phone numbers without spaces or dashes: what the person typed, comparable."""
    text = identifier.strip().lower()
    if "@" in text:
        return text
    return "".join(ch for ch in text if ch.isdigit() or ch == "+")


def _from_demo(settings: Settings) -> list[Person]:
    people: list[Person] = []
    try:
        from infra.demo import DEPARTMENTS, PEOPLE, RECRUITMENTS, SHORT
    except ImportError:  # a deployment without the demo
        return people
    people.append(Person("demo-administrator", "Ada Administratör", ("administrator",)))
    for dep in DEPARTMENTS:
        people.append(Person(f"demo-coordinator-{SHORT[dep]}", f"Samordnare {SHORT[dep]}", ("coordinator",), (dep,)))
    for key, dep, _unit, position, _stage in RECRUITMENTS:
        people.append(Person(f"demo-manager-{key}", f"Chef: {position}", ("hiring_manager",), (dep,)))
    path = Path(settings.data_dir) / "demo-loaded.json"
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return people
    for index, pid in sorted(state.get("participants", {}).items(), key=lambda kv: int(kv[0])):
        if pid == state.get("erased"):
            continue  # the demo erases one person: they cannot sign in any more
        name = PEOPLE[int(index)][0]
        people.append(Person(pid, name, ("participant",), email=demo_email(name),
                             phone=f"070-{int(index):03d} 12 34"))
    return people


def load_people(settings: Settings, environ: dict[str, str] | None = None) -> list[Person]:
    """Everyone who may sign in here, staff first."""
    env = os.environ if environ is None else environ
    path = env.get("DEVIDP_PEOPLE")
    if not path:
        return _from_demo(settings)
    raw = json.loads(Path(path).read_text())
    return [Person(str(p["sub"]), str(p["name"]), tuple(p.get("roles", ("participant",))),
                   tuple(p.get("departments", ())), p.get("email"), p.get("phone")) for p in raw]


def find_by_contact(people: list[Person], identifier: str) -> Person | None:
    """The person whose e-mail or phone is ``identifier`` (compared normalised)."""
    wanted = normalise(identifier)
    if not wanted:
        return None
    for person in people:
        if (person.email and normalise(person.email) == wanted) or (person.phone and normalise(person.phone) == wanted):
            return person
    return None
