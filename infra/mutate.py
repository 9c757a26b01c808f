"""``make mutate``: mutation testing of the modules that hold the critical rules (mutmut 3).

Each module is mutated on its own, against only the fast tests that exercise it, in a scratch
copy of the project under ``var/mutate/<module>/`` (mutmut writes its ``mutants/`` tree there, so
the working tree is never touched). The run prints the score per module and every surviving
mutant; ``docs/mutation.md`` lists the survivors judged equivalent, and the score is reported
both raw and with those left out.

    python -m infra.mutate                      # every module, 2 children
    python -m infra.mutate shared/relay.py      # one module
    python -m infra.mutate --children 1 --list  # show the module -> tests map

Tests run on SQLite only (``-k "not postgres"``): the rules under test do not depend on the
backend and the PostgreSQL variants would double the run. Where a rule exists only on PostgreSQL
(the relay's gaps in notification ids), the module's list names a test that asks for
``pg_settings`` itself: it is not a ``[postgres]`` variant, so the filter keeps it. Processes the tests start (tansu
brokers) carry a marker in their environment, so a mutant killed on timeout cannot leave its
broker behind: the driver ends exactly those process ids after each module.

mutmut 3 does not mutate decorated functions; for the modules in ``UNWRAP_DECORATED`` the scratch
copy is rewritten first (``infra/mutate_unwrap.py``: ``@dec def f`` becomes ``def f`` and
``f = dec(f)``), so the bodies of the aggregates' ``@event`` commands and properties are measured.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from infra.mutate_unwrap import unwrap_source

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "mutate"
EQUIVALENT_DOC = ROOT / "docs" / "mutation.md"
COPIED = ("shared", "services", "infra", "tests", "pyproject.toml")

# Module -> the fast tests that exercise it (pytest node ids or files, relative to the root).
MODULES: dict[str, list[str]] = {
    "shared/relay.py": [
        "tests/platform/test_relay_ack.py",
        # On PostgreSQL on purpose (its tests use ``pg_settings`` directly, so ``-k "not postgres"``
        # keeps them): the gap rules only run there.
        "tests/platform/test_relay_gaps.py",
        "tests/platform/test_relay_and_consumer.py::test_fresh_broker_gets_the_history_again",
    ],
    "shared/consumer.py": [
        "tests/platform/test_consumer_dedupe.py",
        "tests/platform/test_relay_and_consumer.py::test_fresh_broker_gets_the_history_again",
    ],
    "shared/envelope.py": [
        "tests/platform/test_envelope.py",
        "tests/platform/test_envelope_rules.py",
        "tests/audit/test_verify_fast.py",
        "tests/audit/test_checkpoint_rules.py",
    ],
    "shared/vault.py": [
        "tests/platform/test_vault_rules.py",
        "tests/platform/test_hot_path.py",
        "tests/participants/test_rules.py",
        "tests/participants/test_erasure.py",
    ],
    "shared/auth.py": [
        "tests/platform/test_auth_rules.py",
        "tests/edge/test_tokens.py",
        "tests/platform/test_hot_path.py",
        "tests/platform/test_http_contract.py",
        "tests/recruitments/test_access_and_panel.py",
    ],
    "shared/web.py": [
        "tests/edge/test_idempotency.py",
        "tests/edge/test_idempotency_in_progress.py",
        "tests/edge/test_idempotency_failures.py",
        "tests/platform/test_http_contract.py",
        "tests/platform/test_hot_path.py",
        "tests/recruitments/test_refusals.py",
    ],
    # The aggregates' rules, in process (no servers): each mutant runs in well under a second.
    # The HTTP tests of these services reach the aggregates too, but a few seconds per test
    # and mutant would make the run take hours; the rules are stated on the aggregates.
    "services/participants/domain.py": [
        "tests/participants/test_domain.py",
        "tests/participants/test_domain_rules.py",
    ],
    "services/recruitments/domain.py": [
        "tests/recruitments/test_domain.py",
        "tests/recruitments/test_history_domain.py",
        "tests/recruitments/test_domain_rules.py",
        "tests/recruitments/test_event_rules.py",
    ],
    "services/matching/domain.py": [
        "tests/matching/test_domain.py",
        "tests/matching/test_domain_rules.py",
    ],
    "services/matching/ranking.py": [
        "tests/matching/test_ranking.py",
        "tests/matching/test_eligibility_rules.py",
        "tests/matching/test_rotation_and_consent.py",
        "tests/matching/test_tie_break.py",
    ],
    # In process only (no broker): the tests of the store comparison start a broker per mutant and
    # reach the rule functions (FOCUS) only through ``verify_records``, which these state directly.
    # The 24 tamper-at-a-range-boundary cases (about 30 s a mutant) are left out too:
    # ``test_verify_rules.py`` tampers 5 to 12 event histories split over two processes, where
    # every range is one or two events long, so every tampered event lies at a boundary.
    "services/audit/verify.py": [
        "tests/audit/test_verify_fast.py",
        "tests/audit/test_verify_rules.py",
        "tests/audit/test_verify_parallel.py::test_clean_history_is_the_same_in_one_and_in_two_processes",
        "tests/audit/test_verify_parallel.py::test_a_checkpoint_in_a_later_merkle_chunk_with_a_wrong_root_is_named",
        "tests/audit/test_verify_parallel.py::test_a_signed_checkpoint_naming_another_head_or_position_is_named",
        "tests/audit/test_verify_parallel.py::test_a_history_read_partition_by_partition_is_verified_in_chain_order",
        "tests/audit/test_verify_parallel.py::test_the_work_is_shared_and_a_helper_that_fails_or_dies_fails_verification",
        "tests/audit/test_verify_parallel.py::test_a_helper_sends_its_results_or_its_error",
        "tests/audit/test_checkpoint_rules.py::test_checkpoints_sign_head_position_and_root_in_chain_order",
    ],
    "services/audit/checkpoints.py": [
        "tests/audit/test_checkpoint_rules.py",
        "tests/audit/test_pagination.py::test_checkpoints_page_per_source_then_size",
        "tests/audit/test_verify_fast.py",
        "tests/audit/test_kafka_and_cli.py",
    ],
    "services/dashboards/export.py": [
        "tests/dashboards/test_export.py",
        "tests/dashboards/test_export_consent.py",
        "tests/dashboards/test_small_cells.py",
    ],
}

# Modules measured on some of their functions only (mutmut's mutant-name globs), where the
# whole module would take far too long and most of it holds no critical rule: in ``web.py``
# the exactly-once commands (``Idempotency-Key``), not the problem rendering or input checks.
FOCUS: dict[str, list[str]] = {
    "shared/web.py": ["shared.web.x_idempotent__mutmut_*", "shared.web.x__idempotency_*",
                      "shared.web.x__replay__mutmut_*", "shared.web.x__lock_timeout__mutmut_*"],
    # ``verify.py`` (2 471 mutants, 3 to 40 s each on the shared machine): continuity (copies,
    # positions, links), checkpoint signatures and coverage, and the workers' event-id check.
    # ``_checkpoints_hold``, ``_canonical_link`` and ``_verify_chain`` are next (docs/mutation.md
    # says what is left out and why): add them here and run with ``--resume``.
    # Since 2026-12-08 also the chain order of partitioned topics and the sharing of the work.
    "services/audit/verify.py": [f"services.audit.verify.x_{name}__mutmut_*" for name in (
        "_chain_problems", "_read_checkpoints", "missing_checkpoints", "_ids_unique",
        "_in_chain_order", "_positions_of", "shared_map", "_helper", "_take_tasks", "_topic_runs", "_ranges")],
}
FOCUS_LABEL = {"shared/web.py": "idempotency only", "services/audit/verify.py": "rule functions only"}

# Modules whose decorated methods (``@event`` commands, ``@property`` readers) are rewritten in the
# scratch copy as a plain ``def`` and the assignment the decorators stand for, so that mutmut mutates
# their bodies too (``infra/mutate_unwrap.py``); the working tree keeps its decorators.
UNWRAP_DECORATED = frozenset({
    "services/participants/domain.py",
    "services/recruitments/domain.py",
    "services/matching/domain.py",
})

KILLED = {1, 3}
TIMEOUT = {36, -24, 24, 152, 255}
MARKER = "DELAKTIG_MUTATE_RUN"


@dataclass
class Score:
    module: str
    total: int = 0
    killed: int = 0
    timeout: int = 0
    survived: list[str] = field(default_factory=list)
    untested: list[str] = field(default_factory=list)  # no test reaches the mutated function
    other: list[str] = field(default_factory=list)  # suspicious, not checked, ...
    equivalent: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def percent(self) -> float:
        """Killed (timeouts count as killed) among the mutants that are not equivalent."""
        relevant = self.total - len(self.equivalent)
        return 100.0 * (self.killed + self.timeout) / relevant if relevant else 100.0


def equivalent_mutants() -> set[str]:
    """Mutant names listed in docs/mutation.md (a table row starting with the name in backticks)."""
    if not EQUIVALENT_DOC.exists():
        return set()
    return set(re.findall(r"^\|\s*`([\w.]+__mutmut_\d+)`", EQUIVALENT_DOC.read_text(), re.MULTILINE))


def prepare(module: str, tests: list[str], extra_pytest: list[str], resume: bool = False) -> Path:
    """A fresh scratch copy of the project with a mutmut configuration for one module (with
    ``resume``, an earlier copy is kept and mutmut tests only the mutants it has no result for)."""
    workdir = WORK / module.replace("/", "_").removesuffix(".py")
    if resume and (workdir / "mutants").is_dir():
        return workdir
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".ruff_cache")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, workdir / name, ignore=ignore)
        else:
            shutil.copy2(source, workdir / name)
    if module in UNWRAP_DECORATED:
        target = workdir / module
        target.write_text(unwrap_source(target.read_text()))
    pytest_args = ["-m", "not slow", "-k", "not postgres", "--timeout=120", "-p", "infra.mutate_plugin",
                   *extra_pytest]
    config = (
        "\n[tool.mutmut]\n"
        'source_paths = ["shared", "services", "infra"]\n'
        f"only_mutate = {json.dumps([module])}\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        f"pytest_add_cli_args = {json.dumps(pytest_args)}\n"
        'process_isolation = "forkserver"\n'
        "use_git_change_detection = false\n"
        "timeout_multiplier = 3.0\n"
        "timeout_constant = 3.0\n"
    )
    with open(workdir / "pyproject.toml", "a") as handle:
        handle.write(config)
    return workdir


def select_tests(workdir: Path, tests: list[str]) -> bool:
    """Point an existing scratch copy at the module's current test list (tests written since its
    run); mutmut collects the new tests' coverage before it runs the named mutants again. Returns
    whether the list changed (a new test file): mutmut then resets every verdict of the module."""
    line = f"pytest_add_cli_args_test_selection = {json.dumps(tests)}"
    changed = False
    for config in (workdir / "pyproject.toml", workdir / "mutants" / "pyproject.toml"):
        if config.exists():
            before = config.read_text()
            after = re.sub(r"^pytest_add_cli_args_test_selection = .*$", lambda _: line, before, flags=re.MULTILINE)
            changed = changed or after != before
            config.write_text(after)
    return changed


def marked_processes(tag: str) -> list[int]:
    """Ids of live processes whose environment carries this run's marker."""
    found = []
    needle = f"{MARKER}={tag}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def end_marked(tag: str) -> None:
    """End the processes this run started and that outlived it (brokers of timed-out mutants)."""
    for pid in marked_processes(tag):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def collect(module: str, workdir: Path, equivalent: set[str]) -> Score:
    """Read mutmut's per-file results for the module."""
    score = Score(module)
    meta = workdir / "mutants" / (module + ".meta")
    if not meta.exists():
        return score
    codes: dict[str, int | None] = json.loads(meta.read_text()).get("exit_code_by_key", {})
    if module in FOCUS:
        codes = {k: v for k, v in codes.items() if any(fnmatch.fnmatchcase(k, p) for p in FOCUS[module])}
    for name, code in sorted(codes.items()):
        score.total += 1
        if name in equivalent and code not in KILLED | TIMEOUT:
            score.equivalent.append(name)
        elif code in KILLED:
            score.killed += 1
        elif code in TIMEOUT:
            score.timeout += 1
        elif code == 0:
            score.survived.append(name)
        elif code in (5, 33):
            score.untested.append(name)
        else:
            score.other.append(f"{name} (exit {code})")
    return score


def run_module(module: str, tests: list[str], children: int, extra_pytest: list[str], log: Path,
               resume: bool = False, retest: bool = False) -> Score:
    """Mutate one module; with ``retest``, only run its earlier survivors again against the
    current tests (copied into the existing scratch copy), after new tests were written."""
    missing = [t for t in tests if not (ROOT / t.split("::")[0]).exists()]
    tests = [t for t in tests if t not in missing]
    names: list[str] = []
    if retest:
        workdir = WORK / module.replace("/", "_").removesuffix(".py")
        earlier = collect(module, workdir, set())
        # Survivors already judged equivalent in docs/mutation.md are not run again (each one runs
        # every test that reaches it, the slowest part of a run).
        listed = equivalent_mutants()
        names = [n for n in earlier.survived + earlier.untested + [n.split(" ")[0] for n in earlier.other]
                 if n not in listed]
        for target in (workdir / "tests", workdir / "mutants" / "tests"):
            shutil.copytree(ROOT / "tests", target, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        if select_tests(workdir, tests):
            # mutmut forgets every verdict when the test selection changes: run them all again.
            print(f"  {module}: its test list changed since the last run; every mutant runs again", flush=True)
            names = []
        elif not names:
            return collect(module, workdir, equivalent_mutants())
    else:
        workdir = prepare(module, tests, extra_pytest, resume)
        names = list(FOCUS.get(module, []))
    tag = uuid.uuid4().hex
    env = dict(os.environ, **{MARKER: tag, "PYTHONDONTWRITEBYTECODE": "1"})
    mutmut = Path(sys.executable).with_name("mutmut")
    started = time.monotonic()
    with open(log, "ab") as out:
        out.write(f"\n===== {module} ({time.strftime('%H:%M:%S')}) tests: {' '.join(tests)}\n".encode())
        out.flush()
        try:
            subprocess.run([str(mutmut), "run", "--max-children", str(children), *names], cwd=workdir, env=env,
                           stdout=out, stderr=subprocess.STDOUT, check=False)
        finally:
            end_marked(tag)
    score = collect(module, workdir, equivalent_mutants())
    score.seconds = time.monotonic() - started
    return score


def diff_of(module: str, name: str) -> str:
    """The mutant's diff, as ``mutmut show`` prints it (read in-process: one import, not one per mutant)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    workdir = WORK / module.replace("/", "_").removesuffix(".py")
    here = Path.cwd()
    os.chdir(workdir)
    try:
        return str(get_diff_for_mutant(name, path=Path(module))).strip()
    except Exception as error:  # a diff is a convenience: never lose the report over it
        return f"(no diff: {type(error).__name__}: {error})"
    finally:
        os.chdir(here)


def changed_lines(diff: str) -> tuple[list[str], list[str]]:
    """The removed and added source lines of a mutant's diff."""
    rows = diff.splitlines()
    removed = [r[1:].strip() for r in rows if r.startswith("-") and not r.startswith("---")]
    added = [r[1:].strip() for r in rows if r.startswith("+") and not r.startswith("+++")]
    return removed, added


SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|WHERE|CONFLICT|VALUES|FROM|EXCLUDED|SET|TABLE|BIGINT)\b",
                       re.IGNORECASE)


def _inside_log_call(diff: str) -> bool:
    """Whether the changed lines sit inside a multi-line ``log.<level>(`` call."""
    rows = [r for r in diff.splitlines() if not r.startswith(("---", "+++", "@@"))]
    first = next((i for i, r in enumerate(rows) if r.startswith(("-", "+"))), None)
    if first is None:
        return False
    for row in reversed(rows[max(0, first - 4):first]):
        text = row[1:].strip()
        if re.search(r"\blog\.\w+\($", text):
            return True
        if text.endswith(")") or text.endswith(":"):
            return False
    return False


def suggest_reason(diff: str) -> str | None:
    """A proposed one-line reason when a survivor matches a well-known equivalent shape. Only a
    draft for docs/mutation.md: a person reads the diff and decides; nothing is skipped by it."""
    removed, added = changed_lines(diff)
    if not removed:
        return None
    before, after = " ".join(removed), " ".join(added)
    if before.lower() == after.lower() and before != after:
        if SQL_WORDS.search(before):
            return "SQL keywords and unquoted identifiers are case-insensitive"
        if re.search(r"(utf-8|ascii)", before, re.IGNORECASE):
            return "codec names are case-insensitive"
    if before.replace("ensure_ascii=False", "ensure_ascii=None") == after:
        return "None is falsy, as False is: same JSON"
    if re.search(r"\blog\.\w+\(", before) or _inside_log_call(diff):
        return "changes only a log record's wording or extra fields; no rule depends on them"
    return None


def report(scores: list[Score], show_diffs: bool) -> str:
    lines = ["| module | mutants | killed | timeout | equivalent | survived | no test | score |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for s in scores:
        if not s.total:
            lines.append(f"| `{s.module}` | not run | | | | | | |")
            continue
        name = f"`{s.module}` ({FOCUS_LABEL[s.module]})" if s.module in FOCUS else f"`{s.module}`"
        lines.append(f"| {name} | {s.total} | {s.killed} | {s.timeout} | {len(s.equivalent)} | "
                     f"{len(s.survived)} | {len(s.untested)} | {s.percent:.1f} % |")
    for s in scores:
        rest = s.survived + s.untested + s.other
        if not rest:
            continue
        lines.append(f"\n## {s.module}: {len(rest)} not killed")
        for name in rest:
            lines.append(f"- {name}" + (" (no test reaches it)" if name in s.untested else ""))
            if show_diffs:
                lines.extend("    " + row for row in diff_of(s.module, name.split(" ")[0]).splitlines())
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help="modules to mutate (default: all)")
    parser.add_argument("--children", type=int, default=int(os.environ.get("MUTATE_CHILDREN", "2")))
    parser.add_argument("--list", action="store_true", help="print the module -> tests map and stop")
    parser.add_argument("--report-only", action="store_true", help="re-read the last results, run nothing")
    parser.add_argument("--diffs", action="store_true", help="print the diff of every survivor")
    parser.add_argument("--resume", action="store_true", help="keep earlier results; test only the untested mutants")
    parser.add_argument("--retest", action="store_true",
                        help="run the last run's survivors again against the current tests")
    parser.add_argument("--pytest", action="append", default=[], help="an extra pytest argument")
    parser.add_argument("--draft-equivalents", action="store_true",
                        help="print docs/mutation.md rows proposed for survivors of well-known equivalent shapes")
    args = parser.parse_args(argv)
    modules = args.modules or list(MODULES)
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown modules {unknown}; known: {list(MODULES)}")
    if args.list:
        for module in modules:
            print(module, "<-", " ".join(MODULES[module]))
        return 0
    WORK.mkdir(parents=True, exist_ok=True)
    log = WORK / "mutmut.log"
    scores = []
    for module in modules:
        if args.report_only:
            workdir = WORK / module.replace("/", "_").removesuffix(".py")
            score = collect(module, workdir, equivalent_mutants())
        else:
            print(f"mutating {module} ...", flush=True)
            score = run_module(module, MODULES[module], args.children, args.pytest, log, args.resume, args.retest)
            print(f"  {score.module}: {score.percent:.1f} % of {score.total} ({score.seconds:.0f} s)", flush=True)
        scores.append(score)
        (WORK / "report.md").write_text(report(scores, show_diffs=False) + "\n")
    if args.draft_equivalents:
        for score in scores:
            for name in score.survived:
                reason = suggest_reason(diff_of(score.module, name))
                if reason:
                    print(f"| `{name}` | {reason} |")
        return 0
    text = report(scores, show_diffs=args.diffs)
    (WORK / "report.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
