from flask import Blueprint

main = Blueprint("main", __name__)

from ..models import Permission  # noqa: E402
from . import errors, views  # noqa: E402,F401


@main.app_context_processor
def inject_permissions():
    return dict(Permission=Permission)
