"""Configuration from environment variables, with safe defaults for the embedded setup."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

TIMEZONE = "Asia/Shanghai"


def database_url(instance_path: str) -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return "sqlite:///" + str(Path(instance_path) / "portal.db")
    return normalise_database_url(url)


def normalise_database_url(url: str) -> str:
    """Accept the usual spellings of a PostgreSQL URL and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def secret_key(instance_path: str) -> str:
    """SECRET_KEY from the environment, else one generated once into instance/ (never committed)."""
    from_env = os.environ.get("SECRET_KEY", "").strip()
    if from_env:
        return from_env
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        _create_once(path, secrets.token_hex(32))
    return path.read_text().strip()


def _create_once(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` unless another process (a worker starting beside this one)
    got there first. The file appears whole, as a hard link to a finished temporary file, so no
    reader ever sees it empty; the loser of the race uses the winner's file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(content)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 65536 else default


def smtp_settings() -> dict:
    """Outgoing mail for notification copies; off while SMTP_HOST is empty."""
    return {
        "SMTP_HOST": os.environ.get("SMTP_HOST", "").strip(),
        "SMTP_PORT": _port("SMTP_PORT", 25),
        "SMTP_FROM": os.environ.get("SMTP_FROM", "").strip(),
        "SMTP_USER": os.environ.get("SMTP_USER", "").strip(),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _flag("SMTP_STARTTLS"),
        "SMTP_TIMEOUT": 10,
        "PORTAL_BASE_URL": (
            os.environ.get("PORTAL_BASE_URL", "").strip() or "http://127.0.0.1:5000"
        ).rstrip("/"),
    }


def from_environment(instance_path: str) -> dict:
    https = _flag("PORTAL_HTTPS")
    return {
        **smtp_settings(),
        "SECRET_KEY": secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url(instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "PASSWORD_HASH_METHOD": os.environ.get("PASSWORD_HASH_METHOD", "scrypt:32768:8:1"),
        "TIMEZONE": TIMEZONE,
        # Cookies: never readable by scripts, not sent on cross-site POSTs, Secure behind HTTPS.
        "SESSION_COOKIE_NAME": "xqb_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_DURATION": timedelta(hours=12),
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        # The CSRF token lives as long as the session: a page left open over lunch still works.
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": True,
        "PROXY_COUNT": int(os.environ.get("PORTAL_PROXY_COUNT", "0") or 0),
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        # Policy attachments: generated names, outside the static folder (served after a check).
        "POLICY_FILES_PATH": os.environ.get(
            "POLICY_FILES_PATH", str(Path(instance_path) / "policy-files")
        ),
        "POLICY_MAX_UPLOAD_BYTES": int(os.environ.get("POLICY_MAX_UPLOAD_MB", "10") or 10)
        * 1024
        * 1024,
    }
