"""The search benchmark of the search issue.

Generates a city's leads and policies (about 30% written in traditional script, vocabulary drawn
from templates so that common words — 项目, 企业, 投资 — appear in most documents and names,
文号 and amounts are rare), indexes them with the real ``search.index.SearchIndex``, and
measures, on the same documents and the same 200 one-to-three-term queries, in the same run:

* Whoosh (ours): ``SearchIndex.search`` as production calls it (the reader's labels, top 20, the
  total), then the 20 shown documents read back from SQLite and highlighted with
  ``search.highlight`` (title and names marked, a body snippet);
* SQLite FTS5 over the same folded, segmented words (space-joined, unicode61, each query piece a
  phrase; top 20 by bm25 with the same field weights; labels as a column filter) — the embedded
  peer;
* a SQLite ``LIKE '%…%'`` scan over the folded text (every query word must appear, labels
  through an indexed side table, no ranking, LIMIT 20);

and single-document add-and-commit latency through ``SearchIndex.writer`` (commit without merge,
as a request's drain does). Targets (the issue): at 10k documents p95 ≤ 30 ms; at 100k p95 ≤
100 ms, faster than the LIKE scan and within 2.5× of FTS5; add p95 ≤ 50 ms; the relevance set
(tests/test_search_relevance.py) passing. Exits 1 when a target is missed (0 with
``--report-only``).

    .venv/bin/python bench/bench_search.py                    # 10k and 100k (~15 min)
    .venv/bin/python bench/bench_search.py --docs 10000       # one size
    .venv/bin/python bench/bench_search.py --docs 100000 --keep /tmp/search100k   # reuse a build
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS_DIR = ROOT / "bench" / "results"
TARGET_P95_10K_MS = 30.0
TARGET_P95_100K_MS = 100.0
TARGET_FTS_RATIO = 2.5
TARGET_ADD_P95_MS = 50.0
PER_PAGE = 20
TRADITIONAL_SHARE = 0.3
POLICY_SHARE = 0.1

# ---- vocabulary ------------------------------------------------------------------------------

COUNTIES = [  # (tenant name, short form officers type)
    ("德安县", "德安"), ("永修县", "永修"), ("都昌县", "都昌"), ("湖口县", "湖口"),
    ("彭泽县", "彭泽"), ("武宁县", "武宁"), ("修水县", "修水"), ("瑞昌市", "瑞昌"),
    ("共青城市", "共青城"), ("庐山市", "庐山"), ("濂溪区", "濂溪"), ("浔阳区", "浔阳"),
    ("柴桑区", "柴桑"), ("八里湖新区", "八里湖"), ("九江经开区", "经开区"),
    ("鄱阳湖生态科技城", "科技城"), ("浔阳江新区", "浔阳江"), ("赛城湖区", "赛城湖"),
    ("庐山西海", "西海"), ("城西港区", "城西"),
]  # fmt: skip
COUNTY_CODES = ["360426", "360425", "360428", "360429", "360430", "360423", "360424", "360481",
                "360482", "360483", "360402", "360403", "360404", "360405", "360406", "360407",
                "360408", "360409", "360410", "360411"]  # fmt: skip
PARKS = ["经济开发区", "高新技术产业园区", "工业园区", "产业园", "现代农业示范园", "物流园"]
ORIGINS = ["深圳市", "宁波市", "上海市", "苏州市", "东莞市", "杭州市", "广州市", "无锡市",
           "厦门市", "长沙市", "武汉市", "合肥市", "成都市", "青岛市", "佛山市", "温州市",
           "常州市", "南昌市", "香港", "台湾", "新加坡", "德国"]  # fmt: skip
ORIGIN_CODES = ["440300", "330200", "310000", "320500", "441900", "330100", "440100", "320200",
                "350200", "430100", "420100", "340100", "510100", "370200", "440600", "330300",
                "320400", "360100", "810000", "710000", "000000", "000000"]  # fmt: skip
# chain → (terms officers type, products, the trade in company names)
CHAINS = {
    "光伏": (["光伏", "光伏组件", "硅片", "逆变器", "光伏玻璃"],
           ["光伏组件", "单晶硅片", "光伏玻璃", "组串式逆变器", "分布式光伏电站", "光伏支架",
            "TOPCon电池片", "异质结电池"], ["新能源", "光电", "光伏"]),
    "锂电": (["锂电", "锂电池", "储能", "动力电池", "正极材料", "电解液"],
           ["锂电池正极材料", "负极材料", "电解液", "锂电池隔膜", "动力电池", "储能电池PACK",
            "碳酸锂", "磷酸铁锂"], ["锂电", "新能源", "能源科技"]),
    "新材料": (["新材料", "有机硅", "复合材料", "玻纤"],
            ["有机硅单体", "玻纤复合材料", "高性能纤维", "特种钢材", "电子级化学品",
             "生物降解材料", "铝型材"], ["新材料", "化工", "材料科技"]),
    "电子信息": (["电子信息", "半导体", "电路板", "显示模组"],
             ["触摸屏玻璃盖板", "印制电路板", "半导体封装", "智能终端", "显示模组", "5G通信模组",
              "电子元器件"], ["电子", "光电", "智能科技"]),
    "纺织服装": (["纺织", "服装", "面料", "羽绒服"],
             ["功能性面料", "服装加工", "棉纺纱线", "家纺产品", "羽绒服", "无纺布"],
             ["纺织", "服饰", "实业"]),
    "现代农业": (["农业", "预制菜", "茶叶", "水产", "稻米"],
             ["预制菜", "稻米精深加工", "有机茶叶", "水产养殖", "生猪屠宰加工", "蔬菜基地",
              "中药材种植"], ["农业", "食品", "生态农业"]),
    "装备制造": (["装备制造", "机器人", "数控机床"],
             ["工业机器人", "数控机床", "智能家电零部件", "船舶配套", "新能源汽车线束"],
             ["智能装备", "机械", "精密制造"]),
    "生物医药": (["生物医药", "医疗器械", "中药"],
             ["中药配方颗粒", "医疗器械", "原料药", "医用敷料"], ["生物", "医药", "健康科技"]),
    "现代物流": (["物流", "冷链", "仓储"], ["冷链物流中心", "港口仓储", "电商物流园"],
             ["物流", "供应链", "港务"]),
    "数字经济": (["数字经济", "数据中心", "软件"], ["数据中心", "软件外包", "直播电商基地"],
             ["数据", "信息技术", "网络科技"]),
}  # fmt: skip
CHAIN_NAMES = list(CHAINS)
BRAND_HEADS = "华恒鑫宏盛联中天金新博嘉瀚智永瑞卓晶赣南江海泰和富锦"
BRAND_TAILS = "瑞泰源达世创科成诚锐远和海信安丰越通辉隆邦德宇凯翔"
LATIN = ["Sungrow", "CATL", "LONGi", "JinkoSolar", "Trina", "BYD", "Gotion", "EVE", "Sunwoda",
         "Foxconn", "Luxshare", "Tianma", "BOE", "Hengtai", "Ruifeng", "Greenway", "Tongwei",
         "Ganfeng", "Huafon", "Anta", "Bosideng", "Mindray"]  # fmt: skip
SUFFIXES = ["科技有限公司", "股份有限公司", "有限公司", "集团有限公司", "科技股份有限公司"]
UNITS = ["万吨", "GW", "GWh", "万套", "万平方米", "万件", "亿只"]
CHANNELS = ["以商招商", "展会对接", "基金招商", "驻外招商", "中介推荐", "部门推送", "网上洽谈"]
DEPTS = ["市商务局", "市发改委", "市工信局", "市科技局", "市投资促进局", "市农业农村局"]
ISSUERS = ["九江市人民政府办公室", "九江市人民政府", "江西省人民政府", "江西省人民政府办公厅",
           "九江市商务局", "九江市工业和信息化局", "九江市发展和改革委员会", "九江市财政局",
           "九江市科学技术局"]  # fmt: skip
DOC_PREFIXES = ["江府办函", "赣府发", "九府办发", "九府发", "九府办字", "赣府厅发", "九商务字",
                "九工信字", "九发改产业", "九财企", "九科字"]  # fmt: skip
COUNTY_PREFIX = ["德府发", "永府办发", "都府办字", "湖府发", "彭府办发", "武府发"]


def amount(rng) -> str:
    if rng.random() < 0.55:
        return f"{rng.choice([1, 2, 3, 5, 8, 10, 12, 15, 20, 30, 50])}亿元"
    return f"{rng.choice([500, 800, 1000, 1500, 2000, 3000, 5000, 8000])}万元"


def brand(rng) -> str:
    # Skewed: a few brands recur the way a few big names do in a real city's files.
    i = min(len(BRAND_HEADS) - 1, int(rng.paretovariate(1.2)) - 1)
    return BRAND_HEADS[i] + rng.choice(BRAND_TAILS)


def credit_code(rng, region: str) -> str:
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return "91" + region + "MA" + "".join(rng.choice(chars) for _ in range(8))


def company(rng, chain: str) -> tuple[str, str]:
    """(name, origin city)."""
    origin_i = rng.randrange(len(ORIGINS))
    name = ORIGINS[origin_i] + brand(rng) + rng.choice(CHAINS[chain][2]) + rng.choice(SUFFIXES)
    if rng.random() < 0.12:
        name = f"{rng.choice(LATIN)} {name}"
    return name, ORIGINS[origin_i]


LEAD_TITLES = [
    "{product}项目", "{brand}{product}项目", "年产{n}{unit}{product}项目",
    "{county}{product}生产基地项目", "{brand}{product}扩产项目", "{chain}产业链{product}招商项目",
    "{product}研发及产业化项目", "总投资{amount}{product}项目",
]  # fmt: skip
LEAD_SENTENCES = [
    "{company}拟在{county}{park}投资{amount}建设{product}项目。",
    "项目占地约{acres}亩，新建标准厂房{area}万平方米，引进{lines}条自动化生产线。",
    "达产后预计年产值{output}亿元，年纳税{tax}万元，带动就业{jobs}人。",
    "企业主营{product}，是国内{chain}产业链重点企业之一，上年营收{revenue}亿元。",
    "目前双方已进行{rounds}轮洽谈，企业对{county}的区位、配套和招商引资政策较为认可。",
    "该项目由{dept}通过{channel}获取，建议由{county}跟进对接。",
    "需协调解决用地指标、能耗指标和配套电力问题，企业希望年内开工建设。",
    "企业计划分两期建设，一期投资{amount}，二期视市场情况启动。",
    "项目符合我市{chain}产业发展方向，可补齐产业链{product}环节。",
    "企业负责人近期来{county}实地考察，对{park}的标准厂房和物流条件表示满意。",
    "拟申请享受固定资产投资奖励和人才引进政策，正在编制可行性研究报告。",
    "投资方要求政府协助办理环评、能评手续，并提供过渡厂房。",
]  # fmt: skip
POLICY_TITLES = [
    "关于促进{chain}产业高质量发展的若干措施", "关于加快{chain}产业集群发展的实施意见",
    "关于支持{chain}企业做大做强的若干政策", "{county}招商引资优惠政策（{year}年修订）",
    "九江市{chain}产业链链长制工作方案", "关于进一步优化营商环境支持企业发展的若干措施",
    "关于印发《九江市招商引资项目评价办法》的通知",
    "关于开展{year}年度{chain}产业专项资金申报工作的通知",
    "{county}工业园区标准厂房租赁补贴办法", "关于鼓励总部经济发展的若干意见",
]  # fmt: skip
POLICY_ARTICLES = [
    "第{k}条 对新引进的{chain}企业，固定资产投资额达到{amount}以上的，按实际设备投资额的{pct}%"
    "给予奖励，最高不超过{cap}。",
    "第{k}条 对年纳税额首次超过{tax}万元的企业，按其地方财政贡献的{pct}%给予奖励，连续奖励三年。",
    "第{k}条 企业租用标准厂房的，前两年给予全额租金补贴，第三年给予50%补贴。",
    "第{k}条 对企业引进的高层次人才，给予最高{cap}的安家补助，并优先解决子女入学。",
    "第{k}条 项目用地按工业用地出让最低价标准执行，土地出让金地方留成部分用于支持项目建设。",
    "第{k}条 对{chain}产业链上下游配套项目，由{county}按照“一事一议”方式给予支持。",
    "第{k}条 各县（市、区）、开发区要建立重大招商项目服务专班，实行项目全程代办。",
    "第{k}条 本政策所需资金由市、县两级财政按比例分担，市级承担部分从产业发展专项资金中列支。",
    "第{k}条 企业获得奖励后五年内迁出本市或改变用途的，须退还已享受的奖励资金。",
    "第{k}条 本政策由{issuer}负责解释，自印发之日起施行，有效期{years}年。",
]  # fmt: skip
ATTACHMENT = [
    "附件：{year}年{chain}产业专项资金申报表。企业名称、统一社会信用代码、法定代表人、联系电话、"
    "项目名称、项目总投资、申请奖励金额、项目进度说明。",
    "附件：重点产业链招商图谱（{chain}）。龙头企业、配套企业、目标企业清单及对接责任单位。",
    "附件：{county}可供土地及标准厂房一览表。地块编号、面积（亩）、规划用途、基础设施配套情况。",
]  # fmt: skip


def _fill(rng, template: str, ctx: dict) -> str:
    values = dict(ctx)
    values.update(
        n=rng.choice([1, 2, 3, 5, 10, 20, 30, 50, 100]),
        unit=rng.choice(UNITS),
        amount=amount(rng),
        acres=rng.choice([50, 80, 100, 150, 200, 300, 500, 800]),
        area=rng.choice([1, 2, 3, 5, 8, 12, 20]),
        lines=rng.randint(2, 12),
        output=rng.choice([1, 2, 5, 8, 10, 20, 30, 50, 100]),
        tax=rng.choice([100, 300, 500, 800, 1000, 2000, 5000]),
        jobs=rng.choice([50, 100, 200, 300, 500, 800, 1000, 2000]),
        revenue=rng.choice([1, 3, 5, 10, 20, 50, 100, 200]),
        rounds=rng.randint(1, 6),
        dept=rng.choice(DEPTS),
        channel=rng.choice(CHANNELS),
        park=rng.choice(PARKS),
        pct=rng.choice([5, 10, 20, 30, 50]),
        cap=amount(rng),
        years=rng.choice([2, 3, 5]),
        issuer=rng.choice(ISSUERS),
    )
    return template.format(**values)


class Tenants:
    """40 tenants as in bench_leads: the city (1), 6 departments (2–7), 20 counties (8–27),
    12 parks (28–39, under the first 12 counties), the assessment office (40)."""

    CITY = 1
    DEPARTMENTS = range(2, 8)
    COUNTIES = range(8, 28)
    PARKS = range(28, 40)

    @staticmethod
    def county_index(tenant: int) -> int:
        if tenant in Tenants.COUNTIES:
            return tenant - 8
        if tenant in Tenants.PARKS:
            return tenant - 28
        return -1

    @staticmethod
    def park_of(county: int) -> int | None:
        return county + 20 if county - 8 < 12 else None


def generate(count: int, seed: int = 2026, start_id: int = 1) -> list[dict]:
    """``count`` documents in the production shape (search/documents.py for leads; the policy
    shape of the policy library), ~10% policies, ~30% in traditional script."""
    import opencc

    to_traditional = opencc.OpenCC("s2t")
    rng = random.Random(seed)
    base = datetime(2021, 1, 1)
    span = (datetime(2026, 11, 1) - base).total_seconds()
    docs = []
    for i in range(start_id, start_id + count):
        when = base + timedelta(seconds=rng.random() * span)
        chain = rng.choice(CHAIN_NAMES)
        if rng.random() < POLICY_SHARE:
            doc = _policy(rng, i, chain, when)
        else:
            doc = _lead(rng, i, chain, when)
        if rng.random() < TRADITIONAL_SHARE:
            for key in ("title", "names", "body"):
                doc[key] = to_traditional.convert(doc[key])
        docs.append(doc)
    return docs


def _lead(rng, i: int, chain: str, when: datetime) -> dict:
    owner = rng.choices(
        [Tenants.CITY, rng.choice(Tenants.DEPARTMENTS), rng.choice(Tenants.COUNTIES),
         rng.choice(Tenants.PARKS)], [25, 15, 45, 15])[0]  # fmt: skip
    county_i = Tenants.county_index(owner)
    if county_i < 0:
        county_i = rng.randrange(len(COUNTIES))
    name, origin = company(rng, chain)
    product = rng.choice(CHAINS[chain][1])
    ctx = {
        "company": name,
        "product": product,
        "chain": chain,
        "county": COUNTIES[county_i][0],
        "brand": name.split()[-1][len(origin) : len(origin) + 2],
    }
    title = _fill(rng, rng.choice(LEAD_TITLES), ctx)
    sentences = [LEAD_SENTENCES[0]] + rng.sample(LEAD_SENTENCES[1:], rng.randint(2, 5))
    body = f"企业来自{origin}。\n" + "".join(_fill(rng, s, ctx) for s in sentences)
    code = credit_code(rng, ORIGIN_CODES[ORIGINS.index(origin)])
    receivers = {f"t{rng.choice(Tenants.COUNTIES)}" for _ in range(rng.choice([0, 1, 1, 2, 3]))}
    labels = sorted({f"t{owner}", *receivers, "overseer"})
    stage = rng.choice(["lead", "talking", "signed", "started", "producing", "terminated"])
    return {
        "doc_id": f"lead:{i}",
        "kind": "lead",
        "object_id": i,
        "title": title,
        "names": f"{name} {code} XS-{when.year}-{i:06d}",
        "body": body,
        "labels": " ".join(labels),
        "chain": str(CHAIN_NAMES.index(chain) + 1),
        "stage": stage,
        "tenant": str(owner),
        "validity": "",
        "year": when.year,
        "when": when,
        "fingerprint": f"{i:032x}",
    }


def _policy(rng, i: int, chain: str, when: datetime) -> dict:
    county_i = rng.randrange(6)
    ctx = {"chain": chain, "county": COUNTIES[county_i][0], "year": when.year}
    title = _fill(rng, rng.choice(POLICY_TITLES), ctx)
    if "{county}" in title or rng.random() < 0.15:
        prefix, issuer = COUNTY_PREFIX[county_i], COUNTIES[county_i][0] + "人民政府"
        tenant = 8 + county_i
    else:
        prefix, issuer, tenant = rng.choice(DOC_PREFIXES), rng.choice(ISSUERS), Tenants.CITY
    number = f"{prefix}〔{when.year}〕{rng.randint(1, 120)}号"
    articles = sorted(
        rng.sample(POLICY_ARTICLES[:-1], rng.randint(4, 8)), key=POLICY_ARTICLES.index
    )
    articles.append(POLICY_ARTICLES[-1])
    intro = (
        f"为深入贯彻落实省委、省政府关于{chain}产业发展的决策部署，加快推进招商引资工作，"
        "结合我市实际，制定本政策。"
    )
    parts = [intro] + [_fill(rng, a, ctx | {"k": k + 1}) for k, a in enumerate(articles)]
    parts.append(_fill(rng, rng.choice(ATTACHMENT), ctx))
    scoped = tenant != Tenants.CITY and rng.random() < 0.5
    labels = f"t{tenant} t{Tenants.CITY}" if scoped else "all"
    validity = rng.choices(["valid", "expired", "repealed"], [70, 20, 10])[0]
    return {
        "doc_id": f"policy:{i}",
        "kind": "policy",
        "object_id": i,
        "title": title,
        "names": f"{number} {issuer}",
        "body": "\n".join(parts),
        "labels": labels,
        "chain": "",
        "stage": "",
        "tenant": str(tenant),
        "validity": validity,
        "year": when.year,
        "when": when,
        "fingerprint": f"{i:032x}",
    }


# ---- queries ---------------------------------------------------------------------------------


def make_queries(docs: list[dict], count: int = 200, seed: int = 7) -> list[tuple[str, list]]:
    """``count`` one-to-three-term queries, each with the labels of the reader asking: four in
    five by a county officer (the county, its park if any, ``all``), one in five by the city
    officer (``t1``, ``overseer``, ``all``: every lead)."""
    import opencc

    to_traditional = opencc.OpenCC("s2t")
    rng = random.Random(seed)
    policies = [d for d in docs if d["kind"] == "policy"]
    leads = [d for d in docs if d["kind"] == "lead"]

    def chain_term():
        return rng.choice(CHAINS[rng.choice(CHAIN_NAMES)][0])

    def county():
        return rng.choice(COUNTIES[:12])[1]

    def company_term():
        r = rng.random()
        if r < 0.35:
            return rng.choice(LATIN) if rng.random() < 0.5 else rng.choice(LATIN).lower()
        if r < 0.7:
            return brand(rng)
        return brand(rng) + rng.choice(CHAINS[rng.choice(CHAIN_NAMES)][2])

    def document_number():
        number = rng.choice(policies)["names"].split()[0]
        typed = rng.choice(["as is", "brackets", "spaced"])
        if typed == "brackets":
            return number.replace("〔", "[").replace("〕", "]")
        if typed == "spaced":
            return number.replace("〔", "").replace("〕", " ")
        return number

    makers = [
        (18, lambda: chain_term()),
        (18, lambda: f"{chain_term()} {county()}"),
        (8, lambda: f"{rng.choice(CHAINS[rng.choice(CHAIN_NAMES)][1])} {county()} 项目"),
        (12, company_term),
        (6, lambda: amount(rng)),
        (4, lambda: f"{amount(rng)} {chain_term()}"),
        (8, document_number),
        (6, lambda: rng.choice(["招商引资 优惠政策", "高质量发展", "标准厂房 补贴",
                                "固定资产投资 奖励", "人才 安家补助", "专项资金 申报"])),
        (6, lambda: rng.choice(["项目 投资", "企业 厂房 建设", "投资 亿元", "项目",
                                "招商引资 项目", "企业 就业"])),
        (4, lambda: rng.choice(leads)["names"].split()[-rng.choice([1, 2])]),  # a code
        (6, lambda: to_traditional.convert(
            f"{chain_term()} {rng.choice(['项目', '产业园', '招商引资', county()])}")),
        (4, lambda: f"{county()} {rng.choice(PARKS)}"),
    ]  # fmt: skip
    weights = [w for w, _ in makers]
    queries = []
    for n in range(count):
        text = rng.choices([m for _, m in makers], weights)[0]()
        if n % 5 == 4:
            labels = ["t1", "overseer", "all"]
        else:
            county_tenant = rng.choice(Tenants.COUNTIES)
            park = Tenants.park_of(county_tenant)
            labels = [f"t{county_tenant}"] + ([f"t{park}"] if park else []) + ["all"]
        queries.append((text, labels))
    return queries


# ---- building ----------------------------------------------------------------------------------


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build_whoosh(docs: list[dict], path: Path):
    from search.index import SearchIndex

    started = time.perf_counter()
    index = SearchIndex(path)
    with index.writer(replace_all=True) as writer:
        for document in docs:
            index.put(writer, document)
    return index, time.perf_counter() - started


def build_sqlite(docs: list[dict], path: Path) -> tuple[sqlite3.Connection, float, float]:
    """The docs table (what production reads back from its database, plus the folded text
    for LIKE), the labels side table, and the FTS5 table. Returns (connection, seconds spent
    folding and segmenting, seconds spent in SQLite)."""
    from search.analysis import fold, index_terms

    began = time.perf_counter()
    rows, fts_rows, label_rows = [], [], []
    for n, doc in enumerate(docs, 1):
        fields = [doc["title"], doc["names"], doc["body"]]
        columns, parts = [], []
        for text in fields:
            terms = index_terms(text)
            columns.append(" ".join(term for term, *_ in _whole_words(terms)))
            parts += _parts_only(terms)
        folded = fold("\n".join(fields))
        rows.append((n, doc["doc_id"], *fields, doc["labels"], folded))
        fts_rows.append((n, *columns, " ".join(parts), doc["labels"]))
        label_rows += [(label, n) for label in doc["labels"].split()]
    prepared = time.perf_counter() - began

    began = time.perf_counter()
    db = sqlite3.connect(path)
    db.executescript(
        """
        PRAGMA journal_mode=WAL;
        CREATE TABLE docs (id INTEGER PRIMARY KEY, doc_id TEXT UNIQUE, title TEXT, names TEXT,
                           body TEXT, labels TEXT, folded TEXT);
        CREATE TABLE doc_label (label TEXT, doc INTEGER, PRIMARY KEY (label, doc)) WITHOUT ROWID;
        CREATE VIRTUAL TABLE fts USING fts5(title, names, body, parts, labels,
                                            tokenize='unicode61');
        """
    )
    with db:
        db.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        db.executemany("INSERT INTO doc_label VALUES (?, ?)", label_rows)
        db.executemany(
            "INSERT INTO fts (rowid, title, names, body, parts, labels) VALUES (?, ?, ?, ?, ?, ?)",
            fts_rows,
        )
    db.execute("INSERT INTO fts (fts) VALUES ('optimize')")
    db.commit()
    db.execute("ANALYZE")
    return db, prepared, time.perf_counter() - began


def _whole_words(terms):
    """The words of index_terms (each word once, at its own position), without the parts."""
    seen = set()
    for term in terms:
        if term[1] not in seen:
            seen.add(term[1])
            yield term


def _parts_only(terms) -> list[str]:
    seen, parts = set(), []
    for term in terms:
        if term[1] in seen:
            parts.append(term[0])
        seen.add(term[1])
    return parts


# ---- measuring -------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def figures(latencies: list[float]) -> dict:
    return {"p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95),
            "max": max(latencies, default=float("nan"))}  # fmt: skip


def run_whoosh(
    index, db, queries, highlight: bool = True, cold: bool = False
) -> tuple[list[float], list[int]]:
    """Production's path: the index query with the reader's labels, then (``highlight``) the
    shown page read back from the database and marked. ``cold``: the index's cache of decoded
    postings and document sets is emptied before each query."""
    from search.highlight import marked, snippet

    latencies, totals = [], []
    for text, labels in queries:
        if cold:
            index.clear_cache()
        began = time.perf_counter()
        results = index.search(text, labels, per_page=PER_PAGE)
        if highlight and results.hits:
            ids = [f"{hit.kind}:{hit.object_id}" for hit in results.hits]
            rows = db.execute(
                f"SELECT title, names, body FROM docs WHERE doc_id IN ({','.join('?' * len(ids))})",  # noqa: S608 - placeholders only
                ids,
            ).fetchall()
            for title, names, body in rows:
                marked(title, text), marked(names, text), snippet(body, text)
        latencies.append((time.perf_counter() - began) * 1000)
        totals.append(results.total)
    return latencies, totals


def fts_match(text: str, labels: list[str]) -> str | None:
    """The FTS5 query: each whitespace piece's folded words as a phrase in title, names or
    body (a single word also in the parts column), all pieces required, labels as a filter."""
    from search.analysis import words

    clauses = []
    for piece in text.split()[:8]:
        found = [word for word, _ in words(piece)]
        if not found:
            continue
        phrase = '"' + " ".join(word.replace('"', '""') for word in found) + '"'
        columns = "{title names body parts}" if len(found) == 1 else "{title names body}"
        clauses.append(f"({columns} : {phrase})")
    if not clauses:
        return None
    allowed = " OR ".join(f'"{label}"' for label in labels)
    return " AND ".join(clauses) + f" AND (labels : ({allowed}))"


def run_fts(db, queries) -> tuple[list[float], list[int]]:
    latencies, shown = [], []
    for text, labels in queries:
        began = time.perf_counter()
        match = fts_match(text, labels)
        rows = []
        if match:
            rows = db.execute(
                "SELECT rowid FROM fts WHERE fts MATCH ? "
                "ORDER BY bm25(fts, 4.0, 2.5, 1.0, 1.0, 0.0) LIMIT ?",
                (match, PER_PAGE),
            ).fetchall()
        latencies.append((time.perf_counter() - began) * 1000)
        shown.append(len(rows))
    return latencies, shown


def run_like(db, queries) -> tuple[list[float], list[int]]:
    from search.analysis import words

    latencies, shown = [], []
    for text, labels in queries:
        began = time.perf_counter()
        found = [word for piece in text.split()[:8] for word, _ in words(piece)]
        rows = []
        if found:
            escaped = [
                w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for w in found
            ]
            sql = (
                "SELECT id FROM docs WHERE id IN (SELECT doc FROM doc_label WHERE label IN "  # noqa: S608 - placeholders only
                f"({','.join('?' * len(labels))}))"
                + " AND folded LIKE ? ESCAPE '\\'" * len(found)
                + " LIMIT ?"
            )
            rows = db.execute(sql, [*labels, *(f"%{w}%" for w in escaped), PER_PAGE]).fetchall()
        latencies.append((time.perf_counter() - began) * 1000)
        shown.append(len(rows))
    return latencies, shown


def run_adds(index, docs: list[dict]) -> list[float]:
    """One document per writer and commit, as a request's drain after a lead is saved."""
    latencies = []
    for document in docs:
        began = time.perf_counter()
        with index.writer() as writer:
            index.put(writer, document)
        latencies.append((time.perf_counter() - began) * 1000)
    return latencies


def relevance_passes() -> tuple[bool, str]:
    test = ROOT / "tests" / "test_search_relevance.py"
    done = subprocess.run(  # noqa: S603 - our own interpreter and test file
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    last = (done.stdout.strip().splitlines() or ["no output"])[-1]
    return done.returncode == 0, last


# ---- one size ----------------------------------------------------------------------------------


def bench_size(count: int, args, workdir: Path) -> dict:
    print(f"\n== {count:,} documents ==", flush=True)
    began = time.perf_counter()
    docs = generate(count)
    queries = make_queries(docs, args.queries)
    print(f"generated in {time.perf_counter() - began:.1f} s", flush=True)

    folder = workdir / f"docs-{count}"
    row: dict = {"docs": count, "reused": False}
    if (folder / "bench.db").exists():
        from search.index import SearchIndex

        index = SearchIndex(folder / "index")
        # An index of another schema is reopened empty (search.index): build again then.
        row["reused"] = index.doc_count() == count
        if row["reused"]:
            db = sqlite3.connect(folder / "bench.db")
            row["build_s"] = row["fts_prep_s"] = row["fts_build_s"] = float("nan")
            print(f"reusing the index and database in {folder}", flush=True)
        else:
            index.close()
    if not row["reused"]:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        index, row["build_s"] = build_whoosh(docs, folder / "index")
        print(f"whoosh index built in {row['build_s']:.1f} s", flush=True)
        db, row["fts_prep_s"], row["fts_build_s"] = build_sqlite(docs, folder / "bench.db")
        print(f"sqlite built in {row['fts_prep_s'] + row['fts_build_s']:.1f} s", flush=True)
    row["index_mb"] = folder_size(folder / "index") / 1e6
    row["db_mb"] = folder_size(folder) / 1e6 - row["index_mb"]
    index.close()

    # Everything runs on a copy, so that a kept build stays as built for the next run; one
    # SearchIndex serves the queries, then the adds, then the queries again, as a process does.
    from search.index import SearchIndex

    copy = workdir / f"run-{count}"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(folder / "index", copy)
    index = SearchIndex(copy)
    row["segments"] = len(index.searcher().leaf_searchers())

    warm = queries[: args.warmup]
    run_whoosh(index, db, warm)
    run_fts(db, warm)
    run_like(db, warm)
    latencies, totals = run_whoosh(index, db, queries)
    row["whoosh"] = figures(latencies)
    row["mean_total"] = sum(totals) / len(totals)
    row["whoosh_empty"] = sum(1 for n in totals if n == 0)
    row["whoosh_engine"] = figures(run_whoosh(index, db, queries, highlight=False)[0])
    row["whoosh_cold"] = figures(run_whoosh(index, db, queries, cold=True)[0])
    run_whoosh(index, db, queries)  # warm again, as the process was before the cold run
    fts, shown = run_fts(db, queries)
    row["fts"] = figures(fts)
    row["fts_empty"] = sum(1 for n in shown if n == 0)
    row["like"] = figures(run_like(db, queries)[0])
    print("queries measured", flush=True)

    new_docs = generate(args.adds, seed=99, start_id=count + 1)
    row["add"] = figures(run_adds(index, new_docs))
    row["after_adds"] = figures(run_whoosh(index, db, queries)[0])
    began = time.perf_counter()
    index.merge()
    row["merge_s"] = time.perf_counter() - began
    index.close()
    db.close()
    shutil.rmtree(copy, ignore_errors=True)
    return row


# ---- report ----------------------------------------------------------------------------------


def judge(row: dict) -> list[tuple[str, bool]]:
    p95 = row["whoosh"]["p95"]
    checks = []
    if row["docs"] <= 10_000:
        checks.append((f"query p95 ≤ {TARGET_P95_10K_MS:.0f} ms", p95 <= TARGET_P95_10K_MS))
    else:
        checks.append((f"query p95 ≤ {TARGET_P95_100K_MS:.0f} ms", p95 <= TARGET_P95_100K_MS))
        checks.append(("query p95 below the LIKE scan's", p95 < row["like"]["p95"]))
        checks.append(
            (
                f"query p95 within {TARGET_FTS_RATIO}× FTS5's",
                p95 <= TARGET_FTS_RATIO * row["fts"]["p95"],
            )
        )
    checks.append(
        (f"add+commit p95 ≤ {TARGET_ADD_P95_MS:.0f} ms", row["add"]["p95"] <= TARGET_ADD_P95_MS)
    )
    return checks


def _figure_line(name: str, figure: dict) -> str:
    return f"  {name:36} {figure['p50']:8.1f} {figure['p95']:8.1f} {figure['max']:8.1f}"


def report(rows: list[dict], relevance: tuple[bool, str] | None, args) -> tuple[str, bool]:
    cores = len(os.sched_getaffinity(0))
    lines = [
        f"信息桥 search benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {cores} cores, "
        f"{args.queries} queries (top {PER_PAGE}), {args.adds} single adds",
    ]
    ok = True
    for row in rows:
        w, f, like = row["whoosh"], row["fts"], row["like"]
        if row["reused"]:
            built = [f"  reused build: whoosh index {row['index_mb']:.1f} MB, "
                     f"sqlite {row['db_mb']:.1f} MB ({row['segments']} segment(s))"]  # fmt: skip
        else:
            built = [
                f"  whoosh index build        {row['build_s']:7.1f} s   size "
                f"{row['index_mb']:7.1f} MB  ({row['segments']} segment(s))",
                f"  sqlite (docs+FTS5) build  {row['fts_build_s']:7.1f} s   size "
                f"{row['db_mb']:7.1f} MB  (+ {row['fts_prep_s']:.1f} s folding, segmenting)",
            ]
        lines += [
            "",
            f"{row['docs']:,} documents ({POLICY_SHARE:.0%} policies, "
            f"{TRADITIONAL_SHARE:.0%} traditional)",
            *built,
            f"  {'':36} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}",
            _figure_line("whoosh: search + highlights", w),
            _figure_line("whoosh: search only, again (info)", row["whoosh_engine"]),
            _figure_line("whoosh: every query cold (info)", row["whoosh_cold"]),
            _figure_line("FTS5: top 20 by bm25", f),
            _figure_line("LIKE scan: first 20", like),
            _figure_line("add + commit (one document)", row["add"]),
            _figure_line("whoosh after the adds (info)", row["after_adds"]),
            f"  ratios p95: whoosh/FTS5 {w['p95'] / f['p95']:.2f}×, "
            f"whoosh/LIKE {w['p95'] / like['p95']:.2f}×   "
            f"(p50: {w['p50'] / f['p50']:.2f}×, {w['p50'] / like['p50']:.2f}×)",
            f"  mean total per query {row['mean_total']:,.0f}; empty results: whoosh "
            f"{row['whoosh_empty']}, FTS5 {row['fts_empty']}; "
            f"merge after the adds {row['merge_s']:.1f} s",
        ]
        for name, passed in judge(row):
            ok = ok and passed
            lines.append(f"  {'PASS' if passed else 'FAIL'}  {name}")
    if relevance is not None:
        ok = ok and relevance[0]
        lines += ["", f"{'PASS' if relevance[0] else 'FAIL'}  relevance set: {relevance[1]}"]
    else:
        lines += ["", "relevance set not run: .venv/bin/pytest -q tests/test_search_relevance.py"]
    return "\n".join(lines), ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--docs",
        type=int,
        action="append",
        help="documents to generate (repeatable; default 10000 and 100000)",
    )
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--adds", type=int, default=100, help="single-document commits timed")
    parser.add_argument("--keep", metavar="DIR", help="build into DIR, or reuse what is there")
    parser.add_argument("--skip-relevance", action="store_true")
    parser.add_argument("--report-only", action="store_true", help="exit 0 when a target fails")
    args = parser.parse_args(argv)  # fmt: skip

    workdir = (
        Path(args.keep).resolve() if args.keep else Path(tempfile.mkdtemp(prefix="bench-search-"))
    )
    try:
        rows = [bench_size(count, args, workdir) for count in (args.docs or [10_000, 100_000])]
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    relevance = None if args.skip_relevance else relevance_passes()
    text_, ok = report(rows, relevance, args)
    print("\n" + text_)
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"bench_search-{stamp}.txt").write_text(text_ + "\n", encoding="utf-8")
    return 0 if ok or args.report_only else 1


if __name__ == "__main__":
    sys.exit(main())
