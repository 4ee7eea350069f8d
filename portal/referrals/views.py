"""Referral pages: inbox and outbox, the referral page and its actions."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("referrals", __name__)
