"""gunicorn entry point: ``gunicorn services.participants.wsgi:app``."""

from services.participants.service import Participants
from shared.config import Settings

app = Participants.build(Settings.from_env()).http()
