"""gunicorn entry point: ``gunicorn services.matching.wsgi:app``."""

from services.matching.service import Matching
from shared.config import Settings

app = Matching.build(Settings.from_env()).http()
