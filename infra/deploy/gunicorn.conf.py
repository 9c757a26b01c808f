"""gunicorn settings for production: ``gunicorn -c infra/deploy/gunicorn.conf.py services.<name>.wsgi:app``."""

import multiprocessing
import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", str(multiprocessing.cpu_count() * 2)))
threads = int(os.environ.get("WEB_THREADS", "4"))
# gthread keeps connections alive and tolerates slow clients. Behind an ingress that buffers
# requests, WORKER_CLASS=sync (one request per process, WEB_THREADS ignored) serves registrations
# about a third faster on two cores: no GIL hand-over between threads on each database round trip.
worker_class = os.environ.get("WORKER_CLASS", "gthread")
# The heartbeat file is touched on every loop; keep it in memory, not on disk (gunicorn makes
# the file itself with mkstemp, so a shared directory is safe here).
SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = SHM if os.path.isdir(SHM) else None
timeout = 60
graceful_timeout = 20
control_socket_disable = True  # one socket path per user: several services on a host would clash
accesslog = None  # the services write their own JSON request logs without personal data

# No silent exits: uncaught exceptions in any thread are logged and end the worker (the arbiter
# starts another), and every worker exit is logged (shared/lifecycle.py).
from shared.lifecycle import child_exit, post_worker_init, worker_abort, worker_exit  # noqa: E402

__all__ = ["child_exit", "post_worker_init", "worker_abort", "worker_exit"]
