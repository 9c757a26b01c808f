"""Run the counter application's relay in its own process (a test SIGKILLs it mid-stream)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from shared.db import Database
from shared.relay import OutboxRelay
from tests.platform.counter_app import CounterApp, settings_from_file

if __name__ == "__main__":
    settings = settings_from_file(Path(sys.argv[1]))
    relay = OutboxRelay(CounterApp(settings), Database(settings, "counters"), batch=int(sys.argv[2]))
    relay.run(threading.Event())
