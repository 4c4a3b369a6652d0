"""FLASK_APP=app.py: the shape of the seed's flasky.py (.env loaded from this file's directory)."""

import os

from dotenv import load_dotenv

dotenv_path = os.path.join(os.path.dirname(__file__), ".env")
if os.path.exists(dotenv_path):
    load_dotenv(dotenv_path)

from flask_migrate import Migrate  # noqa: E402
from notes import create_app, db  # noqa: E402

app = create_app()
migrate = Migrate(app, db)
