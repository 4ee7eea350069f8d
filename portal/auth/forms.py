"""Sign-in and password forms. Error messages are the ones the officer reads."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    login_name = StringField(
        "登录名",
        validators=[DataRequired("请填写登录名。"), Length(max=64, message="登录名过长。")],
    )
    password = PasswordField(
        "密码", validators=[DataRequired("请填写密码。"), Length(max=128, message="密码过长。")]
    )
    next = HiddenField()


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("当前密码", validators=[DataRequired("请填写当前密码。")])
    new_password = PasswordField("新密码", validators=[DataRequired("请填写新密码。")])
    confirm_password = PasswordField(
        "再次输入新密码",
        validators=[
            DataRequired("请再次输入新密码。"),
            EqualTo("new_password", message="两次输入的新密码不一致。"),
        ],
    )
