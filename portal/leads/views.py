"""The city admin's industry-chain list (产业链), from which leads pick their chain."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select

from portal.access import access, city_roles
from portal.extensions import db
from portal.leads import chains
from portal.leads.models import IndustryChain
from portal.web import apply_toggle, current_actor

bp = Blueprint("leads", __name__)

CITY_ADMIN = city_roles("admin")


class ChainForm(FlaskForm):
    """Carries the CSRF token; the fields are read and checked by the service."""


def _chain_or_404(chain_id: int) -> IndustryChain:
    chain = db.session.get(IndustryChain, chain_id)
    if chain is None:
        abort(404)
    return chain


@bp.route("/admin/chains", methods=["GET", "POST"])
@access(CITY_ADMIN)
def chain_list():
    form = ChainForm()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            chain = chains.add_chain(
                db.session,
                current_actor(),
                name=request.form.get("name", ""),
                sort_order=request.form.get("sort_order", ""),
            )
        except chains.ChainInputError as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            db.session.commit()
            flash(f"已新增产业链“{chain.name}”。", "success")
            return redirect(url_for("leads.chain_list"))
    rows = db.session.scalars(
        select(IndustryChain).order_by(IndustryChain.active.desc(), IndustryChain.sort_order)
    ).all()
    return render_template(
        "leads/chains.html",
        form=form,
        errors=errors,
        rows=rows,
        values=request.form if errors else {},
    ), (422 if errors else 200)


@bp.route("/admin/chains/<int:chain_id>/edit", methods=["GET", "POST"])
@access(CITY_ADMIN)
def chain_edit(chain_id: int):
    chain = _chain_or_404(chain_id)
    form = ChainForm()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            chains.update_chain(
                db.session,
                current_actor(),
                chain,
                name=request.form.get("name", ""),
                sort_order=request.form.get("sort_order", ""),
            )
        except chains.ChainInputError as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            db.session.commit()
            flash("已保存。", "success")
            return redirect(url_for("leads.chain_list"))
    values = request.form if errors else {"name": chain.name, "sort_order": chain.sort_order}
    return render_template(
        "leads/chain_form.html", form=form, errors=errors, chain=chain, values=values
    ), (422 if errors else 200)


@bp.route("/admin/chains/<int:chain_id>/active", methods=["POST"])
@access(CITY_ADMIN)
def chain_set_active(chain_id: int):
    chain = _chain_or_404(chain_id)
    active = request.form.get("active") == "1"
    apply_toggle(
        lambda: chains.set_chain_active(db.session, current_actor(), chain, active),
        f"已{'启用' if active else '停用'}产业链“{chain.name}”。",
    )
    return redirect(url_for("leads.chain_list"))
