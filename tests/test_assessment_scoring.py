"""The pure scoring core of referral credit (portal/assessment/scoring.py).

Expected points are worked out by hand from the default rules: tiers 3 / 6 / 10 / 15 points
from 0 / 1 亿 / 5 亿 / 10 亿元, 开工 +2, 投产 +3, first introducer 60 %, intermediaries 40 %
split equally, late signing -0.5, late first report -1, yearly cap 30, the city not scored,
window 730 days.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest

from portal.assessment.scoring import (
    KIND_LABELS,
    RULE_LABELS,
    Posting,
    Proposal,
    Tier,
    apply_yearly_cap,
    company_key,
    default_rules,
    describe,
    first_introducers,
    landing_proposals,
    merge_new,
    normalise_name,
    penalty_proposals,
    stage_proposals,
)
from portal.validation import InputError

D = Decimal
RULES = default_rules(2026)

CITY, DEPT, COUNTY_A, COUNTY_B, PARK, DEPT_2 = 1, 2, 3, 4, 5, 6
KINDS = {
    CITY: "city",
    DEPT: "department",
    COUNTY_A: "county",
    COUNTY_B: "county",
    PARK: "park",
    DEPT_2: "department",
}
FIRST_REFERRAL = date(2025, 3, 1)
LEAD = 7


def land(chain, *, first=None, investment=20_000, rules=RULES, landed=date(2025, 9, 1), lead=LEAD):
    return landing_proposals(
        rules,
        lead_id=lead,
        chain=chain,
        first_introducer_tenant_id=chain[0] if first is None else first,
        planned_investment=investment,
        first_referral_on=FIRST_REFERRAL,
        landed_on=landed,
        tenant_kinds=KINDS,
    )


def stage(chain, stage_code, *, first=None, rules=RULES, reached=date(2026, 2, 1), lead=LEAD):
    return stage_proposals(
        rules,
        lead_id=lead,
        stage=stage_code,
        chain=chain,
        first_introducer_tenant_id=chain[0] if first is None else first,
        first_referral_on=FIRST_REFERRAL,
        reached_on=reached,
        tenant_kinds=KINDS,
    )


def penalties(receiver, *, signed_late=True, reported_late=True, rules=RULES, referral=40):
    return penalty_proposals(
        rules,
        referral_id=referral,
        receiver_tenant_id=receiver,
        signed_late=signed_late,
        reported_late=reported_late,
        tenant_kinds=KINDS,
    )


def earned(proposals):
    """tenant -> (rule, points); fails when a tenant got two entries from one event."""
    found = {p.tenant_id: (p.rule, p.points) for p in proposals}
    assert len(found) == len(proposals), proposals
    return found


# --- Base points by tier ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("investment", "points"),
    [
        (0, "3"),
        (9_999, "3"),
        (10_000, "6"),
        (49_999, "6"),
        (50_000, "10"),
        (99_999, "10"),
        (100_000, "15"),
        (5_000_000, "15"),
    ],
)
def test_a_sole_introducer_earns_the_whole_base_of_the_tier(investment, points):
    assert earned(land([DEPT, COUNTY_A], investment=investment)) == {
        DEPT: ("landing_first", D(points))
    }


def test_an_unknown_investment_earns_no_base_points():
    assert land([DEPT, COUNTY_A], investment=None) == []


@pytest.mark.parametrize(("investment", "points"), [(999, None), (1_000, "2"), (1_001, "2")])
def test_an_investment_below_the_first_tier_earns_nothing(investment, points):
    rules = replace(RULES, tiers=(Tier(1_000, D("2")),))
    expected = {} if points is None else {DEPT: ("landing_first", D(points))}
    assert earned(land([DEPT, COUNTY_A], investment=investment, rules=rules)) == expected


def test_a_tier_with_zero_points_proposes_nothing():
    rules = replace(RULES, tiers=(Tier(0, D("0")), Tier(10_000, D("6"))))
    assert land([DEPT, COUNTY_A], investment=9_999, rules=rules) == []


# --- Chains of one to four tenants (base 6: planned investment 2 亿元) ---------------------------


@pytest.mark.parametrize(
    ("chain", "first", "expected"),
    [
        pytest.param([COUNTY_A], COUNTY_A, {}, id="1-posted-and-landed-in-one-tenant"),
        pytest.param(
            [COUNTY_A], DEPT, {DEPT: ("landing_first", "6")}, id="1-host-posted-a-duplicate"
        ),
        pytest.param([DEPT, COUNTY_A], DEPT, {DEPT: ("landing_first", "6")}, id="2"),
        pytest.param([CITY, COUNTY_A], CITY, {}, id="2-city-introduces"),
        pytest.param(
            [DEPT, COUNTY_A, COUNTY_B],
            DEPT,
            {DEPT: ("landing_first", "3.6"), COUNTY_A: ("landing_intermediary", "2.4")},
            id="3",
        ),
        pytest.param(
            [CITY, DEPT, COUNTY_A],
            CITY,
            {DEPT: ("landing_intermediary", "2.4")},
            id="3-city-introducer-share-not-redistributed",
        ),
        pytest.param(
            [DEPT, CITY, COUNTY_A],
            DEPT,
            {DEPT: ("landing_first", "3.6")},
            id="3-city-the-only-intermediary-still-counts",
        ),
        pytest.param(
            [COUNTY_A, DEPT, COUNTY_A],
            COUNTY_A,
            {DEPT: ("landing_intermediary", "2.4")},
            id="3-introducer-hosts-it-in-the-end",
        ),
        pytest.param(
            [DEPT_2, COUNTY_A],
            DEPT,
            {DEPT: ("landing_first", "3.6"), DEPT_2: ("landing_intermediary", "2.4")},
            id="2-duplicate-lead-landed-first-introducer-off-chain",
        ),
        pytest.param(
            [DEPT, COUNTY_A, PARK, COUNTY_B],
            DEPT,
            {
                DEPT: ("landing_first", "3.6"),
                COUNTY_A: ("landing_intermediary", "1.2"),
                PARK: ("landing_intermediary", "1.2"),
            },
            id="4",
        ),
        pytest.param(
            [DEPT, CITY, PARK, COUNTY_B],
            DEPT,
            {DEPT: ("landing_first", "3.6"), PARK: ("landing_intermediary", "1.2")},
            id="4-city-inside",
        ),
        pytest.param(
            [DEPT, COUNTY_A, DEPT, COUNTY_B],
            DEPT,
            {DEPT: ("landing_first", "3.6"), COUNTY_A: ("landing_intermediary", "2.4")},
            id="4-introducer-repeated-earns-once-as-introducer",
        ),
        pytest.param(
            [DEPT, PARK, COUNTY_A, PARK],
            DEPT,
            {DEPT: ("landing_first", "3.6"), COUNTY_A: ("landing_intermediary", "2.4")},
            id="4-host-passed-it-on-before-hosting",
        ),
        pytest.param(
            [DEPT, COUNTY_A, COUNTY_A, COUNTY_B],
            DEPT,
            {DEPT: ("landing_first", "3.6"), COUNTY_A: ("landing_intermediary", "2.4")},
            id="4-intermediary-repeated-splits-as-one",
        ),
    ],
)
def test_landing_credit_along_the_chain(chain, first, expected):
    proposals = land(chain, first=first)
    assert earned(proposals) == {t: (rule, D(points)) for t, (rule, points) in expected.items()}
    assert {p.key for p in proposals} == {f"land:{LEAD}:{t}" for t in expected}


def test_the_host_never_earns_from_a_landing():
    for chain in ([DEPT, COUNTY_A], [DEPT, COUNTY_A, PARK], [PARK, DEPT, COUNTY_A, PARK]):
        assert chain[-1] not in earned(land(chain))


def test_shares_round_half_up_per_entry():
    # 0.5 points split 50/50: 0.25 each, which rounds up (half-even would give 0.2).
    rules = replace(
        RULES,
        tiers=(Tier(0, D("0.5")),),
        first_introducer_share=D("0.5"),
        intermediary_share=D("0.5"),
    )
    assert earned(land([DEPT, COUNTY_A, COUNTY_B], rules=rules)) == {
        DEPT: ("landing_first", D("0.3")),
        COUNTY_A: ("landing_intermediary", D("0.3")),
    }


def test_a_landing_shows_its_evidence():
    (entry, _) = land([DEPT, COUNTY_A, COUNTY_B], landed=date(2025, 9, 1))
    assert entry.inputs == {
        "role": "first_introducer",
        "share": "0.6",
        "split_among": 1,
        "chain": [DEPT, COUNTY_A, COUNTY_B],
        "host_tenant_id": COUNTY_B,
        "first_introducer_tenant_id": DEPT,
        "first_referral_on": "2025-03-01",
        "window_ends_on": "2027-03-01",
        "rules": "2026-v1",
        "lead_id": LEAD,
        "planned_investment": 20_000,
        "tier_min_investment": 10_000,
        "base_points": "6",
        "landed_on": "2025-09-01",
    }


def test_intermediaries_evidence_names_the_split():
    entries = land([DEPT, COUNTY_A, PARK, COUNTY_B])
    middle = [p.inputs for p in entries if p.rule == "landing_intermediary"]
    assert [(i["share"], i["split_among"]) for i in middle] == [("0.4", 2), ("0.4", 2)]


# --- Stage bonuses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage_code", "chain", "expected"),
    [
        ("started", [DEPT, COUNTY_A], {DEPT: "2"}),
        ("started", [DEPT, COUNTY_A, COUNTY_B], {DEPT: "1.2", COUNTY_A: "0.8"}),
        ("producing", [DEPT, COUNTY_A, COUNTY_B], {DEPT: "1.8", COUNTY_A: "1.2"}),
        (
            "producing",
            [DEPT, COUNTY_A, PARK, COUNTY_B],
            {DEPT: "1.8", COUNTY_A: "0.6", PARK: "0.6"},
        ),
        ("producing", [CITY, COUNTY_A, COUNTY_B], {COUNTY_A: "1.2"}),
        ("started", [COUNTY_A], {}),
        ("registered", [DEPT, COUNTY_A], {}),
        ("full", [DEPT, COUNTY_A, COUNTY_B], {}),
    ],
)
def test_stage_bonus_split_like_a_landing(stage_code, chain, expected):
    proposals = stage(chain, stage_code)
    assert earned(proposals) == {t: (f"stage_{stage_code}", D(p)) for t, p in expected.items()}
    assert {p.key for p in proposals} == {f"stage:{LEAD}:{stage_code}:{t}" for t in expected}


def test_a_bonus_for_another_stage_is_configurable():
    rules = replace(RULES, stage_bonus={"registered": D("1")})
    assert earned(stage([DEPT, COUNTY_A], "registered", rules=rules)) == {
        DEPT: ("stage_registered", D("1"))
    }
    assert stage([DEPT, COUNTY_A], "started", rules=rules) == []


# --- The credit window (first referral 2025-03-01 + 730 days = 2027-03-01) --------------------


@pytest.mark.parametrize(
    ("event_on", "credited"),
    [
        (date(2025, 2, 28), False),  # before the first referral: not brought by it
        (date(2025, 3, 1), True),
        (date(2027, 2, 28), True),
        (date(2027, 3, 1), True),
        (date(2027, 3, 2), False),
    ],
)
@pytest.mark.parametrize("event", ["landing", "stage"])
def test_the_credit_window(event, event_on, credited):
    if event == "landing":
        proposals = land([DEPT, COUNTY_A], landed=event_on)
    else:
        proposals = stage([DEPT, COUNTY_A], "started", reached=event_on)
    assert bool(proposals) is credited


@pytest.mark.parametrize(
    ("event_on", "credited"), [(date(2025, 3, 11), True), (date(2025, 3, 12), False)]
)
def test_the_window_length_comes_from_the_rules(event_on, credited):
    rules = replace(RULES, credit_window_days=10)
    assert bool(land([DEPT, COUNTY_A], landed=event_on, rules=rules)) is credited


# --- Penalties --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("receiver", "signed_late", "reported_late", "expected"),
    [
        (COUNTY_A, True, False, {"late_sign": "-0.5"}),
        (COUNTY_A, False, True, {"late_report": "-1"}),
        (PARK, True, True, {"late_sign": "-0.5", "late_report": "-1"}),
        (DEPT, False, False, {}),
        (CITY, True, True, {}),
    ],
)
def test_penalties_charge_the_receiver(receiver, signed_late, reported_late, expected):
    proposals = penalties(receiver, signed_late=signed_late, reported_late=reported_late)
    assert {p.rule: p.points for p in proposals} == {rule: D(p) for rule, p in expected.items()}
    assert {p.tenant_id for p in proposals} <= {receiver}
    assert {p.key for p in proposals} == {f"{rule}:40" for rule in expected}


def test_a_penalty_set_to_zero_proposes_nothing():
    rules = replace(RULES, late_sign_penalty=D("0"))
    assert [p.rule for p in penalties(COUNTY_A, rules=rules)] == ["late_report"]


# --- Yearly cap (30) --------------------------------------------------------------------------


def entry(key, tenant, points):
    return Proposal(key, tenant, "landing_first", D(points), {"lead_id": 1})


@pytest.mark.parametrize(
    ("already", "points", "kept"),
    [
        pytest.param("20", "6", "6", id="below"),
        pytest.param("24", "6", "6", id="reaching-the-cap"),
        pytest.param("27", "6", "3", id="above"),
        pytest.param("29.9", "6", "0.1", id="a-tenth-left"),
        pytest.param("30", "6", "0", id="at-the-cap"),
        pytest.param("32", "6", "0", id="already-over"),
        pytest.param(None, "35", "30", id="nothing-counted-yet"),
    ],
)
def test_the_yearly_cap_trims_positive_points(already, points, kept):
    counted = {} if already is None else {DEPT: D(already)}
    (result,) = apply_yearly_cap(RULES, counted, [entry("land:1:2", DEPT, points)])
    assert result.key == "land:1:2"
    assert result.points == D(kept)
    if D(kept) == D(points):
        assert "points_before_cap" not in result.inputs
    else:
        assert result.inputs["points_before_cap"] == points
        assert result.inputs["yearly_cap"] == "30"
        assert result.inputs["lead_id"] == 1


@pytest.mark.parametrize("already", ["0", "30", "45"])
def test_penalties_are_never_capped(already):
    penalty = Proposal("late_sign:9", DEPT, "late_sign", D("-0.5"), {})
    assert apply_yearly_cap(RULES, {DEPT: D(already)}, [penalty]) == [penalty]


def test_the_cap_takes_a_batch_in_order_per_tenant():
    batch = [
        entry("a", DEPT, "6"),
        Proposal("p", DEPT, "late_report", D("-1"), {}),
        entry("b", DEPT, "6"),
        entry("c", COUNTY_A, "6"),
    ]
    result = apply_yearly_cap(RULES, {DEPT: D("25"), COUNTY_A: D("0")}, batch)
    # DEPT: 5 of room for "a", then none for "b"; the penalty gives no room back.
    assert [(p.key, p.points) for p in result] == [
        ("a", D("5")),
        ("p", D("-1")),
        ("b", D("0")),
        ("c", D("6")),
    ]


def test_the_cap_comes_from_the_rules():
    rules = replace(RULES, yearly_cap=D("8"))
    (result,) = apply_yearly_cap(rules, {DEPT: D("5")}, [entry("a", DEPT, "6")])
    assert result.points == D("3")


# --- Idempotency --------------------------------------------------------------------------------


def events(rules=RULES):
    """One project's events and a few deadline misses, as the services would feed them."""
    chain = [DEPT, COUNTY_A, PARK, COUNTY_B]
    yield land(chain, rules=rules)
    yield stage(chain, "started", rules=rules)
    yield stage(chain, "producing", rules=rules)
    yield land([DEPT_2, COUNTY_A], investment=120_000, lead=8, rules=rules)
    yield penalties(COUNTY_A, referral=40, rules=rules)
    yield penalties(PARK, referral=41, signed_late=False, rules=rules)


def test_replaying_every_event_twice_never_doubles_an_entry():
    stored: dict[str, Proposal] = {}
    for _ in range(2):
        for proposals in events():
            for proposal in merge_new(stored.keys(), proposals):
                stored[proposal.key] = proposal
    once = [p for proposals in events() for p in proposals]
    assert len(stored) == len(once) == 3 + 3 + 3 + 1 + 2 + 1
    assert sum(p.points for p in stored.values()) == sum(p.points for p in once)


def test_one_batch_holding_an_event_twice_is_merged_once():
    batch = [p for proposals in (*events(), *events()) for p in proposals]
    assert len(merge_new([], batch)) == len(batch) // 2


def test_the_keys_do_not_change_with_a_new_rule_version():
    # Recomputing under edited rules must find the same entries, not propose new ones.
    edited = replace(RULES, version=2, tiers=(Tier(0, D("4")),), intermediary_share=D("0.5"))
    edited = replace(edited, first_introducer_share=D("0.5"))
    before = [p for proposals in events() for p in proposals]
    after = [p for proposals in events(edited) for p in proposals]
    assert merge_new({p.key for p in before}, after) == []


def test_different_events_of_one_tenant_have_different_keys():
    keys = [p.key for proposals in events() for p in proposals if p.tenant_id == COUNTY_A]
    # landing, 开工, 投产 on lead 7 and two penalties on referral 40 (it hosts lead 8).
    assert len(keys) == len(set(keys)) == 5


def test_every_rule_has_a_label_and_json_inputs():
    for proposals in events():
        for proposal in proposals:
            assert proposal.rule in RULE_LABELS
            json.dumps(proposal.inputs)


# --- Company keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("华为技术有限公司", "華為技術有限公司"),
        ("华为技术有限公司", "华为技术"),
        ("华为技术有限公司", "华为技术有限责任公司"),
        ("华为技术（深圳）有限公司", "华为技术(深圳)有限公司"),
        ("华为技术（深圳）有限公司", "华为技术深圳"),
        ("ＡＢＣ科技有限公司", "abc科技"),
        ("Acme Co., Ltd.", "ACME"),
        ("Acme Inc.", "acme"),
        ("万科企业股份有限公司", "万科企业"),
        ("比亚迪 集团", "比亚迪"),
        ("中国平安保险（集团）股份有限公司", "中国平安保险集团"),
    ],
)
def test_names_that_are_the_same_company(one, other):
    assert company_key(None, one) == company_key(None, other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("华为技术（深圳）有限公司", "华为技术有限公司"),
        ("华为技术有限公司", "华为软件有限公司"),
        ("比亚迪汽车", "比亚迪电子"),
    ],
)
def test_names_that_are_different_companies(one, other):
    assert company_key(None, one) != company_key(None, other)


@pytest.mark.parametrize(
    ("code", "company", "key"),
    [
        ("914403001922038216", "华为技术有限公司", "code:914403001922038216"),
        (" 91440300192203821a ", "华为", "code:91440300192203821A"),
        ("９１４４０３００１９２２０３８２１６", "华为", "code:914403001922038216"),
        (None, "華為技術（深圳）有限公司", "name:华为技术深圳"),
        ("", "Acme Co., Ltd.", "name:acme"),
        ("无", "华为技术有限公司", "name:华为技术"),
    ],
)
def test_company_key(code, company, key):
    assert company_key(code, company) == key


def test_a_name_that_is_only_a_suffix_is_not_emptied():
    assert normalise_name("有限公司") == "有限公司"
    assert normalise_name("集团有限公司") == "集团"


# --- First introducer and duplicates -------------------------------------------------------------

CODE_A = "914403001922038216"
CODE_B = "91440300708461136T"


def post(lead, tenant, company, day, code=None, hour=9):
    return Posting(lead, tenant, code, company, datetime(2025, 1, day, hour))


def duplicates_of(report):
    return {d.posting.lead_id: (d.original.lead_id, d.matched_by) for d in report.duplicates}


def test_the_same_credit_code_is_one_company_whatever_the_name():
    report = first_introducers(
        [post(10, DEPT, "甲科技有限公司", 1, CODE_A), post(11, COUNTY_A, "乙科技", 2, CODE_A)]
    )
    assert duplicates_of(report) == {11: (10, "code")}
    assert report.first_of(11).tenant_id == DEPT


def test_traditional_and_simplified_names_are_one_company():
    report = first_introducers(
        [post(10, DEPT, "華為技術有限公司", 1), post(11, COUNTY_A, "华为技术", 2)]
    )
    assert duplicates_of(report) == {11: (10, "name")}


def test_a_posting_without_a_code_matches_a_coded_one_by_name():
    report = first_introducers(
        [post(10, DEPT, "华为技术有限公司", 1, CODE_A), post(11, COUNTY_A, "华为技术", 2)]
    )
    assert duplicates_of(report) == {11: (10, "name")}


def test_an_earlier_posting_without_a_code_is_the_first_introducer():
    report = first_introducers(
        [post(11, COUNTY_A, "华为技术", 2, CODE_A), post(10, DEPT, "华为技术（有限公司）", 1)]
    )
    assert duplicates_of(report) == {11: (10, "name")}
    assert report.first_of(11).lead_id == 10


def test_two_codes_are_two_companies_even_with_the_same_name():
    report = first_introducers(
        [post(10, DEPT, "华为技术有限公司", 1, CODE_A), post(11, COUNTY_A, "华为技术", 2, CODE_B)]
    )
    assert report.duplicates == ()
    assert report.first_of(11).lead_id == 11


def test_a_posting_without_a_code_joins_the_earliest_namesake_code():
    report = first_introducers(
        [
            post(12, PARK, "华为技术", 3),
            post(11, COUNTY_A, "华为技术", 2, CODE_B),
            post(10, DEPT, "华为技术", 1, CODE_A),
        ]
    )
    assert duplicates_of(report) == {12: (10, "name")}


def test_a_placeholder_code_does_not_join_unrelated_companies():
    report = first_introducers(
        [post(10, DEPT, "甲科技", 1, "无"), post(11, COUNTY_A, "乙科技", 2, "无")]
    )
    assert report.duplicates == ()


def test_the_earliest_posting_wins_whatever_the_input_order():
    postings = [
        post(30, PARK, "比亚迪", 5),
        post(20, COUNTY_A, "比亚迪股份有限公司", 3),
        post(40, DEPT, "比亚迪 集团", 4),
    ]
    report = first_introducers(postings)
    # Every later posting duplicates the first one, not the one just before it.
    assert duplicates_of(report) == {40: (20, "name"), 30: (20, "name")}
    assert [d.posting.lead_id for d in report.duplicates] == [40, 30]
    assert {lead: report.first_of(lead).tenant_id for lead in (20, 30, 40)} == {
        20: COUNTY_A,
        30: COUNTY_A,
        40: COUNTY_A,
    }


@pytest.mark.parametrize("reverse", [False, True])
def test_a_tie_goes_to_the_lowest_lead_id(reverse):
    postings = [post(21, COUNTY_A, "宁德时代", 2), post(20, DEPT, "宁德时代", 2)]
    report = first_introducers(postings[::-1] if reverse else postings)
    assert duplicates_of(report) == {21: (20, "name")}


def test_different_companies_are_all_first():
    report = first_introducers([post(10, DEPT, "华为技术", 1), post(11, DEPT, "中兴通讯", 1)])
    assert report.duplicates == ()
    assert {report.first_of(10).lead_id, report.first_of(11).lead_id} == {10, 11}


# --- Rule set validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"year": 1999}, "year", "考核年度须为 2000–2100 之间的年份。"),
        ({"version": 0}, "version", "版本号须为正整数。"),
        (
            {"effective_from": date(2027, 1, 1)},
            "effective_from",
            "施行日期不得晚于考核年度的最后一天。",
        ),
        ({"tiers": ()}, "tiers", "请至少设置一档基础分。"),
        (
            {"tiers": (Tier(10_000, D("6")), Tier(0, D("3")))},
            "tiers",
            "各档计划投资下限须从小到大排列，且不得重复。",
        ),
        (
            {"tiers": (Tier(0, D("3")), Tier(0, D("6")))},
            "tiers",
            "各档计划投资下限须从小到大排列，且不得重复。",
        ),
        ({"tiers": (Tier(0, D("-1")),)}, "tiers", "基础分不得为负数。"),
        ({"tiers": (Tier(-1, D("1")),)}, "tiers", "计划投资下限不得为负数。"),
        ({"tiers": (Tier(0, D("1.25")),)}, "tiers", "基础分最多保留一位小数。"),
        (
            {"tiers": (Tier(0, D("6")), Tier(10_000, D("3")))},
            "tiers",
            "计划投资较高一档的基础分不得低于较低一档。",
        ),
        (
            {"stage_bonus": {"signed": D("1")}},
            "stage_bonus",
            "阶段加分只能设置在以下阶段：注册、开工、投产、达产、入统、入规。",
        ),
        ({"stage_bonus": {"started": D("-2")}}, "stage_bonus", "开工加分不得为负数。"),
        (
            {"first_introducer_share": D("0.7")},
            "intermediary_share",
            "首报单位与中间单位的分成比例之和须为 100%。",
        ),
        (
            {"first_introducer_share": D("1.2"), "intermediary_share": D("-0.2")},
            "both",
            "",
        ),
        ({"late_sign_penalty": D("-0.5")}, "late_sign_penalty", "签收超时扣分不得为负数。"),
        ({"late_report_penalty": D("NaN")}, "late_report_penalty", "反馈超时扣分须为数字。"),
        ({"yearly_cap": D("0")}, "yearly_cap", "年度加分上限须大于 0。"),
        (
            {"unscored_kinds": frozenset({"province"})},
            "unscored_kinds",
            "不计分的单位类型无效：province。",
        ),
        ({"credit_window_days": 0}, "credit_window_days", "计分期限须为 1–3650 天。"),
        ({"credit_window_days": 3651}, "credit_window_days", "计分期限须为 1–3650 天。"),
    ],
)
def test_rule_set_errors(changes, field, message):
    errors = replace(RULES, **changes).errors()
    if field == "both":
        assert errors == {
            "first_introducer_share": "首报单位分成比例须在 0 到 100% 之间。",
            "intermediary_share": "中间单位分成比例须在 0 到 100% 之间。",
        }
    else:
        assert errors == {field: message}
    with pytest.raises(InputError) as raised:
        replace(RULES, **changes).check()
    assert raised.value.errors == errors


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"first_introducer_share": D("1"), "intermediary_share": D("0")},
        {"effective_from": date(2025, 12, 15)},
        {"unscored_kinds": frozenset()},
        {"stage_bonus": {}},
        {"credit_window_days": 3650},
    ],
)
def test_usable_rule_sets_have_no_errors(changes):
    rules = replace(RULES, **changes)
    assert rules.errors() == {}
    assert rules.check() is rules


def test_default_rules_are_for_the_year_asked():
    rules = default_rules(2031)
    assert (rules.year, rules.version, rules.effective_from) == (2031, 1, date(2031, 1, 1))
    assert rules.errors() == {}


def test_kind_labels_match_the_tenant_model():
    from tenants.models import TENANT_KINDS

    assert KIND_LABELS == TENANT_KINDS


# --- The rules in words ------------------------------------------------------------------------


def test_describe_mentions_every_default_tier_and_rule():
    text = describe(RULES)
    for sentence in [
        "计划投资不足 1 亿元的项目落地，基础分 3 分。",
        "计划投资 1 亿元（含）至 5 亿元的项目落地，基础分 6 分。",
        "计划投资 5 亿元（含）至 10 亿元的项目落地，基础分 10 分。",
        "计划投资 10 亿元（含）以上的项目落地，基础分 15 分。",
        "项目开工后，按同样的分成另加 2 分。",
        "项目投产后，按同样的分成另加 3 分。",
    ]:
        assert sentence in text
    joined = "".join(text)
    for part in [
        "60%",
        "40%",
        "730 天",
        "扣 0.5 分",
        "扣 1 分",
        "不超过 30 分",
        "市级招商部门不参与计分",
    ]:
        assert part in joined


def test_describe_follows_edited_rules():
    rules = replace(
        RULES,
        tiers=(Tier(5_000, D("2")), Tier(15_000, D("4.5"))),
        stage_bonus={"producing": D("1.5")},
        first_introducer_share=D("0.75"),
        intermediary_share=D("0.25"),
        unscored_kinds=frozenset(),
    )
    text = describe(rules)
    for sentence in [
        "计划投资不足 5000 万元的项目落地，不计基础分。",
        "计划投资 5000 万元（含）至 1.5 亿元的项目落地，基础分 2 分。",
        "计划投资 1.5 亿元（含）以上的项目落地，基础分 4.5 分。",
        "项目投产后，按同样的分成另加 1.5 分。",
    ]:
        assert sentence in text
    joined = "".join(text)
    assert "75%" in joined and "25%" in joined
    assert "开工" not in joined
    assert "不参与计分" not in joined


def test_describe_a_single_tier():
    text = describe(replace(RULES, tiers=(Tier(0, D("5")),)))
    assert "项目落地，不论计划投资多少，基础分 5 分。" in text
