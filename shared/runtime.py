"""Running a service's background parts (relay, consumer loops) as one worker process."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("delaktig.worker")


class Runnable(Protocol):
    def run(self, stop: threading.Event) -> None: ...


@dataclass
class Worker:
    """The background parts of one service, each on its own thread."""

    name: str
    parts: list[Runnable] = field(default_factory=list)
    periodic: list[tuple[float, Callable[[], Any]]] = field(default_factory=list)

    def run(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        threads = [threading.Thread(target=p.run, args=(stop,), daemon=True, name=f"{self.name}-{i}")
                   for i, p in enumerate(self.parts)]
        for interval, job in self.periodic:
            threads.append(threading.Thread(target=_every, args=(interval, job, stop), daemon=True))
        for t in threads:
            t.start()
        log.info("worker started", extra={"service": self.name, "count": len(threads)})
        stop.wait()
        for t in threads:
            t.join(timeout=10)


def _every(interval: float, job: Callable[[], Any], stop: threading.Event) -> None:
    while not stop.wait(interval):
        try:
            job()
        except Exception:
            log.exception("periodic job failed")


def run_until_signalled(worker: Worker) -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    worker.run(stop)
