"""No silent exits: every process says why it stops.

``install_exit_logging`` makes an uncaught exception in the main thread or in *any* other thread
a logged, critical event; a thread that dies of one takes its process down with a non-zero exit
(exit code 70) instead of leaving it half-alive (a web worker whose broker thread died, a worker
whose relay thread died), so that a supervisor (``delaktig up``, systemd, gunicorn's arbiter)
restarts it. The gunicorn hooks below are used by ``infra/deploy/gunicorn.conf.py``.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from types import TracebackType
from typing import Any

log = logging.getLogger("delaktig.process")

THREAD_DIED_EXIT = 70  # EX_SOFTWARE
_installed = {"done": False}


def install_exit_logging(what: str) -> None:
    """Log uncaught exceptions (all threads) and the process's exit; once per process."""
    if _installed["done"]:
        return
    _installed["done"] = True

    def on_uncaught(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        log.critical("uncaught exception; process stops", exc_info=(kind, value, tb), extra={"service": what})

    def on_thread_died(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        log.critical("thread died of an uncaught exception; process stops with exit code 70",
                     exc_info=(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback),
                     extra={"service": what, "consumer": name})
        logging.shutdown()
        os._exit(THREAD_DIED_EXIT)

    sys.excepthook = on_uncaught
    threading.excepthook = on_thread_died
    atexit.register(lambda: log.info("process exits", extra={"service": what, "count": os.getpid()}))


# gunicorn server hooks (see infra/deploy/gunicorn.conf.py)

def post_worker_init(worker: Any) -> None:
    install_exit_logging(f"gunicorn worker {worker.pid}")


def worker_exit(server: Any, worker: Any) -> None:
    log.info("gunicorn worker exits", extra={"count": worker.pid})


def worker_abort(worker: Any) -> None:
    log.error("gunicorn worker aborted (timeout): stopping", extra={"count": worker.pid})


def child_exit(server: Any, worker: Any) -> None:
    # The arbiter logs the exit code or signal itself ("Worker (pid:N) was sent SIGKILL!").
    log.warning("gunicorn worker process gone; the arbiter starts another", extra={"count": worker.pid})
