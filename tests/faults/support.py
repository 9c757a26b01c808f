"""Fault-test helpers: a dedicated tansu broker per test (so killing it hurts no other test)."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from shared.config import Settings
from shared.kafka import free_port, start_local_broker


class OwnBroker:
    """A memory-storage tansu broker on a free port that a test may kill and start again empty."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = start_local_broker("127.0.0.1", self.port)

    def lose_everything(self) -> None:
        """``kill -9`` and start again on the same port: memory storage, so nothing survives."""
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@contextmanager
def own_broker(settings: Settings) -> Iterator[tuple[OwnBroker, Settings]]:
    broker = OwnBroker()
    broker.start()
    try:
        yield broker, settings.with_(kafka_bootstrap=broker.bootstrap)
    finally:
        logging.getLogger("kafka").setLevel(logging.CRITICAL)  # clients of a killed broker complain
        broker.stop()
