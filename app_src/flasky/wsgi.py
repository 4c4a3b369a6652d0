"""WSGI entry point: ``gunicorn flasky.wsgi:app`` or ``flask --app flasky.wsgi ...``."""

from . import create_app

app = create_app()
