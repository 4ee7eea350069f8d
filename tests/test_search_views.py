"""The search page and the header's suggestions, through HTTP: who finds what, folding,
escaping, bad input, fragments, and freshness after a change made through the portal."""

from __future__ import annotations

import re

import pytest

from portal.extensions import db
from search.extension import get_index
from search.sync import drain
from tests.conftest import WORLD_TENANTS, page_token, role_sets_for, signed_in_client
from tests.policy_helpers import post_policy
from tests.referral_helpers import lead_form, post_lead

CANARY = re.compile(r"SOUCANARY[a-z]+")
FRAGMENT = {"HX-Request": "true", "HX-Target": "search-results"}
SUGGEST = {"HX-Request": "true", "HX-Target": "search-suggest"}


def _code(key: str) -> str:
    return key.replace("_", "-")


def _readers():
    for key, _name, kind, _parent in WORLD_TENANTS:
        for roles in role_sets_for(kind):
            if roles[-1] != "admin":
                yield f"{_code(key)}.{roles[-1]}", key, kind


def _hits(body: str) -> str:
    """The results of a page or a suggestion list (not the query echoed in the box or in "no
    results for …")."""
    for start, end in (('data-testid="search-hits"', "</ol>"), ('class="suggest-list"', "</ul>")):
        if start in body:
            tail = body[body.index(start) :]
            return tail[: tail.index(end)]
    return ""


@pytest.fixture
def canaries(app, http_world):
    """Each tenant posts one lead whose company is a canary unique to it."""
    with app.app_context():
        for key, *_ in WORLD_TENANTS:
            post_lead(
                http_world,
                f"{_code(key)}.officer",
                title=f"{key}新能源项目",
                company=f"SOUCANARY{key.replace('_', '')} 有限公司",
            )
        db.session.remove()
    return {f"SOUCANARY{key.replace('_', '')}": key for key, *_ in WORLD_TENANTS}


@pytest.mark.parametrize("login_name,tenant_key,kind", list(_readers()))
def test_a_reader_finds_exactly_the_leads_their_tenant_may_see(
    app, canaries, login_name, tenant_key, kind
):
    client = signed_in_client(app, login_name)
    overseer = kind == "city" or login_name.endswith(".assessor")
    expected = {c for c, owner in canaries.items() if overseer or owner == tenant_key}
    for query in ["新能源项目", *canaries]:  # every lead, then each canary by name
        for headers in ({}, FRAGMENT, SUGGEST):
            url = "/search/suggest" if headers is SUGGEST else "/search"
            body = client.get(url, query_string={"q": query}, headers=headers).get_data(
                as_text=True
            )
            shown = set(CANARY.findall(_hits(body)))
            wanted = expected if query == "新能源项目" else expected & {query}
            assert shown == wanted, f"{login_name} {url}?q={query} {headers}: {shown}"


def test_admins_search_policies_only_and_visitors_not_at_all(app, http_world):
    with app.app_context():
        lead_id = post_lead(http_world, "county-a.officer", title="甲县光伏项目")
        policy_id = post_policy(http_world, "city.officer", title="光伏项目扶持办法")
        db.session.remove()
    admin = signed_in_client(app, "county-a.admin")
    for query in ({"q": "光伏"}, {"q": "光伏", "kind": "lead"}):
        body = admin.get("/search", query_string=query).get_data(as_text=True)
        assert f"/policies/{policy_id}" in _hits(body)
        assert f"/leads/{lead_id}" not in body and "找到 1 条政策文件" in body
    assert "类型取值无效" in admin.get("/search?q=光伏&kind=lead").get_data(as_text=True)
    suggest = admin.get("/search/suggest?q=光伏", headers=SUGGEST).get_data(as_text=True)
    assert f"/policies/{policy_id}" in suggest and f"/leads/{lead_id}" not in suggest
    assert "搜索政策文件（按 / 键）" in admin.get("/").get_data(as_text=True)
    officer = signed_in_client(app, "county-a.officer")
    body = officer.get("/search", query_string={"q": "光伏"}).get_data(as_text=True)
    assert f"/policies/{policy_id}" in body and f"/leads/{lead_id}" in body
    assert re.search(r'kind-count-lead">1<', body) and re.search(r'kind-count-policy">1<', body)
    anonymous = app.test_client()
    assert anonymous.get("/search?q=项目").status_code == 302


def test_traditional_and_simplified_find_each_other_with_marks(app, http_world):
    with app.app_context():
        traditional = post_lead(
            http_world, "county-a.officer", title="招商引資重點項目", company="臺灣精密機械"
        )
        simplified = post_lead(http_world, "county-a.officer", title="锂电池储能项目")
        drain(db.session, get_index())
        db.session.remove()
    client = signed_in_client(app, "county-a.officer")
    page = client.get("/search", query_string={"q": "招商引资"}).get_data(as_text=True)
    assert f"/leads/{traditional}" in page and "<mark>招商引資</mark>" in page
    page = client.get("/search", query_string={"q": "台湾精密"}).get_data(as_text=True)
    assert f"/leads/{traditional}" in page
    page = client.get("/search", query_string={"q": "鋰電池 儲能"}).get_data(as_text=True)
    assert f"/leads/{simplified}" in page and "找到 1 条结果" in page
    page = client.get("/search", query_string={"q": "ＬＩ电池"}).get_data(as_text=True)
    assert "找到 0 条结果" in page and "没有找到与“ＬＩ电池”相关的内容" in page


def test_indexed_text_is_escaped_and_only_matches_are_marked(app, http_world):
    with app.app_context():
        post_lead(
            http_world,
            "county-a.officer",
            title="<script>alert(1)</script>光伏项目",
            description='<img src=x onerror="alert(2)">光伏组件 & 支架',
        )
        db.session.remove()
    client = signed_in_client(app, "county-a.officer")
    for url, headers in (("/search", {}), ("/search", FRAGMENT), ("/search/suggest", SUGGEST)):
        body = client.get(url, query_string={"q": "光伏"}, headers=headers).get_data(as_text=True)
        assert "<script>alert" not in body and "<img src=x" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;<mark>光伏</mark>" in body


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "(光伏",
        "光伏)",
        "AND OR NOT",
        "*",
        "光伏~2",
        "title:光伏",
        "光伏^5",
        "[a TO z]",
        "%' OR 1=1 --",
        "\\",
        "光伏 " * 60,
        "𠀀𠀁",
        "　",
    ],
)
def test_any_query_gives_a_page_never_an_error(app, http_world, query):
    with app.app_context():
        post_lead(http_world, "county-a.officer", title="光伏项目")
        db.session.remove()
    client = signed_in_client(app, "county-a.officer")
    for url, headers in (("/search", {}), ("/search", FRAGMENT), ("/search/suggest", SUGGEST)):
        response = client.get(url, query_string={"q": query}, headers=headers)
        assert response.status_code == 200, (url, query)


def test_bad_filters_are_dropped_with_a_message(app, http_world):
    client = signed_in_client(app, "county-a.officer")
    page = client.get(
        "/search",
        query_string={"q": "项目", "stage": "x", "chain": "999", "year": "1899", "order": "y"},
    ).get_data(as_text=True)
    for message in ("阶段取值无效", "产业链取值无效", "年份须在", "排序方式无效"):
        assert message in page


def test_filters_narrow_the_results(app, http_world):
    with app.app_context():
        talking = post_lead(http_world, "county-a.officer", title="风电项目甲", stage="talking")
        fresh = post_lead(http_world, "county-a.officer", title="风电项目乙")
        db.session.remove()
    client = signed_in_client(app, "county-a.officer")
    page = client.get("/search?q=风电&stage=talking").get_data(as_text=True)
    assert f"/leads/{talking}" in page and f'/leads/{fresh}"' not in page
    assert "找到 1 条结果（已筛选）" in page
    newest = client.get("/search?q=风电&order=newest").get_data(as_text=True)
    assert newest.index(f"/leads/{fresh}") < newest.index(f"/leads/{talking}")


def test_fragments_and_the_suggestion_fallback(app, http_world):
    with app.app_context():
        for n in range(8):
            post_lead(http_world, "county-a.officer", title=f"集成电路项目{n}")
        db.session.remove()
    client = signed_in_client(app, "county-a.officer")
    fragment = client.get("/search?q=集成电路", headers=FRAGMENT)
    assert "<html" not in fragment.get_data(as_text=True)
    assert fragment.headers.get("Vary", "").find("HX-Request") != -1
    suggest = client.get("/search/suggest?q=集成电路", headers=SUGGEST).get_data(as_text=True)
    assert suggest.count("/leads/") == 6 and "查看全部 8 条结果" in suggest
    direct = client.get("/search/suggest?q=集成电路")
    assert direct.status_code == 302 and "/search?q=" in direct.headers["Location"]
    full = client.get("/search?q=集成电路").get_data(as_text=True)
    assert "<html" in full and 'data-testid="header-search"' in full and "共 8 条" in full


def test_a_lead_saved_through_the_portal_is_found_at_once(app, http_world):
    client = signed_in_client(app, "county-a.officer")
    response = client.post(
        "/leads/new",
        data={
            "csrf_token": page_token(client, "/leads/new"),
            **lead_form(title="碳化硅衬底项目", company="晶芯半导体"),
        },
    )
    assert response.status_code == 302
    with app.app_context():
        assert get_index().search("碳化硅", ["overseer"]).total == 1  # drained by the request
    page = client.get("/search?q=晶芯").get_data(as_text=True)
    assert "碳化硅衬底项目" in page


def test_an_unreadable_index_gives_a_message_not_an_error_page(app, http_world, monkeypatch):
    client = signed_in_client(app, "county-a.officer")

    def broken(*args, **kwargs):
        raise OSError("index folder unreadable")

    monkeypatch.setattr("search.index.SearchIndex.search", broken)
    for url, headers in (("/search", {}), ("/search", FRAGMENT), ("/search/suggest", SUGGEST)):
        response = client.get(url, query_string={"q": "光伏"}, headers=headers)
        assert response.status_code == 200
        assert "搜索服务暂时不可用" in response.get_data(as_text=True)
