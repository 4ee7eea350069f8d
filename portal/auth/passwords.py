"""Password hashing (scrypt by default: deliberately slow) and the password policy."""

from __future__ import annotations

import re

from werkzeug.security import check_password_hash, generate_password_hash

DEFAULT_METHOD = "scrypt:32768:8:1"
MIN_LENGTH = 10
MAX_LENGTH = 128

_settings = {"method": DEFAULT_METHOD}
_dummy_hash: dict[str, str] = {}


def configure(method: str) -> None:
    """Tests use cheaper parameters; production keeps the default."""
    _settings["method"] = method
    _dummy_hash.clear()


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=_settings["method"])


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash, spend the same time and fail (no account-exists oracle)."""
    if not password_hash:
        method = _settings["method"]
        if method not in _dummy_hash:
            _dummy_hash[method] = hash_password("not-a-real-password")
        check_password_hash(_dummy_hash[method], password)
        return False
    return check_password_hash(password_hash, password)


def password_problems(password: str, login_name: str = "") -> list[str]:
    """What is wrong with a proposed password, in the words the user will read."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"密码至少需要 {MIN_LENGTH} 个字符。")
    if len(password) > MAX_LENGTH:
        problems.append(f"密码不能超过 {MAX_LENGTH} 个字符。")
    classes = sum(
        bool(re.search(pattern, password)) for pattern in (r"[A-Za-z]", r"\d", r"[^A-Za-z\d]")
    )
    if classes < 2:
        problems.append("密码需同时包含字母、数字、符号中的至少两类。")
    if login_name and login_name.lower() in password.lower():
        problems.append("密码不能包含登录名。")
    return problems
