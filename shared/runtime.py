"""Running a service's background parts (relay, consumer loops, periodic jobs) as one worker
process, loudly: a part that dies stops the process with a non-zero exit and says why, and with
a leader lock only the lock holder runs them (the others wait as hot standbys)."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("delaktig.worker")

STANDBY_POLL_SECONDS = 1.0  # a standby takes over within about this after the holder died
LEADER_CHECK_SECONDS = 2.0


class Runnable(Protocol):
    def run(self, stop: threading.Event) -> None: ...


class Leadership(Protocol):
    def try_acquire(self) -> bool: ...

    def held(self) -> bool: ...

    def release(self) -> None: ...


@dataclass
class Worker:
    """The background parts of one service, each on its own thread."""

    name: str
    parts: list[Runnable] = field(default_factory=list)
    periodic: list[tuple[float, Callable[[], Any]]] = field(default_factory=list)
    leader: Leadership | None = None
    failures: list[str] = field(default_factory=list)

    def _guarded(self, label: str, target: Callable[[threading.Event], None], stop: threading.Event) -> None:
        try:
            target(stop)
        except BaseException:
            log.critical("worker part died; the worker stops", exc_info=True,
                         extra={"service": self.name, "consumer": label})
            self.failures.append(label)
            stop.set()
            return
        if not stop.is_set():
            log.critical("worker part returned while running; the worker stops",
                         extra={"service": self.name, "consumer": label})
            self.failures.append(label)
            stop.set()

    def run(self, stop: threading.Event | None = None) -> int:
        """Run until ``stop``; 0 after a requested stop, 1 when a part died or leadership was lost."""
        stop = stop or threading.Event()
        if self.leader is not None:
            log.info("standby: waiting for the leader lock", extra={"service": self.name, "pid": os.getpid()})
            while not stop.is_set():
                try:
                    if self.leader.try_acquire():
                        break
                except Exception:
                    log.warning("leader lock not reachable; trying again", exc_info=True,
                                extra={"service": self.name})
                    self.leader.release()
                stop.wait(STANDBY_POLL_SECONDS)
            if stop.is_set():
                return 0
            log.info("leader: running relay and consumers", extra={"service": self.name, "pid": os.getpid()})
        threads = [threading.Thread(target=self._guarded, args=(type(p).__name__, p.run, stop), daemon=True,
                                    name=f"{self.name}-{i}-{type(p).__name__}")
                   for i, p in enumerate(self.parts)]
        for interval, job in self.periodic:
            threads.append(threading.Thread(target=self._guarded, args=(getattr(job, "__name__", "job"),
                                                                         _every(interval, job), stop),
                                            daemon=True, name=f"{self.name}-every-{interval:g}s"))
        for t in threads:
            t.start()
        log.info("worker started", extra={"service": self.name, "count": len(threads)})
        while not stop.wait(LEADER_CHECK_SECONDS):
            if self.leader is not None and not self.leader.held():
                # Another worker may hold it now: stop at once rather than publish beside it.
                log.critical("leader lock lost; the worker stops", extra={"service": self.name})
                self.failures.append("leader lock")
                stop.set()
        for t in threads:
            t.join(timeout=10)
            if t.is_alive():
                log.error("worker part did not stop in time", extra={"service": self.name, "consumer": t.name})
        if self.leader is not None:
            self.leader.release()
        return 1 if self.failures else 0


def _every(interval: float, job: Callable[[], Any]) -> Callable[[threading.Event], None]:
    def loop(stop: threading.Event) -> None:
        while not stop.wait(interval):
            try:
                job()
            except Exception:
                # A periodic job retries at its next turn (a database restart is not fatal).
                log.exception("periodic job failed; it runs again at its next turn")

    return loop


def run_until_signalled(worker: Worker) -> int:
    """Run ``worker`` until SIGINT/SIGTERM; log why it stops. Returns the process exit code."""
    stop = threading.Event()
    received: list[str] = []

    def on_signal(signum: int, _frame: Any) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    code = worker.run(stop)
    reason = f"signal {received[0]}" if received else f"failure in {', '.join(worker.failures)}"
    level = logging.INFO if code == 0 else logging.CRITICAL
    log.log(level, "worker stops: " + reason, extra={"service": worker.name, "status": code})
    return code
