"""The city admin's page for the holiday and make-up-day table."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import extract, select

from portal.access import access, city_roles
from portal.database import utcnow
from portal.extensions import db
from portal.web import apply_toggle, current_actor
from portal.workdays import service
from portal.workdays.calendar import local_date
from portal.workdays.models import CalendarDay

bp = Blueprint("workdays", __name__, url_prefix="/admin/calendar")


class CalendarForm(FlaskForm):
    """Carries the CSRF token; the fields are read and checked by the service."""


def _year() -> int:
    today = local_date(utcnow())
    try:
        year = int(request.args.get("year", today.year))
    except ValueError:
        return today.year
    return min(max(year, service.EARLIEST_YEAR), service.LATEST_YEAR)


@bp.route("", methods=["GET", "POST"])
@access(city_roles("admin"))
def calendar_days():
    form = CalendarForm()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            row = service.add_day(
                db.session,
                current_actor(),
                day=request.form.get("day", ""),
                kind=request.form.get("kind", ""),
                note=request.form.get("note", ""),
            )
        except service.CalendarInputError as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            db.session.commit()
            flash(
                f"已将 {row.day.isoformat()} 设为{'调休上班' if row.is_workday else '放假'}。",
                "success",
            )
            return redirect(url_for("workdays.calendar_days", year=row.day.year))
    year = _year()
    rows = db.session.scalars(
        select(CalendarDay)
        .where(extract("year", CalendarDay.day) == year)
        .order_by(CalendarDay.day)
    ).all()
    status = 422 if errors else 200
    return render_template(
        "workdays/calendar.html",
        form=form,
        errors=errors,
        rows=rows,
        year=year,
        kinds=service.DAY_KINDS,
        package_years=service.package_years(),
        needing_update=service.years_needing_update(db.session, local_date(utcnow())),
        values=request.form if errors else {},
    ), status


@bp.route("/<int:day_id>/delete", methods=["POST"])
@access(city_roles("admin"))
def calendar_day_delete(day_id: int):
    row = db.session.get(CalendarDay, day_id)
    if row is None:
        abort(404)
    year = row.day.year
    apply_toggle(
        lambda: service.remove_day(db.session, current_actor(), row), "已删除该日期的设置。"
    )
    return redirect(url_for("workdays.calendar_days", year=year))
