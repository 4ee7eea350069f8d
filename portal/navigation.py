"""The header navigation, by role."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str


def navigation_for(user) -> list[NavItem]:
    if user is None:
        return []
    items = [NavItem("dashboard.index", "工作台")]
    if user.has_role("officer", "head", "assessor"):
        items.append(NavItem("leads.lead_list", "招商线索"))
    if user.has_role("officer", "head") or (user.tenant.kind == "city" and user.has_role("admin")):
        items.append(NavItem("referrals.inbox", "推送办理"))
    items.append(NavItem("policies.policy_list", "政策文件"))
    items.append(NavItem("assessment.credit", "考核积分"))
    if user.has_role("assessor"):
        items.append(NavItem("assessment.review", "积分审核"))
    if user.has_role("admin"):
        if user.tenant.kind == "city":
            items.append(NavItem("tenants.tenant_list", "单位管理"))
            items.append(NavItem("workdays.calendar_days", "工作日历"))
            items.append(NavItem("leads.chain_list", "产业链"))
        items.append(NavItem("tenants.user_list", "用户管理"))
        items.append(NavItem("audit.event_list", "审计日志"))
    # A blueprint still being built has no endpoint yet: leave its entry out.
    from flask import current_app

    return [item for item in items if item.endpoint in current_app.view_functions]
