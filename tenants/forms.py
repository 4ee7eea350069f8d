"""Administration forms. Fields only: the rules and their messages live in tenants.admin."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField, widgets

from tenants.models import ROLE_ORDER, ROLES, TENANT_KINDS


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def pre_validate(self, form):
        # Unknown roles are reported by the service in Chinese, not by WTForms in English.
        pass


def _optional_int(value):
    try:
        return int(value) if value not in (None, "", "None") else None
    except (TypeError, ValueError):
        return -1


class TenantForm(FlaskForm):
    code = StringField("单位代码")
    name = StringField("单位名称")
    kind = SelectField(
        "单位类型", choices=[("", "请选择")] + list(TENANT_KINDS.items()), validate_choice=False
    )
    parent_id = SelectField("上级单位", coerce=_optional_int, validate_choice=False)


class UserForm(FlaskForm):
    login_name = StringField("登录名")
    display_name = StringField("姓名")
    email = StringField("电子邮箱（选填）")
    roles = MultiCheckboxField("角色", choices=[(r, ROLES[r]) for r in ROLE_ORDER])
    password = PasswordField("初始密码")


class ResetPasswordForm(FlaskForm):
    password = PasswordField("临时密码")


class ConfirmForm(FlaskForm):
    """A bare form for state-changing buttons: it carries the CSRF token."""
