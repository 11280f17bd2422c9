"""The WSGI entry point: `gunicorn mailbot.web.wsgi:app` (the Procfile's web process)."""

from mailbot.observability.logs import setup_logging
from mailbot.web import create_app

setup_logging()  # the web process's own lines in the same format as the workers'
app = create_app()
