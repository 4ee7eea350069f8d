"""Access rules: every route declares one, and a route without one is refused.

A rule answers two questions about the signed-in user: must one be signed in at all, and is this
user allowed. Object-level visibility (another tenant's object) is not decided here: the tenant
scope makes such objects invisible, so views answer 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AccessRule:
    name: str
    requires_sign_in: bool = True
    roles: frozenset[str] = field(default_factory=frozenset)
    tenant_kinds: frozenset[str] = field(default_factory=frozenset)

    def allows(self, user) -> bool:
        if not self.requires_sign_in:
            return True
        if user is None or not getattr(user, "is_authenticated", False):
            return False
        if self.roles and not user.has_role(*self.roles):
            return False
        return not (self.tenant_kinds and user.tenant.kind not in self.tenant_kinds)


PUBLIC = AccessRule("public", requires_sign_in=False)
SIGNED_IN = AccessRule("signed_in")


def roles(*names: str) -> AccessRule:
    return AccessRule("roles:" + ",".join(names), roles=frozenset(names))


def city_roles(*names: str) -> AccessRule:
    """Roles that count only in the city tenant (the city admin manages tenants)."""
    return AccessRule(
        "city_roles:" + ",".join(names), roles=frozenset(names), tenant_kinds=frozenset({"city"})
    )


def access(rule: AccessRule) -> Callable:
    """Declare a view's access rule. Put it directly under the route decorator."""

    def decorate(view):
        view.access_rule = rule
        return view

    return decorate


def rule_of(view) -> AccessRule | None:
    return getattr(view, "access_rule", None)
