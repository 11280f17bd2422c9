"""The WSGI entry point: `gunicorn mailbot.web.wsgi:app` (the Procfile's web process)."""

from mailbot.web import create_app

app = create_app()
