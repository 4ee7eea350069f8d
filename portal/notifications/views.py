"""The notification bell and list."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("notifications", __name__)
