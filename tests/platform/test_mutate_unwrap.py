"""The mutation run's rewrite of decorated methods keeps what the aggregates do.

``infra/mutate_unwrap.py`` turns ``@event("X") def f`` into ``def f`` and ``f = event("X")(f)`` in
the scratch copy, so that mutmut measures the bodies of the ``@event`` commands. A score measured
on the rewritten copy is only worth something if that copy is the same domain: the same events
with the same attributes, the same commands, and the module's own tests passing on it, both as
rewritten and with mutmut's trampolines in place (no mutant switched on).
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from eventsourcing.domain import Aggregate, CanMutateAggregate

from infra.mutate import MODULES, UNWRAP_DECORATED
from infra.mutate_unwrap import unwrap_source

ROOT = Path(__file__).resolve().parents[2]
DOMAINS = sorted(UNWRAP_DECORATED)


def test_a_decorated_method_is_a_plain_def_followed_by_what_its_decorators_stand_for() -> None:
    source = '''
class Thing:
    # -- a comment above the decorators stays above the def
    @first("A")
    @second
    def change(self, value: int) -> None:
        """Docstring."""
        self.value = value

    @staticmethod
    def pure(x: int) -> int:
        return x

    @classmethod
    def make(cls) -> "Thing":
        return cls()

    @property
    def size(self) -> int:
        return 1

    @size.setter
    def size(self, value: int) -> None:
        pass

    def plain(self) -> None:
        pass


@module_level(
    "B",
)
def top(x: int) -> int:
    return x
'''
    rewritten = unwrap_source(source)
    assert "    # -- a comment above the decorators stays above the def\n    def change(self, value: int)" in rewritten
    assert '        self.value = value\n    change = first("A")(second(change))\n' in rewritten
    assert "    @staticmethod\n    def pure" in rewritten  # mutmut mutates these itself
    assert "    @classmethod\n    def make" in rewritten
    assert "    def size(self) -> int:\n        return 1\n    size = property(size)\n" in rewritten
    assert "    @size.setter\n    def size(self, value: int)" in rewritten  # names itself: left alone
    assert "    def plain(self) -> None:\n        pass\n" in rewritten
    assert 'def top(x: int) -> int:\n    return x\ntop = module_level(\n    "B",\n)(top)\n' in rewritten
    assert unwrap_source(rewritten) == rewritten


def test_the_rewritten_module_behaves_as_the_decorated_one() -> None:
    source = '''
calls = []

def tag(label):
    def apply(func):
        calls.append((label, func.__name__))
        func.label = getattr(func, "label", "") + label
        return func
    return apply

class Thing:
    @tag("outer")
    @tag("inner")
    def change(self):
        return "changed"
'''
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    exec(compile(source, "before", "exec"), before)  # noqa: S102 - the test's own source
    exec(compile(unwrap_source(source), "after", "exec"), after)  # noqa: S102
    assert before["calls"] == after["calls"] == [("inner", "change"), ("outer", "change")]
    assert after["Thing"]().change() == "changed"
    assert after["Thing"].change.label == before["Thing"].change.label == "innerouter"


def _load(name: str, source: str, path: Path) -> ModuleType:
    """Import ``source`` as a module of its own (the eventsourcing topics need it in sys.modules)."""
    spec = importlib.util.spec_from_loader(name, loader=None, origin=str(path))
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__file__ = str(path)
    sys.modules[name] = module
    exec(compile(source, str(path), "exec"), module.__dict__)  # noqa: S102 - the project's own module
    return module


def _shape(module: ModuleType) -> dict[str, Any]:
    """Every aggregate's events (name and attributes) and public commands and readers (parameters)."""
    shape: dict[str, Any] = {}
    for cls_name, cls in vars(module).items():
        if not (isinstance(cls, type) and issubclass(cls, Aggregate) and cls.__module__ == module.__name__):
            continue
        events = {
            name: sorted(inspect.signature(value).parameters)
            for name, value in vars(cls).items()
            if isinstance(value, type) and issubclass(value, CanMutateAggregate)
        }
        members = {}
        for name, value in vars(cls).items():
            if name.startswith("x\u01c1"):  # mutmut's copies of the methods
                continue
            if isinstance(value, property):
                members[name] = ("property", list(inspect.signature(value.fget).parameters) if value.fget else [])
            elif callable(value) and not isinstance(value, type):
                members[name] = (type(value).__name__, list(inspect.signature(value).parameters))
        shape[cls_name] = {"events": events, "members": members}
    return shape


@pytest.fixture(scope="module")
def mutmut_code(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Each rewritten domain module as mutmut runs it: every mutated function behind its
    trampoline (mutmut reads its configuration from the working directory, so it gets one of its
    own). Made once: libcst takes seconds for a module of hundreds of mutants."""
    configuration = pytest.importorskip("mutmut.configuration")
    file_mutation = pytest.importorskip("mutmut.mutation.file_mutation")
    workdir = tmp_path_factory.mktemp("mutmut-config")
    (workdir / "pyproject.toml").write_text('[tool.mutmut]\nsource_paths = ["services"]\n')
    configuration.reset_config()
    try:
        with contextlib.chdir(workdir):
            return {
                module: str(file_mutation.mutate_file_contents(module, unwrap_source((ROOT / module).read_text())).code)
                for module in DOMAINS
            }
    finally:
        configuration.reset_config()


@pytest.mark.parametrize("module", DOMAINS)
def test_the_rewritten_domain_has_the_same_events_and_commands(module: str, mutmut_code: dict[str, str]) -> None:
    path = ROOT / module
    source = path.read_text()
    rewritten = unwrap_source(source)
    assert rewritten != source and "= event(" in rewritten
    stem = module.replace("/", "_").removesuffix(".py")
    try:
        original = _shape(_load(f"_unwrap_check_{stem}_original", source, path))
        assert original, "no aggregate found"
        assert _shape(_load(f"_unwrap_check_{stem}_rewritten", rewritten, path)) == original
        assert _shape(_load(f"_unwrap_check_{stem}_mutmut", mutmut_code[module], path)) == original
    finally:
        for name in [n for n in sys.modules if n.startswith(f"_unwrap_check_{stem}_")]:
            del sys.modules[name]


def test_the_domain_tests_pass_on_the_rewritten_copy_with_mutmut_trampolines(
    tmp_path: Path, mutmut_code: dict[str, str]
) -> None:
    """What mutmut's clean run checks before it measures anything, for all three modules at once."""
    for name in ("shared", "services", "tests"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for module in DOMAINS:
        (tmp_path / module).write_text(mutmut_code[module])
    tests = sorted({t for module in DOMAINS for t in MODULES[module]})
    env = {k: v for k, v in os.environ.items() if k not in ("MUTANT_UNDER_TEST", "PYTHONPATH")}
    env["PYTHONPATH"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow", "-k", "not postgres",
         *tests],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and " failed" not in done.stdout
    # The copy, not the working tree, was imported and its trampolines are in the way: mutmut's
    # own check of that ("fail" makes every trampoline raise) fails the tests.
    env["MUTANT_UNDER_TEST"] = "fail"
    one = MODULES["services/matching/domain.py"][0]
    failing = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", one],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert failing.returncode == 1 and "MutmutProgrammaticFailException" in failing.stdout, failing.stdout[-3000:]
