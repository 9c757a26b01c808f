"""The rooms of the code (docs/code-layout.md), checked on the import graph: no service imports
another or ``infra/``; read models (``projections.py``) issue no commands, so they do not import
the application; reactions (``reactions.py``) do."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ROOT / "services"


def imports_of(path: Path) -> set[str]:
    """Every module a file imports (also inside functions and ``TYPE_CHECKING`` blocks)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


# Known exceptions, each with why; each one is a debt (invert it as audit's ``compose`` is).
ALLOWED = {
    # The development identity provider (never deployed) lists the demo's people.
    ("services/devidp/people.py", "infra.demo"),
}


def service_modules() -> list[Path]:
    return sorted(p for p in SERVICES.glob("*/*.py"))


def test_services_import_neither_each_other_nor_infra() -> None:
    wrong = []
    for path in service_modules():
        own = path.parent.name
        for module in imports_of(path):
            parts = module.split(".")
            if (str(path.relative_to(ROOT)), module) in ALLOWED:
                continue
            if parts[0] == "infra" or (parts[0] == "services" and len(parts) > 1 and parts[1] != own):
                wrong.append(f"{path.relative_to(ROOT)} imports {module}")
    assert wrong == []


def test_read_models_issue_no_commands() -> None:
    projections = sorted(SERVICES.glob("*/projections.py"))
    assert projections, "no read models found"
    wrong = [f"{p.relative_to(ROOT)} imports {m}" for p in projections for m in imports_of(p)
             if m.endswith(".application")]
    assert wrong == []


def test_reactions_live_in_their_own_room() -> None:
    rooms = {p.parent.name: p for p in SERVICES.glob("*/reactions.py")}
    assert {"participants", "recruitments"} <= set(rooms)
    for service, path in rooms.items():
        assert f"services.{service}.application" in imports_of(path), f"{path} issues no commands"


def test_audit_is_handed_the_system_it_verifies() -> None:
    """``infra/`` composes the services; ``delaktig audit`` receives them (``args.compose``)."""
    from infra.cli import compose_services, parser

    args = parser().parse_args(["audit", "replay"])
    assert args.compose is compose_services
