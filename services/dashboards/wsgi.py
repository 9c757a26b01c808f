"""gunicorn entry point: ``gunicorn services.dashboards.wsgi:app``."""

from services.dashboards.service import Dashboards
from shared.config import Settings

app = Dashboards.build(Settings.from_env()).http()
