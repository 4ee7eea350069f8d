"""The large-city benchmark of the lead-passing issue.

Builds a city of 40 tenants with ≥100k leads and ≥300k referrals in a fresh SQLite file (migrated
with Flask-Migrate, bulk-inserted with Core ``insert()`` executemany), serves the real application
with a real WSGI server on loopback (gunicorn when installed, else werkzeug's threaded server) in
a subprocess, signs in through the real /login form, and measures, beside a bare "hello" route of
the same app in the same run:

* the receiver's inbox, GET /referrals (the 待签收 tab and the 已逾期 tab), as a county officer
  with a large inbox;
* the filtered lead list, GET /leads?stage=…&chain=…&min=…&q=…, as a city officer (and, for
  information, as the county officer, whose list goes through the lead_access visibility check);
* the lead page, GET /leads/<id>, for leads with several referrals (county and city officer).

Targets (the issue): p95 ≤ 100 ms for each page, and each page's throughput ≥ 25% of the bare
route's. The script is a report: it prints a table and always exits 0.

    .venv/bin/python bench/bench_leads.py                       # build, serve, measure, clean up
    .venv/bin/python bench/bench_leads.py --keep-db /tmp/city.db  # build once, reuse next time
    .venv/bin/python bench/bench_leads.py --leads 20000 --referrals 60000 --requests 100
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "Bench-pass-2026"  # noqa: S105 - a throwaway database
SECRET = "bench-secret-key-not-for-production"  # noqa: S105
TARGET_P95_MS = 100.0
TARGET_SHARE = 0.25
RESULTS_DIR = ROOT / "bench" / "results"

# ---- the application served ------------------------------------------------------------------


def bench_app(database_url: str | None = None):
    """The real application on the benchmark database, plus the bare baseline route."""
    from portal import create_app
    from portal.access import PUBLIC, access

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url or os.environ["BENCH_DATABASE_URL"],
            "SECRET_KEY": SECRET,
        }
    )

    @access(PUBLIC)
    def bench_hello():
        return "hello"

    app.add_url_rule("/bench/hello", "bench_hello", bench_hello)
    return app


# ---- building the city -----------------------------------------------------------------------

COUNTIES = [
    "德安县", "永修县", "都昌县", "湖口县", "彭泽县", "武宁县", "修水县", "瑞昌市", "共青城市",
    "庐山市", "濂溪区", "浔阳区", "柴桑区", "星子镇", "安义县", "进贤县", "南丰县", "黎川县",
    "宜黄县", "乐安县",
]  # fmt: skip
DEPARTMENTS = ["市商务局", "市发改委", "市工信局", "市科技局", "市自然资源局", "市农业农村局"]
PARK_SUFFIX = ["经济开发区", "高新技术产业园区"]
CITIES = [
    "深圳市", "宁波市", "上海", "苏州市", "东莞市", "杭州市", "广州市", "无锡市", "厦门市",
    "长沙市", "武汉市", "合肥市", "成都市", "青岛市", "佛山市", "温州市", "常州市", "南昌市",
]  # fmt: skip
BRANDS = "华瑞恒泰鑫源宏达盛世联创中科天成金诚新锐博远嘉和瀚海智信永安瑞丰卓越"
TRADES = ["光电", "新材料", "智能装备", "新能源", "生物", "电子", "精密机械", "食品", "物流",
          "数据", "纺织", "化学", "汽车部件", "医疗器械"]  # fmt: skip
SUFFIXES = ["科技有限公司", "股份有限公司", "有限公司", "集团有限公司", "科技股份有限公司"]
PRODUCTS = ["锂电池正极材料", "光伏组件", "触摸屏玻璃盖板", "新能源汽车线束", "预制菜",
            "智能家电零部件", "生物降解材料", "工业机器人", "半导体封装", "中药配方颗粒",
            "储能电池PACK", "铝型材", "功能性面料", "数据中心"]  # fmt: skip
CHANNELS = ["business", "expo", "fund", "native", "agency", "department", "office", "online"]
CHAINS = [
    "电子信息", "新能源", "光伏光电", "锂电新能源", "新材料", "装备制造", "汽车及零部件",
    "生物医药", "绿色食品", "现代纺织服装", "数字经济", "现代物流", "文化旅游", "石油化工",
]  # fmt: skip
LANDED_STAGES = ("signed", "registered", "started", "producing", "full", "in_stats", "above_scale")
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def credit_code(seed: int) -> str:
    from portal.leads.service import CREDIT_CODE_CHARS, CREDIT_CODE_WEIGHTS

    body = f"{int(hashlib.sha256(str(seed).encode()).hexdigest()[:12], 16) % 10**8:08d}"
    check = 11 - sum(int(c) * w for c, w in zip(body, ORG_WEIGHTS, strict=True)) % 11
    head = "91440300" + body + {10: "X", 11: "0"}.get(check, str(check))
    total = sum(
        CREDIT_CODE_CHARS.index(c) * w for c, w in zip(head, CREDIT_CODE_WEIGHTS, strict=True)
    )
    return head + CREDIT_CODE_CHARS[(31 - total % 31) % 31]


class Deadlines:
    """calendar.deadline(sent_at, n), memoised per local day (the deadline depends on no more)."""

    def __init__(self, calendar):
        self.calendar = calendar
        self.cache: dict = {}

    def __call__(self, moment: datetime, days: int) -> datetime:
        from portal.workdays.calendar import end_of_local_day, local_date

        key = (local_date(moment), days)
        found = self.cache.get(key)
        if found is None:
            found = end_of_local_day(self.calendar.nth_workday_after(key[0], days))
            self.cache[key] = found
        return found


def _tenants(now):
    """40 tenants: the city, 6 departments, 20 counties, 12 parks (under counties), an office."""
    rows = [dict(id=1, code="city", name="市投资促进局", kind="city", parent_id=None)]
    for i, name in enumerate(DEPARTMENTS):
        rows.append(dict(id=len(rows) + 1, code=f"dept{i + 1:02d}", name=name, kind="department",
                         parent_id=1))  # fmt: skip
    for i, name in enumerate(COUNTIES):
        rows.append(dict(id=len(rows) + 1, code=f"county{i + 1:02d}", name=name, kind="county",
                         parent_id=1))  # fmt: skip
    county_ids = [r["id"] for r in rows if r["kind"] == "county"]
    for i in range(12):
        parent = rows[county_ids[i] - 1]
        rows.append(dict(id=len(rows) + 1, code=f"park{i + 1:02d}",
                         name=parent["name"] + PARK_SUFFIX[i % 2], kind="park",
                         parent_id=parent["id"]))  # fmt: skip
    rows.append(dict(id=len(rows) + 1, code="kaohe", name="市考核办", kind="office", parent_id=1))
    for row in rows:
        row.update(active=True, created_at=now - timedelta(days=1200))
    return rows


def _stage_for(rng, age_days):
    if age_days < 20:
        return rng.choices(["lead", "talking", "terminated"], [55, 43, 2])[0]
    weights = {
        "lead": 30, "talking": 30, "signed": 8, "registered": 5, "started": 6,
        "producing": 5, "full": 2, "in_stats": 1, "above_scale": 1, "terminated": 8,
    }  # fmt: skip
    return rng.choices(list(weights), list(weights.values()))[0]


def build_database(path: Path, n_leads: int, n_referrals: int, seed: int = 2026) -> dict:
    """Create and fill the benchmark database at ``path``; returns row counts."""
    from flask_migrate import upgrade
    from sqlalchemy import insert, text

    from portal.auth.passwords import hash_password
    from portal.extensions import db
    from portal.leads.models import (
        IndustryChain,
        Lead,
        LeadAccess,
        LeadContact,
        LeadEvent,
        LeadStage,
    )
    from portal.referrals.models import Feedback, Referral
    from portal.workdays.calendar import local_date
    from portal.workdays.service import load_calendar
    from tenants.models import Tenant, User
    from tenants.scoping import wider_scope

    started = time.perf_counter()
    rng = random.Random(seed)
    app = bench_app(f"sqlite:///{path}")
    counts: dict[str, int] = {}
    with app.app_context():
        upgrade()
        now = datetime.now(UTC).replace(microsecond=0)
        today = local_date(now)
        deadline = Deadlines(load_calendar(db.session))
        db.session.remove()
        tenants = _tenants(now)
        by_kind = defaultdict(list)
        for t in tenants:
            by_kind[t["kind"]].append(t["id"])
        password_hash = hash_password(PASSWORD)  # hashed once, reused
        users, officer_of, head_of = [], {}, {}
        for t in tenants:
            roles = ["officer", "head", "admin"] + (
                ["assessor"] if t["kind"] in ("city", "office") else []
            )
            for role in roles:
                uid = len(users) + 1
                users.append(dict(id=uid, tenant_id=t["id"], login_name=f"{t['code']}.{role}",
                                  display_name=f"{t['name']}{role}", email=None,
                                  password_hash=password_hash, roles=role, active=True,
                                  must_change_password=False, created_at=t["created_at"],
                                  last_login_at=None))  # fmt: skip
                if role == "officer":
                    officer_of[t["id"]] = uid
                if role == "head":
                    head_of[t["id"]] = uid
        chains = [
            dict(id=i + 1, name=name, sort_order=(i + 1) * 10, active=True,
                 created_at=now - timedelta(days=1200))
            for i, name in enumerate(CHAINS)
        ]  # fmt: skip
        chain_weights = [14 - i for i in range(len(CHAINS))]

        # Who posts (weights by kind) and who receives (counties most, the first ones busiest).
        posters = (
            [(1, 25.0)]
            + [(t, 15.0 / 6) for t in by_kind["department"]]
            + [(t, 45.0 / 20) for t in by_kind["county"]]
            + [(t, 15.0 / 12) for t in by_kind["park"]]
        )
        poster_ids, poster_w = zip(*posters, strict=True)
        receivers = (
            [(t, 6.0 / (1 + i * 0.15)) for i, t in enumerate(by_kind["county"])]
            + [(t, 2.0) for t in by_kind["park"]]
            + [(t, 0.6) for t in by_kind["department"]]
        )
        receiver_ids, receiver_w = zip(*receivers, strict=True)

        leads, contacts, events, stages_rows = [], [], [], []
        referrals, feedback = [], []
        access: dict[tuple[int, int], list[bool]] = {}

        def grant(tenant_id, lead_id, referrer=False, contact=False):
            row = access.setdefault((tenant_id, lead_id), [False, False])
            row[0] = row[0] or referrer
            row[1] = row[1] or contact

        def event(lead_id, referral_id, tenant_id, kind, summary, moment):
            events.append(dict(id=len(events) + 1, lead_id=lead_id, referral_id=referral_id,
                               tenant_id=tenant_id, actor_name="", kind=kind,
                               summary=summary, occurred_at=moment))  # fmt: skip

        def clamp(moment, floor):
            return max(floor, min(moment, now - timedelta(minutes=1)))

        def pick_state(age_days, landing):
            if landing:
                return rng.choices(["not_landed", "returned", "withdrawn"], [60, 30, 10])[0]
            if age_days < 3:
                return rng.choices(["sent", "accepted", "return_requested", "withdrawn"],
                                   [60, 25, 10, 5])[0]  # fmt: skip
            if age_days < 30:
                return rng.choices(
                    ["sent", "return_requested", "accepted", "reported", "returned", "withdrawn",
                     "transferred"], [10, 3, 17, 50, 10, 5, 5])[0]  # fmt: skip
            return rng.choices(
                ["sent", "accepted", "reported", "returned", "withdrawn", "transferred",
                 "not_landed"], [2, 3, 35, 15, 5, 5, 35])[0]  # fmt: skip

        def add_referral(lead, from_id, to_id, state, sent_at, parent_id=None):
            rid = len(referrals) + 1
            sign_by, report_by = deadline(sent_at, 1), deadline(sent_at, 5)
            row = dict(id=rid, lead_id=lead["id"], parent_id=parent_id, from_tenant_id=from_id,
                       to_tenant_id=to_id, sender_id=officer_of[from_id],
                       note="请对接，企业有意向在我市布局。", state=state, sent_at=sent_at,
                       sign_by=sign_by, report_by=report_by, accepted_at=None,
                       accepted_by_id=None, first_report_at=None, last_feedback_at=None,
                       closed_at=None, return_reason=None, return_text="", return_refused=False,
                       not_landed_reason=None, close_note="", extensions_granted=0,
                       last_urged_at=None, version=1)  # fmt: skip
            referrals.append(row)
            grant(from_id, lead["id"], referrer=True)
            grant(to_id, lead["id"])
            event(lead["id"], rid, from_id, "sent" if parent_id is None else "transferred",
                  "推送", sent_at)  # fmt: skip
            if state in ("accepted", "reported", "transferred", "landed", "not_landed"):
                row["accepted_at"] = clamp(sent_at + timedelta(hours=rng.uniform(0.5, 40)),
                                           sent_at)  # fmt: skip
                row["accepted_by_id"] = officer_of[to_id]
                grant(to_id, lead["id"], contact=True)
                event(lead["id"], rid, to_id, "accepted", "签收", row["accepted_at"])
            if state in ("reported", "landed") or (state == "not_landed" and rng.random() < 0.9):
                first = clamp(row["accepted_at"] + timedelta(hours=rng.uniform(1, 150)),
                              row["accepted_at"])  # fmt: skip
                row["first_report_at"] = first
                row["last_feedback_at"] = clamp(first + timedelta(days=rng.uniform(0, 40)), first)
                feedback.append(dict(id=len(feedback) + 1, referral_id=rid, tenant_id=to_id,
                                     author_id=officer_of[to_id], contacted_on=local_date(first),
                                     method="phone", summary="已与企业电话沟通，介绍投资环境。",
                                     intention="medium", next_step="邀请企业实地考察。",
                                     stage_after="talking", created_at=first))  # fmt: skip
                event(lead["id"], rid, to_id, "feedback", "对接反馈", first)
            if state in ("return_requested", "returned"):
                row["return_reason"] = rng.choice(["not_fit", "land", "no_intent", "duplicate"])
                row["return_text"] = "不符合我地产业定位。"
                event(lead["id"], rid, to_id, "return_requested", "申请退回",
                      clamp(sent_at + timedelta(hours=3), sent_at))  # fmt: skip
            if state in ("returned", "withdrawn"):
                row["closed_at"] = clamp(sent_at + timedelta(hours=rng.uniform(4, 30)), sent_at)
                event(lead["id"], rid, from_id if state == "withdrawn" else to_id, state,
                      "退回" if state == "returned" else "撤回", row["closed_at"])  # fmt: skip
            if state == "transferred":
                row["closed_at"] = clamp(row["accepted_at"] + timedelta(hours=rng.uniform(2, 72)),
                                         row["accepted_at"])  # fmt: skip
            if state == "not_landed":
                base = row["first_report_at"] or row["accepted_at"]
                row["closed_at"] = clamp(base + timedelta(days=rng.uniform(3, 60)), base)
                row["not_landed_reason"] = rng.choice(["no_intent", "elsewhere", "conditions"])
                event(lead["id"], rid, to_id, "not_landed", "未落地", row["closed_at"])
            return row

        for lead_id in range(1, n_leads + 1):
            created = now - timedelta(seconds=rng.uniform(3600, 3 * 365 * 86400))
            age_days = (now - created).days
            owner = rng.choices(poster_ids, poster_w)[0]
            city = rng.choice(CITIES)
            company = (f"{city}{rng.choice(BRANDS)}{rng.choice(BRANDS)}{rng.choice(TRADES)}"
                       f"{rng.choice(SUFFIXES)}")  # fmt: skip
            investment = int(rng.lognormvariate(9.3, 1.1))
            stage = _stage_for(rng, age_days)
            lead = dict(id=lead_id, tenant_id=owner, code=f"XS-{local_date(created).year}-"
                        f"{lead_id:06d}", title=f"年产{rng.randint(1, 900)}万件"
                        f"{rng.choice(PRODUCTS)}项目", company=company,
                        credit_code=credit_code(lead_id) if rng.random() < 0.6 else None,
                        company_origin=city.rstrip("市"), chain_id=rng.choices(
                            range(1, len(CHAINS) + 1), chain_weights)[0],
                        planned_investment=investment, land_need=round(rng.uniform(10, 500), 1),
                        description="企业拟在我市投资建设生产基地，需标准厂房和配套用地。",
                        source_channel=rng.choice(CHANNELS), stage=stage, host_tenant_id=None,
                        signed_on=None, signed_amount=None, created_by_id=officer_of[owner],
                        created_at=created, updated_at=created, version=1)  # fmt: skip
            leads.append(lead)
            contacts.append(dict(lead_id=lead_id, contact_name="王经理",
                                 contact_phone=f"138{lead_id:08d}"))  # fmt: skip
            grant(owner, lead_id, referrer=True, contact=True)
            event(lead_id, None, owner, "created", "登记线索", created)
            landing = stage in LANDED_STAGES or (stage == "terminated" and rng.random() < 0.5)
            k = rng.choices(range(7), [5, 18, 22, 20, 15, 10, 10])[0]
            if landing:
                k = max(k, 1)
            pool = [t for t in rng.choices(receiver_ids, receiver_w, k=k + 8) if t != owner]
            targets = list(dict.fromkeys(pool))[:k]
            spread = min(10.0, max(age_days, 0.05))
            for index, to_id in enumerate(targets):
                sent_at = clamp(created + timedelta(days=rng.uniform(0, spread)), created)
                if landing and index == 0:
                    row = add_referral(lead, owner, to_id, "landed", sent_at)
                    signed = local_date(clamp(row["first_report_at"] +
                                              timedelta(days=rng.uniform(10, 90)),
                                              row["first_report_at"]))  # fmt: skip
                    row["closed_at"] = max(row["last_feedback_at"], row["first_report_at"])
                    lead.update(host_tenant_id=to_id, signed_on=signed,
                                signed_amount=int(investment * rng.uniform(0.8, 1.2)))  # fmt: skip
                    grant(to_id, lead_id, contact=True)
                    event(lead_id, row["id"], to_id, "landed", "落地", row["closed_at"])
                    day = signed
                    if stage != "signed":
                        later = LANDED_STAGES[1 : LANDED_STAGES.index(stage) + 1] if (
                            stage in LANDED_STAGES) else ("registered", "terminated")  # fmt: skip
                        for name in later:
                            day = min(today, day + timedelta(days=rng.randint(5, 60)))
                            stages_rows.append(dict(id=len(stages_rows) + 1, lead_id=lead_id,
                                                    tenant_id=to_id, stage=name, on_date=day,
                                                    reason="企业经营变化" if name == "terminated"
                                                    else "", recorded_by_id=officer_of[to_id],
                                                    recorded_at=now))  # fmt: skip
                    continue
                state = pick_state(age_days, landing)
                row = add_referral(lead, owner, to_id, state, sent_at)
                if state == "transferred":
                    others = [t for t in rng.choices(receiver_ids, receiver_w, k=6)
                              if t not in targets and t != owner]  # fmt: skip
                    if others:
                        child_state = pick_state(age_days, landing)
                        if child_state == "transferred":
                            child_state = "reported"
                        targets.append(others[0])
                        add_referral(lead, to_id, others[0], child_state, row["closed_at"],
                                     parent_id=row["id"])  # fmt: skip
        # Top up to the referral target: more counties consulted on older leads.
        while len(referrals) < n_referrals:
            lead = leads[rng.randrange(len(leads))]
            age_days = (now - lead["created_at"]).days
            if lead["host_tenant_id"] is not None or age_days < 30:
                continue
            to_id = rng.choices(receiver_ids, receiver_w)[0]
            if to_id == lead["tenant_id"] or (to_id, lead["id"]) in access:
                continue
            sent_at = clamp(lead["created_at"] + timedelta(days=rng.uniform(0, 10)),
                            lead["created_at"])  # fmt: skip
            state = rng.choice(["returned", "not_landed", "reported", "withdrawn"])
            add_referral(lead, lead["tenant_id"], to_id, state, sent_at)

        access_rows = [dict(tenant_id=t, lead_id=lead_id, is_referrer=v[0], sees_contact=v[1])
                       for (t, lead_id), v in access.items()]  # fmt: skip
        generated = time.perf_counter()
        plan = [
            (Tenant, tenants), (User, users), (IndustryChain, chains), (Lead, leads),
            (LeadContact, contacts), (LeadAccess, access_rows), (Referral, referrals),
            (Feedback, feedback), (LeadEvent, events), (LeadStage, stages_rows),
        ]  # fmt: skip
        with wider_scope("cli"), db.engine.begin() as conn:
            for model, rows in plan:
                for start in range(0, len(rows), 20_000):
                    conn.execute(insert(model.__table__), rows[start : start + 20_000])
                counts[model.__tablename__] = len(rows)
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        db.engine.dispose()
    print(
        f"built {path} in {time.perf_counter() - started:.0f} s "
        f"(generate {generated - started:.0f} s, insert+ANALYZE "
        f"{time.perf_counter() - generated:.0f} s): "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items()),
        flush=True,
    )
    return counts


# ---- what to request -------------------------------------------------------------------------


def pick_targets(path: Path) -> dict:
    """The busiest county (its officer's inbox), a chain, leads with several referrals."""
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        county_id, county_code, incoming = conn.execute(
            "SELECT t.id, t.code, COUNT(*) FROM referral r JOIN tenant t ON t.id = r.to_tenant_id "
            "WHERE t.kind = 'county' GROUP BY t.id ORDER BY COUNT(*) DESC LIMIT 1"
        ).fetchone()
        chain_id = conn.execute(
            "SELECT chain_id FROM lead GROUP BY chain_id ORDER BY COUNT(*) DESC LIMIT 1"
        ).fetchone()[0]
        lead_ids = [
            row[0]
            for row in conn.execute(
                "SELECT lead_id FROM referral WHERE lead_id IN "
                "(SELECT lead_id FROM referral WHERE to_tenant_id = ?) "
                "GROUP BY lead_id HAVING COUNT(*) >= 4 ORDER BY lead_id DESC LIMIT 40",
                (county_id,),
            )
        ]
        pending = conn.execute(
            "SELECT COUNT(*) FROM referral WHERE to_tenant_id = ? AND state IN "
            "('sent', 'return_requested')",
            (county_id,),
        ).fetchone()[0]
        totals = {
            "leads": conn.execute("SELECT COUNT(*) FROM lead").fetchone()[0],
            "referrals": conn.execute("SELECT COUNT(*) FROM referral").fetchone()[0],
            "tenants": conn.execute("SELECT COUNT(*) FROM tenant").fetchone()[0],
        }
    finally:
        conn.close()
    return {
        "county": county_code,
        "incoming": incoming,
        "pending": pending,
        "chain": chain_id,
        "lead_ids": lead_ids,
        **totals,
    }


# ---- the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def have_gunicorn() -> bool:
    return shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is not None


def start_server(kind: str, database_url: str, port: int, instance: Path, workers: int):
    env = dict(os.environ)
    env.update(
        BENCH_DATABASE_URL=database_url,
        PORTAL_INSTANCE_PATH=str(instance),
        PYTHONPATH=str(ROOT),
    )
    if kind == "gunicorn":
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers),
            "--worker-class", "gthread",
            "--threads", "4",
            "--log-level", "warning",
            "--chdir", str(ROOT),
            "bench.bench_leads:bench_app()",
        ]  # fmt: skip
    else:
        command = [sys.executable, str(Path(__file__).resolve()), "--serve", str(port)]
    process = subprocess.Popen(command, env=env, cwd=ROOT)  # noqa: S603 - our own command
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return process
        except OSError:
            time.sleep(0.2)
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
    process.terminate()
    raise SystemExit("the server did not answer /healthz within 60 s")


def serve_werkzeug(port: int) -> None:
    from werkzeug.serving import make_server

    make_server("127.0.0.1", port, bench_app(), threaded=True).serve_forever()


# ---- the client ------------------------------------------------------------------------------

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class Client:
    """A keep-alive HTTP/1.1 client with a cookie jar; one per thread."""

    def __init__(self, port: int, cookies: dict | None = None):
        self.port = port
        self.cookies = dict(cookies or {})
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body: dict | None = None):
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                payload = response.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 2:
                    raise
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return response.status, payload

    def sign_in(self, login_name: str) -> None:
        status, page = self.request("GET", "/login")
        token = CSRF.search(page.decode("utf-8"))
        assert status == 200 and token, f"/login answered {status} without a CSRF token"
        status, _ = self.request(
            "POST",
            "/login",
            {"csrf_token": token.group(1), "login_name": login_name, "password": PASSWORD},
        )
        assert status == 302, f"signing in as {login_name} answered {status}"


def measure(port: int, cookies: dict, paths: list[str], requests: int, threads: int, warmup=20):
    """Latencies (ms) of ``requests`` GETs cycling through ``paths`` over ``threads`` keep-alive
    connections, after ``warmup`` requests; returns (latencies, wall seconds, non-200 count)."""
    warm = Client(port, cookies)
    for i in range(warmup):
        warm.request("GET", paths[i % len(paths)])
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    per_thread = [
        requests // threads + (1 if i < requests % threads else 0) for i in range(threads)
    ]
    start_line = threading.Barrier(threads + 1)

    def worker(index: int, count: int) -> None:
        client = Client(port, cookies)
        client.request("GET", paths[index % len(paths)])  # open the connection
        mine = []
        start_line.wait()
        for i in range(count):
            began = time.perf_counter()
            status, _ = client.request("GET", paths[(index + i * threads) % len(paths)])
            mine.append((time.perf_counter() - began) * 1000)
            if status != 200:
                with lock:
                    failures[0] += 1
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker, args=(i, n)) for i, n in enumerate(per_thread)]
    for t in pool:
        t.start()
    start_line.wait()
    began = time.perf_counter()
    for t in pool:
        t.join()
    return latencies, time.perf_counter() - began, failures[0]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# ---- main ------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--referrals", type=int, default=300_000)
    parser.add_argument("--requests", type=int, default=300, help="measured requests per page")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--threads", type=int, default=4, help="concurrent client connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--server", choices=("auto", "gunicorn", "werkzeug"), default="auto")
    parser.add_argument("--keep-db", metavar="PATH", help="build the database here, or reuse it")
    parser.add_argument("--build-only", action="store_true", help="build --keep-db and stop")
    parser.add_argument(
        "--no-breakdown", action="store_true", help="skip the in-process breakdown after the run"
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve_werkzeug(args.serve)
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="bench-leads-"))
    os.environ["PORTAL_INSTANCE_PATH"] = str(workdir / "instance")
    try:
        if args.keep_db:
            path = Path(args.keep_db).resolve()
            if path.exists():
                print(f"reusing {path}", flush=True)
            else:
                build_database(path, args.leads, args.referrals)
        else:
            path = workdir / "city.db"
            build_database(path, args.leads, args.referrals)
        if args.build_only:
            return 0
        targets = pick_targets(path)
        server = args.server
        if server == "auto":
            server = "gunicorn" if have_gunicorn() else "werkzeug"
        port = free_port()
        process = start_server(
            server, f"sqlite:///{path}", port, workdir / "instance", args.workers
        )
        try:
            rows = run_pages(port, targets, args)
        finally:
            process.terminate()
            process.wait(timeout=30)
        extra = []
        if not args.no_breakdown:
            print("  measuring in process (breakdown)", flush=True)
            extra = breakdown_lines(breakdown(path, targets, min(args.requests, 200)), rows)
        report(rows, targets, args, server, extra)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def page_plan(targets: dict) -> list[tuple[str, str | None, list[str], bool]]:
    """(name, who signs in — None, "county" or "city" —, paths, judged) of each measured page."""
    query = urllib.parse.urlencode(
        {"stage": "talking", "chain": targets["chain"], "min": 1000, "q": "科技"}
    )
    lead_pages = [f"/leads/{i}" for i in targets["lead_ids"]] or ["/leads/1"]
    return [
        ("hello (bare route, anonymous)", None, ["/bench/hello"], True),
        ("hello (bare route, signed in)", "county", ["/bench/hello"], False),
        ("inbox 待签收 (county)", "county", ["/referrals?tab=pending"], True),
        ("inbox 已逾期 (county)", "county", ["/referrals?tab=overdue"], True),
        ("lead list filtered (city)", "city", [f"/leads?{query}"], True),
        ("lead list filtered (county)", "county", [f"/leads?{query}"], False),
        ("lead page (county)", "county", lead_pages, True),
        ("lead page (city)", "city", lead_pages, False),
    ]


def login_names(targets: dict) -> dict[str, str]:
    return {"county": f"{targets['county']}.officer", "city": "city.officer"}


def run_pages(port: int, targets: dict, args) -> list[dict]:
    cookies = {None: {}}
    for who, login_name in login_names(targets).items():
        client = Client(port)
        client.sign_in(login_name)
        cookies[who] = client.cookies
    rows = []
    for name, who, paths, judged in page_plan(targets):
        latencies, wall, failures = measure(
            port, cookies[who], paths, args.requests, args.threads, args.warmup
        )
        rows.append(
            {
                "page": name,
                "path": paths[0],
                "requests": len(latencies),
                "rps": len(latencies) / wall if wall else 0.0,
                "p50": statistics.median(latencies),
                "p95": percentile(latencies, 0.95),
                "failures": failures,
                "judged": judged,
            }
        )
        print(f"  measured {name}: {rows[-1]['rps']:.0f} rps", flush=True)
    return rows


# ---- where a page's time goes ----------------------------------------------------------------


def breakdown(path: Path, targets: dict, requests: int) -> list[dict]:
    """Each page measured in this process, one request at a time, through ``app.test_client()``
    (the whole application: session, scoping, SQL, ORM, templates; no HTTP server, no client),
    and the SQL it runs replayed alone through the ``sqlite3`` module (no SQLAlchemy): the floor
    any implementation of the page on this database pays before rendering a byte."""
    import sqlite3

    from sqlalchemy import event

    from portal.extensions import db

    app = bench_app(f"sqlite:///{path}")
    with app.app_context():
        engine = db.engine
    selects: list[tuple[str, tuple]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            selects.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    clients = {None: app.test_client()}
    for who, login_name in login_names(targets).items():
        clients[who] = app.test_client()
        page = clients[who].get("/login").get_data(as_text=True)
        token = CSRF.search(page).group(1)
        form = {"csrf_token": token, "login_name": login_name, "password": PASSWORD}
        answer = clients[who].post("/login", data=form)
        assert answer.status_code == 302, f"signing in as {login_name}: {answer.status_code}"
    raw = sqlite3.connect(path)
    rows = []
    try:
        for name, who, paths, _ in page_plan(targets):
            client = clients[who]
            for page_path in paths:  # warm the caches: templates, compiled statements, pages
                client.get(page_path)
            began = time.perf_counter()
            for i in range(requests):
                client.get(paths[i % len(paths)])
            app_ms = (time.perf_counter() - began) * 1000 / requests
            per_path = []
            for page_path in paths:
                selects.clear()
                client.get(page_path)
                per_path.append(list(selects))
            began = time.perf_counter()
            for i in range(requests):
                for statement, parameters in per_path[i % len(paths)]:
                    raw.execute(statement, parameters).fetchall()
            sql_ms = (time.perf_counter() - began) * 1000 / requests
            statements = statistics.median(len(p) for p in per_path)
            rows.append({"page": name, "app": app_ms, "sql": sql_ms, "statements": statements})
    finally:
        raw.close()
        event.remove(engine, "before_cursor_execute", capture)
    return rows


def breakdown_lines(rows: list[dict], wire: list[dict]) -> list[str]:
    """The breakdown beside the budget the throughput target leaves each page: with every core
    busy, the bare route costs cores / rps of machine time per request (client, HTTP server and
    app together); 25 % of its throughput allows a page four times that."""
    cores = os.cpu_count() or 1
    bare_ms = cores * 1000 / wire[0]["rps"] if wire and wire[0]["rps"] else float("nan")
    budget = bare_ms / TARGET_SHARE
    lines = [
        "",
        "where the time goes (in this process, one request at a time, same database):",
        f"budget per page request for {TARGET_SHARE:.0%} of the bare route: {cores} cores / "
        f"{wire[0]['rps']:.1f} rps = {bare_ms:.2f} ms of machine time per bare request, "
        f"× {1 / TARGET_SHARE:.0f} = {budget:.2f} ms",
        "",
        f"{_pad('page', 32)} {'app ms':>8} {'SQL ms':>8} {'stmts':>6} {'budget':>8}  verdict",
    ]
    for row in rows:
        if row["page"].startswith("hello"):
            verdict = "baseline"
            budget_text = ""
        else:
            budget_text = f"{budget:.2f}"
            if row["sql"] >= budget:
                verdict = "its SQL alone exceeds the budget"
            elif row["app"] > budget:
                over, sql_share = row["app"] / budget, row["sql"] / budget
                verdict = f"app {over:.1f}× the budget (its SQL {sql_share:.0%} of it)"
            else:
                verdict = "within the budget in process"
        lines.append(
            f"{_pad(row['page'], 32)} {row['app']:>8.2f} {row['sql']:>8.2f} "
            f"{row['statements']:>6.0f} {budget_text:>8}  {verdict}"
        )
    lines += [
        "",
        "app ms: the whole request through app.test_client() (no HTTP server, no client); SQL ms: "
        "the page's SELECTs replayed through sqlite3 alone. The budget also has to pay for the "
        "HTTP server and the client, which the app column does not include.",
    ]
    return lines


def _pad(text_: str, width: int) -> str:
    """Left-align in ``width`` terminal columns (CJK characters take two)."""
    import unicodedata

    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text_)
    return text_ + " " * max(0, width - used)


def report(rows: list[dict], targets: dict, args, server: str, extra: list[str]) -> None:
    bare = rows[0]["rps"]
    lines = [
        f"信息桥 lead benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, server {server} "
        f"(workers {args.workers if server == 'gunicorn' else 1}), {args.threads} client "
        f"threads, {args.requests} requests per page after {args.warmup} warm-up",
        f"city: {targets['tenants']} tenants, {targets['leads']:,} leads, "
        f"{targets['referrals']:,} referrals; inbox of {targets['county']}.officer: "
        f"{targets['incoming']:,} referrals ({targets['pending']:,} 待签收); "
        f"{len(targets['lead_ids'])} lead pages with ≥4 referrals",
        "",
        f"{_pad('page', 32)} {'requests':>8} {'rps':>8} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'% of bare':>9}  result",
    ]
    for row in rows:
        share = row["rps"] / bare if bare else 0.0
        if row is rows[0]:
            verdict = "baseline"
        else:
            ok = row["p95"] <= TARGET_P95_MS and share >= TARGET_SHARE and not row["failures"]
            verdict = ("PASS" if ok else "FAIL") + ("" if row["judged"] else " (info)")
            if row["failures"]:
                verdict += f" — {row['failures']} non-200"
        lines.append(
            f"{_pad(row['page'], 32)} {row['requests']:>8} {row['rps']:>8.1f} {row['p50']:>8.1f} "
            f"{row['p95']:>8.1f} {share * 100:>8.0f}%  {verdict}"
        )
    lines += [
        "",
        f"targets: p95 ≤ {TARGET_P95_MS:.0f} ms and throughput ≥ {TARGET_SHARE:.0%} of the bare "
        "route (anonymous) for each page; rows marked (info) are measured but not judged.",
        *extra,
    ]
    text_ = "\n".join(lines)
    print("\n" + text_)
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"bench_leads-{stamp}.txt").write_text(text_ + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
