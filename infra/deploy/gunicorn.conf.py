"""gunicorn settings for production: ``gunicorn -c infra/deploy/gunicorn.conf.py services.<name>.wsgi:app``."""

import multiprocessing
import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", str(multiprocessing.cpu_count() * 2)))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
timeout = 60
graceful_timeout = 20
accesslog = None  # the services write their own JSON request logs without personal data
