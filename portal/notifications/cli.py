"""`flask deadlines sweep`: reminders, overdue notices, escalation and e-mail delivery."""

from __future__ import annotations

from flask.cli import AppGroup

deadlines_cli = AppGroup("deadlines", help="Referral deadline reminders.")
