"""gunicorn entry point: ``gunicorn services.recruitments.wsgi:app``."""

from services.recruitments.service import Recruitments
from shared.config import Settings

app = Recruitments.build(Settings.from_env()).http()
