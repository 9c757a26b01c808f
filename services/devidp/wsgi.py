"""gunicorn entry: ``gunicorn services.devidp.wsgi:app`` (one worker: codes live in memory)."""

from services.devidp.provider import create_app

app = create_app()
