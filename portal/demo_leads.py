"""Demo leads and referrals: a city at work, written through the real services.

Each story posts one lead as a demo officer and walks its referrals through the workflow
(send, sign, return, transfer, feedback, extension, landing …) by calling the services of
``portal.leads.service`` and ``portal.referrals.service`` exactly as the views do, each call inside
``acting_as(user)``. Between steps the story *ages* its lead: every timestamp of the lead and of
what hangs off it (referrals, feedback and its 对接日期, extension requests, timeline,
notifications, stage records) moves back by whole days. Audit events are not moved (the hash chain
covers their time): the audit log shows the seeding.

Dates that users type and the services write into texts are given final from the start, so the
timeline never needs rewriting: a rehearsal of the story counts its days first, and the signing
date, a stage's date and an extension's new date are the day the step will show once aged
(``Story.final_day``). Deadlines the service computes itself (N working days after dispatch) are
recomputed at every age step from the new dispatch time with the city's working-day calendar, so
they stay what the service would have set: the referral's own, an extension request's old
deadline, and the date in the 收到推送 notification (the one text that names a computed date; the
services take no clock, so this text is brought along with its deadline).

Idempotent: a story whose company already has a lead is skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.service import Actor
from portal.leads import service as leads
from portal.leads.models import IndustryChain, Lead, LeadEvent, LeadStage
from portal.notifications.models import Notification
from portal.referrals import service as referrals
from portal.referrals.models import ExtensionRequest, Feedback, Referral
from portal.workdays.calendar import deadline_day, local_date
from portal.workdays.service import load_calendar
from tenants.models import Tenant, User
from tenants.scoping import acting_as, wider_scope

# ---- unified social credit codes (GB 32100-2015) ---------------------------------------------

ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 organisation code, the 9 middle chars
REGION_CODES = {
    "广东深圳": "440300",
    "广东广州": "440100",
    "广东东莞": "441900",
    "广东佛山": "440600",
    "浙江宁波": "330200",
    "浙江杭州": "330100",
    "浙江温州": "330300",
    "上海": "310000",
    "江苏苏州": "320500",
    "江苏无锡": "320200",
    "江苏常州": "320400",
    "福建厦门": "350200",
    "福建泉州": "350500",
    "北京": "110000",
    "湖南长沙": "430100",
    "湖北武汉": "420100",
    "安徽合肥": "340100",
    "四川成都": "510100",
    "山东青岛": "370200",
    "香港": "810000",
    "江西南昌": "360100",
}


def demo_credit_code(company: str, origin: str) -> str:
    """A well-formed code for a fictional company: 91 (enterprise), the origin's region code,
    an organisation code with its GB 11714 check character, then the GB 32100 check character."""
    digest = hashlib.sha256(company.encode("utf-8")).hexdigest()
    body = f"{int(digest[:12], 16) % 10**8:08d}"
    org_check = 11 - sum(int(c) * w for c, w in zip(body, ORG_CODE_WEIGHTS, strict=True)) % 11
    org = body + {10: "X", 11: "0"}.get(org_check, str(org_check))
    head = "91" + REGION_CODES.get(origin, "360400") + org
    chars, weights = leads.CREDIT_CODE_CHARS, leads.CREDIT_CODE_WEIGHTS
    total = sum(chars.index(c) * w for c, w in zip(head, weights, strict=True))
    code = head + chars[(31 - total % 31) % 31]
    assert leads.credit_code_valid(code), code
    return code


# ---- the leads -------------------------------------------------------------------------------


@dataclass
class DemoLead:
    poster: str  # login name of the officer who posts it
    title: str
    company: str
    origin: str
    chain: str
    investment: int | None  # 万元
    land: float | None  # 亩
    description: str
    contact: str
    phone: str
    channel: str
    story: str  # name of the function below that walks its referrals
    stage: str = "lead"
    credit: bool = True
    extra: dict = field(default_factory=dict)


DEMO_LEADS = [
    # -- fresh: sent, still inside the signing window
    DemoLead(
        "city.officer",
        "年产600万片大尺寸触摸屏玻璃盖板项目",
        "深圳市晶曜光学玻璃有限公司",
        "广东深圳",
        "电子信息",
        52000,
        120,
        "企业为消费电子盖板玻璃二级供应商，拟在内地新建大尺寸触控盖板玻璃生产基地，"
        "需标准厂房约 3 万平方米，年用电约 4000 万千瓦时。",
        "陈志远",
        "0755-2681 3340",
        "expo",
        "fresh",
        extra={"to": ["dean"], "note": "德安县已有玻璃深加工配套，园区有现成标准厂房。"},
    ),
    DemoLead(
        "shangwu.officer",
        "跨境电商华中分拨中心项目",
        "宁波港汇供应链管理有限公司",
        "浙江宁波",
        "现代物流",
        18000,
        80,
        "企业计划在长江中游设立跨境电商分拨中心，需临港或近铁路物流用地，希望享受综保区政策。",
        "李海波",
        "0574-8772 1906",
        "business",
        "fresh",
        extra={
            "to": ["hukou", "jkq"],
            "note": "湖口临港、经开区综保区均具备条件，请两地同步对接。",
        },
    ),
    DemoLead(
        "fagai.officer",
        "分布式光伏与储能一体化示范项目",
        "上海熠阳新能源科技有限公司",
        "上海",
        "新能源",
        36000,
        None,
        "利用工业园区厂房屋顶建设分布式光伏约 60 兆瓦，配套储能电站，合同能源管理模式。",
        "周静",
        "021-6418 2275",
        "fund",
        "fresh",
        extra={"to": ["yongxiu"], "note": "永修县工业园区屋顶资源集中，电网接入条件好。"},
    ),
    DemoLead(
        "dean.officer",
        "高端铝型材精深加工项目",
        "佛山市铝晟新材料有限公司",
        "广东佛山",
        "新材料",
        25000,
        150,
        "企业生产新能源汽车电池托盘和光伏边框铝型材，拟转移部分产能，用地需求超出我县现有储备。",
        "梁国辉",
        "0757-8632 9018",
        "business",
        "fresh",
        extra={"to": ["jkq"], "note": "我县工业用地指标不足，经开区有成片工业用地，推荐落户。"},
    ),
    # -- signed (accepted), report not yet due
    DemoLead(
        "city.officer",
        "智能网联汽车线束生产基地",
        "苏州汇连汽车电子有限公司",
        "江苏苏州",
        "汽车及零部件",
        30000,
        100,
        "为多家整车厂配套高压线束，拟新建生产基地，首期 20 条生产线，用工约 800 人。",
        "吴立新",
        "0512-6658 3012",
        "agency",
        "accepted",
        extra={"to": "lianxi", "note": "濂溪区有汽车零部件产业园，用工充足。"},
    ),
    DemoLead(
        "shangwu.officer",
        "预制菜中央厨房及冷链配送项目",
        "广州味之源食品科技有限公司",
        "广东广州",
        "绿色食品",
        12000,
        60,
        "建设预制菜中央厨房、冷链仓储及配送中心，原料以本地水产、禽肉为主。",
        "黄晓敏",
        "020-3862 7741",
        "expo",
        "accepted",
        extra={"to": "duchang", "note": "都昌县水产资源丰富，可就近采购原料。"},
    ),
    # -- overdue: signing
    DemoLead(
        "city.officer",
        "锂电池正极材料前驱体项目",
        "长沙锂源新材料股份有限公司",
        "湖南长沙",
        "锂电新能源",
        85000,
        300,
        "年产 5 万吨三元前驱体，需化工园区用地、较大能耗指标及污水处理配套。",
        "刘振华",
        "0731-8895 2046",
        "fund",
        "overdue_sign",
        extra={"to": "pengze", "note": "彭泽县化工园区为省级认定园区，具备承接条件。", "age": 12},
    ),
    DemoLead(
        "fagai.officer",
        "中药配方颗粒生产线项目",
        "成都本草堂药业有限公司",
        "四川成都",
        "生物医药",
        16000,
        45,
        "新建中药配方颗粒生产线，需 GMP 厂房，拟与本地中药材种植基地合作。",
        "赵丽华",
        "028-8542 6630",
        "native",
        "overdue_sign",
        extra={"to": "wuning", "note": "武宁县中药材种植面积大，企业希望就近布局。", "age": 9},
    ),
    # -- overdue: first report (and urged by the sender)
    DemoLead(
        "city.officer",
        "工业机器人减速器研发制造项目",
        "东莞精传智能装备有限公司",
        "广东东莞",
        "装备制造",
        40000,
        90,
        "RV 减速器和谐波减速器研发制造，计划设立研发中心和生产基地。",
        "何建军",
        "0769-2278 5531",
        "office",
        "overdue_report",
        extra={"to": "dean", "note": "德安县装备制造配套企业多。", "age": 20, "urge": True},
    ),
    DemoLead(
        "dean.officer",
        "竹木家居智能制造项目",
        "温州林语家居有限公司",
        "浙江温州",
        "现代纺织服装",
        8000,
        50,
        "定制竹木家居生产，原料需求大，我县原料运距较远，建议由武宁县对接。",
        "潘海涛",
        "0577-8896 1024",
        "business",
        "overdue_report",
        extra={"to": "wuning", "note": "武宁县竹木资源丰富，原料就近供应。", "age": 18},
    ),
    # -- extended: an approved extension of the first-report deadline
    DemoLead(
        "city.officer",
        "半导体封装测试项目",
        "无锡芯测半导体科技有限公司",
        "江苏无锡",
        "电子信息",
        120000,
        200,
        "功率半导体封装测试，需双回路供电及纯水系统，企业正在多地比选。",
        "孙明",
        "0510-8526 7713",
        "fund",
        "extended",
        extra={
            "to": "dean",
            "note": "德安县电子信息产业基础较好，供电条件可满足。",
            "reason": "企业负责人出国考察，约定回国后上门洽谈，需延长首次反馈时限。",
        },
    ),
    DemoLead(
        "shangwu.officer",
        "农产品电商直播基地",
        "杭州禾播网络科技有限公司",
        "浙江杭州",
        "数字经济",
        3000,
        None,
        "建设农产品直播电商基地，孵化本地主播，销售本地特色农产品。",
        "徐晓峰",
        "0571-8763 2290",
        "online",
        "extended_sign",
        extra={
            "to": "duchang",
            "note": "都昌县农特产品丰富，有意发展直播电商。",
            "reason": "分管领导外出学习，需待其返回后研究是否签收。",
        },
    ),
    # -- return requested (waiting for the sender)
    DemoLead(
        "city.officer",
        "乙二醇及下游新材料项目",
        "青岛海川化工集团有限公司",
        "山东青岛",
        "石油化工",
        260000,
        800,
        "大型石化下游新材料项目，需化工园区用地约 800 亩、蒸汽管网及危化品码头。",
        "马国庆",
        "0532-8597 1130",
        "expo",
        "return_requested",
        extra={
            "to": "lianxi",
            "note": "请濂溪区研究承接可能。",
            "reason": "land",
            "text": "我区无化工园区，不具备危化品项目落地条件，建议推送彭泽县或湖口县。",
        },
    ),
    # -- returned, then sent on to a better fit
    DemoLead(
        "city.officer",
        "光伏组件边框及支架项目",
        "常州光耀金属制品有限公司",
        "江苏常州",
        "光伏光电",
        22000,
        110,
        "光伏组件铝边框及跟踪支架生产，需标准厂房和铝型材原料供应。",
        "袁志刚",
        "0519-8677 4401",
        "business",
        "returned",
        extra={
            "to": "duchang",
            "then": "yongxiu",
            "reason": "not_fit",
            "text": "我县主导产业为绿色食品和文化旅游，不符合产业定位。",
        },
    ),
    DemoLead(
        "fagai.officer",
        "数据中心及算力调度平台",
        "北京云衡数据科技有限公司",
        "北京",
        "数字经济",
        150000,
        180,
        "建设绿色数据中心约 5000 个标准机柜，需双路市电和较低电价，重复于此前推送。",
        "曹伟",
        "010-8266 5478",
        "department",
        "returned_dup",
        extra={
            "to": "jkq",
            "reason": "duplicate",
            "text": "该企业已由市投资促进局于本月初推送我区，正在对接中，属重复线索。",
        },
    ),
    # -- return refused: back to 待签收, the original deadlines stand
    DemoLead(
        "city.officer",
        "生物降解材料生产项目",
        "厦门绿源生物材料有限公司",
        "福建厦门",
        "新材料",
        28000,
        130,
        "PBAT、PLA 生物降解材料及制品生产，产品用于快递包装和农用地膜。",
        "唐晓燕",
        "0592-5718 3306",
        "fund",
        "return_refused",
        extra={
            "to": "hukou",
            "reason": "no_intent",
            "text": "电话联系企业，对方表示暂无外迁计划。",
            "refusal": "企业投资意向由基金管理人确认，请上门对接后再作判断。",
        },
    ),
    DemoLead(
        "shangwu.officer",
        "休闲食品生产基地",
        "泉州闽味食品有限公司",
        "福建泉州",
        "绿色食品",
        9000,
        70,
        "糕点、休闲零食生产，拟扩建华中生产基地，辐射长江中游市场。",
        "林少华",
        "0595-2276 8830",
        "expo",
        "return_refused_then_reported",
        extra={
            "to": "yongxiu",
            "reason": "not_fit",
            "text": "我县食品产业园已满园。",
            "refusal": "县内其他园区仍有空置厂房，请继续对接。",
        },
    ),
    # -- withdrawn by the sender
    DemoLead(
        "city.officer",
        "文旅度假综合体项目",
        "上海途岸文旅发展有限公司",
        "上海",
        "文化旅游",
        60000,
        400,
        "山地度假酒店、露营基地及研学营地综合开发，企业已明确意向地为庐山西海周边。",
        "朱丽",
        "021-5208 9663",
        "agency",
        "withdrawn",
        extra={"to": ["wuning", "yongxiu"], "withdraw": "yongxiu"},
    ),
    DemoLead(
        "fagai.officer",
        "氢燃料电池电堆项目",
        "合肥氢启动力科技有限公司",
        "安徽合肥",
        "新能源",
        45000,
        120,
        "氢燃料电池电堆及系统集成，企业融资未到位，暂缓对外选址。",
        "钱志明",
        "0551-6553 2017",
        "fund",
        "withdrawn_only",
        extra={"to": "jkq"},
    ),
    # -- transferred: county → its park (child referral), then feedback
    DemoLead(
        "city.officer",
        "年产 2GWh 储能电池 PACK 项目",
        "深圳储能时代科技有限公司",
        "广东深圳",
        "锂电新能源",
        68000,
        160,
        "储能电池模组 PACK 及储能集装箱系统集成，企业希望入驻专业园区。",
        "叶建平",
        "0755-8627 1155",
        "expo",
        "transferred",
        extra={
            "to": "dean",
            "transfer_to": "dean-park",
            "note": "德安县新能源产业链初具规模。",
            "transfer_note": "德安高新区新能源产业园有现成厂房和专班服务，转交园区承接。",
        },
    ),
    DemoLead(
        "shangwu.officer",
        "进口冷链食品集中监管仓",
        "上海冷链通国际物流有限公司",
        "上海",
        "现代物流",
        15000,
        40,
        "进口冷链食品集中监管仓及查验平台，需靠近铁路口岸。",
        "郑凯",
        "021-3387 6610",
        "business",
        "transferred_city",
        extra={
            "to": "lianxi",
            "transfer_to": "jkq",
            "note": "濂溪区物流园区条件较好。",
            "transfer_note": "经开区综保区具备海关监管条件，更适合承接，转交经开区。",
        },
    ),
    # -- reported, with progress feedback
    DemoLead(
        "city.officer",
        "新能源汽车电机控制器项目",
        "武汉驰电科技有限公司",
        "湖北武汉",
        "汽车及零部件",
        26000,
        80,
        "新能源汽车电机控制器研发生产，现有产能不足，寻求新建基地。",
        "彭涛",
        "027-8779 5532",
        "office",
        "reported",
        extra={"to": "hukou"},
    ),
    DemoLead(
        "dean.officer",
        "医用防护用品生产项目",
        "南昌康卫医疗用品有限公司",
        "江西南昌",
        "生物医药",
        6000,
        30,
        "医用口罩、防护服生产，企业希望在工业园区租赁厂房，我县暂无合适厂房。",
        "罗敏",
        "0791-8826 3390",
        "native",
        "reported",
        extra={"to": "yongxiu"},
    ),
    DemoLead(
        "fagai.officer",
        "风电装备塔筒制造项目",
        "江苏海川风电装备有限公司",
        "江苏苏州",
        "装备制造",
        32000,
        260,
        "风电塔筒及海上风电桩基制造，需临江码头运输超大件。",
        "蒋伟东",
        "0512-5367 8820",
        "department",
        "reported",
        extra={"to": "pengze"},
    ),
    # -- landed, with lifecycle stages after landing
    DemoLead(
        "city.officer",
        "光学镜头模组生产项目",
        "东莞华瞳光电科技有限公司",
        "广东东莞",
        "光伏光电",
        48000,
        95,
        "手机及车载光学镜头模组生产，首期 30 条产线，达产后年产值约 15 亿元。",
        "邓华",
        "0769-8816 2203",
        "expo",
        "landed",
        extra={"to": "dean", "amount": 50000, "stages": ["registered", "started"]},
    ),
    DemoLead(
        "shangwu.officer",
        "高性能纤维复合材料项目",
        "宁波恒韧复合材料有限公司",
        "浙江宁波",
        "新材料",
        35000,
        140,
        "碳纤维预浸料及复合材料制品生产，产品用于风电叶片和轨道交通。",
        "胡斌",
        "0574-8763 5521",
        "business",
        "landed",
        extra={"to": "jkq", "amount": 38000, "stages": ["registered"]},
    ),
    DemoLead(
        "dean.officer",
        "功能性纺织面料印染项目",
        "杭州锦织纺织科技有限公司",
        "浙江杭州",
        "现代纺织服装",
        20000,
        110,
        "功能性面料织造及数码印染，需污水集中处理配套，我县园区不具备印染条件。",
        "沈丽",
        "0571-8655 3307",
        "business",
        "landed_county",
        extra={
            "to": "lianxi",
            "amount": 21000,
            "stages": ["registered", "started"],
        },
    ),
    DemoLead(
        "city.officer",
        "智能家电零部件项目",
        "佛山美电精密部件有限公司",
        "广东佛山",
        "装备制造",
        18000,
        70,
        "空调压缩机零部件及电机精密加工，为龙头家电企业配套。",
        "冯晓东",
        "0757-2289 4402",
        "office",
        "landed",
        extra={"to": "yongxiu", "amount": 18500, "stages": []},
    ),
    # -- not landed
    DemoLead(
        "city.officer",
        "动力电池回收利用项目",
        "广州循源再生资源有限公司",
        "广东广州",
        "锂电新能源",
        24000,
        90,
        "退役动力电池梯次利用及再生利用，需危废经营许可。",
        "曾志勇",
        "020-8451 6603",
        "fund",
        "not_landed",
        extra={
            "to": "hukou",
            "reason": "elsewhere",
            "note": "企业最终选择落户邻省，已签约，我县跟踪服务结束。",
        },
    ),
    DemoLead(
        "fagai.officer",
        "精细化工中间体项目",
        "温州恒信化学有限公司",
        "浙江温州",
        "石油化工",
        30000,
        150,
        "医药、农药中间体生产，环评要求高。",
        "许峰",
        "0577-8866 9901",
        "agency",
        "not_landed",
        extra={
            "to": "pengze",
            "reason": "conditions",
            "note": "项目能耗指标需求超出园区剩余指标，经多次协调无法满足。",
        },
    ),
    # -- landed, then terminated
    DemoLead(
        "city.officer",
        "电子级多晶硅材料项目",
        "香港晶源投资有限公司",
        "香港",
        "光伏光电",
        90000,
        220,
        "电子级多晶硅材料生产，港资企业，已签约注册，后因母公司经营变化终止。",
        "黄永康",
        "+852 2856 3370",
        "business",
        "terminated",
        extra={"to": "jkq", "amount": 80000},
    ),
    # -- leads kept at home (not sent), and a city-wide multi-county dispatch
    DemoLead(
        "yongxiu.officer",
        "有机稻米深加工项目",
        "江西鄱湖粮油有限公司",
        "江西南昌",
        "绿色食品",
        5000,
        35,
        "有机稻米精深加工及品牌营销，企业已到我县考察两次。",
        "付强",
        "0791-8835 2210",
        "native",
        "kept",
        stage="talking",
    ),
    DemoLead(
        "jkq.officer",
        "工业互联网平台区域中心",
        "杭州数联工业互联网有限公司",
        "浙江杭州",
        "数字经济",
        10000,
        None,
        "为园区企业提供设备上云、数字化改造服务，拟设立区域运营中心。",
        "韩雪",
        "0571-8812 7730",
        "online",
        "kept",
        stage="talking",
    ),
    DemoLead(
        "city.officer",
        "锂云母提锂及碳酸锂项目",
        "南昌赣锂科技有限公司",
        "江西南昌",
        "锂电新能源",
        110000,
        350,
        "锂云母提锂及电池级碳酸锂生产，市里统一调度，多地同时对接比选。",
        "谢东",
        "0791-8877 6620",
        "department",
        "broadcast",
        extra={"to": ["wuning", "yongxiu", "lianxi"]},
    ),
    DemoLead(
        "hukou.officer",
        "船舶配件制造项目",
        "无锡江航船舶配件有限公司",
        "江苏无锡",
        "装备制造",
        7000,
        40,
        "船用舾装件及配件制造，需临江用地，我县岸线资源已饱和。",
        "王建华",
        "0510-8276 1138",
        "business",
        "county_to_county",
        credit=False,
        extra={"to": "pengze", "note": "彭泽县有船舶工业园，岸线资源尚有余量。"},
    ),
]


# ---- the story engine ------------------------------------------------------------------------


class Story:
    """Acts as demo users on one lead and ages it between steps."""

    def __init__(
        self,
        session: Session,
        users: dict[str, User],
        tenants: dict[str, Tenant],
        remaining: int = 0,
    ):
        self.session = session
        self.users = users
        self.tenants = tenants
        self.calendar = load_calendar(session)
        self.lead_id: int | None = None
        self.days: dict[int, tuple[int, int]] = {}  # referral id -> (sign days, report days)
        self.remaining = remaining  # days the story will still age: see final_day

    @contextlib.contextmanager
    def as_(self, login: str):
        user = self.users[login]
        with acting_as(user):
            yield Actor.of(user, "127.0.0.1")

    def _referral(self, referral_id: int) -> Referral:
        referral = self.session.get(Referral, referral_id)
        assert referral is not None, referral_id
        return referral

    def today(self) -> str:
        return local_date(referrals.utcnow()).isoformat()

    def final_day(self) -> date:
        """The day this step will show once the story has aged to its end."""
        return local_date(referrals.utcnow()) - timedelta(days=self.remaining)

    # -- steps ---------------------------------------------------------------------------------

    def post(self, spec: DemoLead, chain_ids: dict[str, int]) -> int:
        form = {
            "title": spec.title,
            "company": spec.company,
            "credit_code": demo_credit_code(spec.company, spec.origin) if spec.credit else "",
            "company_origin": spec.origin,
            "chain_id": str(chain_ids.get(spec.chain, "")),
            "planned_investment": "" if spec.investment is None else str(spec.investment),
            "land_need": "" if spec.land is None else str(spec.land),
            "description": spec.description,
            "contact_name": spec.contact,
            "contact_phone": spec.phone,
            "source_channel": spec.channel,
            "stage": spec.stage,
        }
        with self.as_(spec.poster) as actor:
            data = leads.parse_lead_input(self.session, form)
            lead = leads.create_lead(self.session, actor, data)
        self.lead_id = lead.id
        return lead.id

    def send(self, login: str, to, note: str, sign_days=None, report_days=None, **kw) -> list:
        codes_ = [to] if isinstance(to, str) else list(to)
        with self.as_(login) as actor:
            lead = self.session.get(Lead, self.lead_id)
            sent = referrals.send_lead(
                self.session,
                actor,
                lead,
                to_tenant_ids=[str(self.tenants[c].id) for c in codes_],
                note=note,
                sign_days=sign_days,
                report_days=report_days,
                **kw,
            )
            defaults = referrals.default_days(self.session)
        for referral in sent:
            self.days[referral.id] = (sign_days or defaults[0], report_days or defaults[1])
        return [r.id for r in sent]

    def accept(self, login: str, rid: int) -> None:
        with self.as_(login) as actor:
            referrals.accept(self.session, actor, self._referral(rid))

    def feedback(self, login: str, rid: int, summary: str | None = None, **kw) -> None:
        """对接反馈; without a summary, the first-contact text of its method. The 对接日期 is today,
        aged with the rest (the service refuses a date before the not yet aged dispatch)."""
        method = kw.get("method", "phone")
        form = {
            "contacted_on": self.today(),
            "method": method,
            "summary": summary or FIRST_FEEDBACK[method],
            "intention": kw.get("intention", "medium"),
            "next_step": kw.get("next_step", ""),
            "stage_after": kw.get("stage_after", "talking"),
        }
        with self.as_(login) as actor:
            referrals.add_feedback(self.session, actor, self._referral(rid), form)

    def request_return(self, login: str, rid: int, reason: str, text: str) -> None:
        with self.as_(login) as actor:
            referrals.request_return(
                self.session, actor, self._referral(rid), reason=reason, text=text
            )

    def decide_return(self, login: str, rid: int, agree: bool, note: str = "") -> None:
        with self.as_(login) as actor:
            referrals.decide_return(
                self.session, actor, self._referral(rid), agree=agree, note=note
            )

    def withdraw(self, login: str, rid: int, note: str) -> None:
        with self.as_(login) as actor:
            referrals.withdraw(self.session, actor, self._referral(rid), note=note)

    def transfer(self, login: str, rid: int, to: str, note: str) -> int:
        with self.as_(login) as actor:
            child = referrals.transfer(
                self.session,
                actor,
                self._referral(rid),
                to_tenant_id=str(self.tenants[to].id),
                note=note,
            )
            defaults = referrals.default_days(self.session)
        self.days[child.id] = defaults
        return child.id

    def extend(self, login: str, rid: int, extra_days: int, reason: str) -> int:
        """Ask for ``extra_days`` calendar days beyond the open deadline as it will stand once
        aged (at least one day beyond the deadline the service checks against now)."""
        with self.as_(login) as actor:
            referral = self._referral(rid)
            which, due = referrals.open_deadline(referral)
            final_sent = referral.sent_at - timedelta(days=self.remaining)
            final_due = self._deadlines(referral, final_sent)[0 if which == "sign" else 1]
            new_date = max(
                deadline_day(final_due) + timedelta(days=extra_days),
                deadline_day(due) + timedelta(days=1),
            )
            row = referrals.request_extension(
                self.session, actor, referral, new_date=new_date.isoformat(), reason=reason
            )
        return row.id

    def decide_extension(self, login: str, ext_id: int, approve: bool, note: str = "") -> None:
        with self.as_(login) as actor:
            row = self.session.get(ExtensionRequest, ext_id)
            referrals.decide_extension(self.session, actor, row, approve=approve, note=note)

    def urge(self, login: str, rid: int, note: str) -> None:
        with self.as_(login) as actor:
            referrals.urge(self.session, actor, self._referral(rid), note=note)

    def land(self, login: str, rid: int, amount: int, host: str | None = None) -> None:
        with self.as_(login) as actor:
            referrals.close_landed(
                self.session,
                actor,
                self._referral(rid),
                host_tenant_id=str(self.tenants[host].id) if host else "",
                signed_on=self.final_day().isoformat(),
                signed_amount=str(amount),
            )

    def not_land(self, login: str, rid: int, reason: str, note: str) -> None:
        with self.as_(login) as actor:
            referrals.close_not_landed(
                self.session, actor, self._referral(rid), reason=reason, note=note
            )

    def stage(self, login: str, stage: str, reason: str = "") -> None:
        with self.as_(login) as actor:
            lead = self.session.get(Lead, self.lead_id)
            leads.record_stage(
                self.session,
                actor,
                lead,
                stage=stage,
                on_date=self.final_day().isoformat(),
                reason=reason,
            )

    # -- time ----------------------------------------------------------------------------------

    def age(self, days: int) -> None:
        """Move everything of this lead ``days`` days into the past (see the module doc)."""
        if days <= 0:
            return
        self.remaining -= days
        delta = timedelta(days=days)
        session = self.session
        with wider_scope("cli"):
            lead = session.get(Lead, self.lead_id)
            lead.created_at -= delta
            lead.updated_at -= delta
            lead.code = f"XS-{local_date(lead.created_at).year}-{lead.id:06d}"
            for row in session.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead.id)):
                row.occurred_at -= delta
            for row in session.scalars(select(LeadStage).where(LeadStage.lead_id == lead.id)):
                row.recorded_at -= delta  # its on_date was given final
            for row in session.scalars(select(Notification).where(Notification.lead_id == lead.id)):
                row.created_at -= delta
            rows = session.scalars(select(Referral).where(Referral.lead_id == lead.id)).all()
            for referral in rows:
                _shift(referral, delta, "accepted_at", "first_report_at", "last_feedback_at")
                _shift(referral, delta, "closed_at", "last_urged_at")
                announced = self._dispatch_sign_by(referral)
                referral.sent_at -= delta
                self._age_deadlines(referral)
                self._announce(referral, announced, self._dispatch_sign_by(referral))
                for row in session.scalars(
                    select(Feedback).where(Feedback.referral_id == referral.id)
                ):
                    row.contacted_on -= delta
                    row.created_at -= delta
                for row in session.scalars(
                    select(ExtensionRequest).where(ExtensionRequest.referral_id == referral.id)
                ):
                    _shift(row, delta, "requested_at", "decided_at")  # new_due was given final
            session.flush()

    def _dispatch_sign_by(self, referral: Referral) -> datetime:
        """The signing deadline the service set when it sent ``referral``."""
        return self.calendar.deadline(referral.sent_at, self.days.get(referral.id, (1, 5))[0])

    def _extensions(self, referral: Referral) -> list[ExtensionRequest]:
        return list(
            self.session.scalars(
                select(ExtensionRequest)
                .where(ExtensionRequest.referral_id == referral.id)
                .order_by(ExtensionRequest.ordinal, ExtensionRequest.id)
            )
        )

    def _deadlines(
        self, referral: Referral, sent_at: datetime
    ) -> tuple[datetime, datetime, list[tuple[ExtensionRequest, datetime]]]:
        """(sign_by, report_by) as the services would have set them for a dispatch at
        ``sent_at``: N working days, then the approved extensions (as _apply_extension does);
        and each extension request with the deadline it started from (its old_due)."""
        sign_days, report_days = self.days.get(referral.id, (1, 5))
        sign_by = self.calendar.deadline(sent_at, sign_days)
        report_by = self.calendar.deadline(sent_at, report_days)
        starts = []
        for row in self._extensions(referral):
            starts.append((row, sign_by if row.deadline == "sign" else report_by))
            if row.state != "approved":
                continue
            if row.deadline == "sign":
                sign_by, report_by = row.new_due, max(report_by, row.new_due)
            else:
                report_by = row.new_due
        return sign_by, report_by, starts

    def _age_deadlines(self, referral: Referral) -> None:
        referral.sign_by, referral.report_by, starts = self._deadlines(referral, referral.sent_at)
        for row, old_due in starts:
            row.old_due = old_due

    def _announce(self, referral: Referral, was: datetime, now_due: datetime) -> None:
        """The 收到推送 notification names the dispatch's signing deadline: keep it that date."""
        old, new = deadline_day(was).isoformat(), deadline_day(now_due).isoformat()
        if old == new:
            return
        for row in self.session.scalars(
            select(Notification).where(
                Notification.referral_id == referral.id,
                Notification.kind == "referral_received",
            )
        ):
            row.text = row.text.replace(old, new)


def _shift(obj, delta: timedelta, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if value is not None:
            setattr(obj, name, value - delta)


# ---- the stories: one function per kind of history ---------------------------------------------

# The first contact, told as its 对接方式 (codes.FEEDBACK_METHODS) happened.
_INTRODUCED = "介绍了我方产业基础、要素保障和招商政策，企业表示有兴趣来考察。"
FIRST_FEEDBACK = {
    "phone": "已电话联系企业负责人，" + _INTRODUCED,
    "visit": "已上门拜访企业负责人，" + _INTRODUCED,
    "video": "已与企业负责人视频连线，" + _INTRODUCED,
    "message": "已通过微信联系企业负责人，" + _INTRODUCED,
    "reception": "企业负责人来我地考察，我方介绍了产业基础、要素保障和招商政策，企业表示有意落户。",
}
PROGRESS_FEEDBACK = (
    "企业考察团一行来我地实地考察了拟选地块和标准厂房，双方就供地方式、优惠政策初步交换了意见。"
)


def _officer(code: str) -> str:
    return f"{code}.officer"


def _head(code: str) -> str:
    return f"{code}.head"


def _sender(spec: DemoLead) -> str:
    return spec.poster.split(".")[0]


def story_fresh(s: Story, spec: DemoLead) -> None:
    s.age(2)
    s.send(spec.poster, spec.extra["to"], spec.extra["note"])


def story_accepted(s: Story, spec: DemoLead) -> None:
    s.age(4)
    (rid,) = s.send(spec.poster, spec.extra["to"], spec.extra["note"])
    s.age(1)
    s.accept(_officer(spec.extra["to"]), rid)
    s.age(1)


def story_overdue_sign(s: Story, spec: DemoLead) -> None:
    s.age(3)
    s.send(spec.poster, spec.extra["to"], spec.extra["note"])
    s.age(spec.extra["age"])


def story_overdue_report(s: Story, spec: DemoLead) -> None:
    to = spec.extra["to"]
    s.age(5)
    (rid,) = s.send(spec.poster, to, spec.extra["note"])
    s.age(1)
    s.accept(_officer(to), rid)
    s.age(spec.extra["age"])
    if spec.extra.get("urge"):
        s.urge(spec.poster, rid, "请尽快与企业取得联系并反馈对接情况。")
        s.age(1)


def story_extended(s: Story, spec: DemoLead) -> None:
    to = spec.extra["to"]
    s.age(6)
    (rid,) = s.send(spec.poster, to, spec.extra["note"])
    s.age(1)
    s.accept(_officer(to), rid)
    s.age(2)
    ext = s.extend(_officer(to), rid, 15, spec.extra["reason"])
    s.decide_extension(_head(_sender(spec)), ext, True, "同意，请按新时限反馈。")
    s.age(3)


def story_extended_sign(s: Story, spec: DemoLead) -> None:
    to = spec.extra["to"]
    s.age(2)
    (rid,) = s.send(spec.poster, to, spec.extra["note"], sign_days=2, report_days=5)
    ext = s.extend(_officer(to), rid, 7, spec.extra["reason"])
    s.decide_extension(_head(_sender(spec)), ext, True)
    s.age(1)


def story_return_requested(s: Story, spec: DemoLead) -> None:
    to = spec.extra["to"]
    s.age(1)
    (rid,) = s.send(spec.poster, to, spec.extra["note"], sign_days=3)
    s.request_return(_officer(to), rid, spec.extra["reason"], spec.extra["text"])


def story_returned(s: Story, spec: DemoLead) -> None:
    to, then = spec.extra["to"], spec.extra["then"]
    s.age(30)
    (rid,) = s.send(spec.poster, to, "都昌县有意发展新能源配套产业，请对接。")
    s.request_return(_officer(to), rid, spec.extra["reason"], spec.extra["text"])
    s.age(1)
    s.decide_return(spec.poster, rid, True, "同意退回，另行推送。")
    s.age(1)
    (second,) = s.send(spec.poster, then, "永修县光伏产业园有铝型材配套企业，请对接。")
    s.age(1)
    s.accept(_officer(then), second)
    s.age(3)
    s.feedback(
        _officer(then),
        second,
        method="visit",
        intention="strong",
        next_step="安排企业来永修考察光伏产业园。",
    )
    s.age(10)


def story_returned_dup(s: Story, spec: DemoLead) -> None:
    to = spec.extra["to"]
    s.age(12)
    (rid,) = s.send(spec.poster, to, "经开区算力基础设施规划已获批复，请对接。")
    s.request_return(_officer(to), rid, spec.extra["reason"], spec.extra["text"])
    s.decide_return(spec.poster, rid, True)
    s.age(2)


def story_return_refused(s: Story, spec: DemoLead) -> None:
    to = spec.extra["to"]
    s.age(1)
    (rid,) = s.send(spec.poster, to, "湖口县新材料产业园有配套基础，请对接。", sign_days=2)
    s.request_return(_officer(to), rid, spec.extra["reason"], spec.extra["text"])
    s.decide_return(spec.poster, rid, False, spec.extra["refusal"])


def story_return_refused_then_reported(s: Story, spec: DemoLead) -> None:
    to = spec.extra["to"]
    s.age(9)
    (rid,) = s.send(spec.poster, to, "永修县食品产业基础较好，请对接。")
    s.request_return(_officer(to), rid, spec.extra["reason"], spec.extra["text"])
    s.decide_return(spec.poster, rid, False, spec.extra["refusal"])
    s.age(1)
    s.accept(_officer(to), rid)
    s.age(2)
    s.feedback(
        _officer(to),
        rid,
        "已与企业视频沟通，推荐我县云山经济开发区空置厂房，企业将派员考察。",
        method="video",
        intention="medium",
        next_step="两周内组织企业实地考察。",
    )
    s.age(3)


def story_withdrawn(s: Story, spec: DemoLead) -> None:
    s.age(8)
    rids = s.send(
        spec.poster, spec.extra["to"], "庐山西海周边文旅资源丰富，请武宁、永修两县同步对接。"
    )
    by_code = dict(zip(spec.extra["to"], rids, strict=True))
    s.accept(_officer("wuning"), by_code["wuning"])
    s.age(1)
    s.withdraw(
        spec.poster,
        by_code[spec.extra["withdraw"]],
        "企业已明确意向落户武宁县，撤回对永修县的推送。",
    )
    s.age(1)
    s.feedback(
        _officer("wuning"),
        by_code["wuning"],
        "已上门拜访企业，企业看中西海湾片区地块，正在进行规划方案设计。",
        method="visit",
        intention="strong",
        next_step="配合企业完成规划方案，争取年内签约。",
    )
    s.age(2)


def story_withdrawn_only(s: Story, spec: DemoLead) -> None:
    s.age(6)
    (rid,) = s.send(spec.poster, spec.extra["to"], "经开区有氢能产业规划，请对接。", sign_days=3)
    s.age(1)
    s.withdraw(spec.poster, rid, "企业融资未到位，暂缓选址，撤回推送。")
    s.age(1)


def story_transferred(s: Story, spec: DemoLead) -> None:
    to, onward = spec.extra["to"], spec.extra["transfer_to"]
    s.age(14)
    (rid,) = s.send(spec.poster, to, spec.extra["note"])
    s.age(1)
    s.accept(_officer(to), rid)
    s.age(1)
    child = s.transfer(_head(to), rid, onward, spec.extra["transfer_note"])
    s.age(1)
    s.accept(_officer(onward), child)
    s.age(2)
    s.feedback(
        _officer(onward),
        child,
        "园区招商专班已赴深圳拜访企业，企业对园区 3 号标准厂房较为满意。",
        method="visit",
        intention="strong",
        next_step="起草投资协议文本。",
    )
    s.age(4)


def story_transferred_city(s: Story, spec: DemoLead) -> None:
    to, onward = spec.extra["to"], spec.extra["transfer_to"]
    s.age(5)
    (rid,) = s.send(spec.poster, to, spec.extra["note"])
    s.accept(_officer(to), rid)
    s.age(1)
    s.transfer(_head(to), rid, onward, spec.extra["transfer_note"])  # the child awaits signing


def story_reported(s: Story, spec: DemoLead) -> None:
    to = spec.extra["to"]
    s.age(40)
    (rid,) = s.send(spec.poster, to, "请对接，企业近期有实地考察安排。")
    s.age(1)
    s.accept(_officer(to), rid)
    s.age(3)
    s.feedback(_officer(to), rid, next_step="邀请企业来考察。")
    s.age(14)
    s.feedback(
        _officer(to),
        rid,
        PROGRESS_FEEDBACK,
        method="reception",
        intention="strong",
        next_step="提交项目投资方案，县政府常务会研究。",
    )
    s.age(14)
    s.feedback(
        _officer(to),
        rid,
        "企业已提交项目可行性研究报告，县发改、自然资源部门正在开展预审。",
        method="message",
        intention="strong",
        next_step="完成用地预审后洽谈投资协议。",
    )
    s.age(5)


def story_landed(s: Story, spec: DemoLead) -> None:
    to = spec.extra["to"]
    s.age(20)
    (rid,) = s.send(spec.poster, to, "请对接，企业正在华中地区选址。")
    s.age(1)
    s.accept(_officer(to), rid)
    s.age(2)
    s.feedback(_officer(to), rid, method="visit", intention="strong")
    s.age(20)
    s.feedback(_officer(to), rid, PROGRESS_FEEDBACK, method="reception", intention="strong")
    s.age(15)
    s.land(_officer(to), rid, spec.extra["amount"])
    for stage in spec.extra["stages"]:
        s.age(18)
        s.stage(_officer(to), stage)
    s.age(7)


def story_landed_county(s: Story, spec: DemoLead) -> None:
    """A county's own lead sent to 濂溪区, which lands it."""
    to = spec.extra["to"]
    s.age(10)
    (rid,) = s.send(spec.poster, to, "濂溪区有印染集聚区和污水集中处理设施，推荐落户。")
    s.age(1)
    s.accept(_officer(to), rid)
    s.age(1)
    s.feedback(_officer(to), rid, method="phone", intention="strong")
    s.age(25)
    s.land(_officer(to), rid, spec.extra["amount"])
    for stage in spec.extra["stages"]:
        s.age(20)
        s.stage(_officer(to), stage)
    s.age(12)


def story_not_landed(s: Story, spec: DemoLead) -> None:
    to = spec.extra["to"]
    s.age(30)
    (rid,) = s.send(spec.poster, to, "请对接。")
    s.age(1)
    s.accept(_officer(to), rid)
    s.age(3)
    s.feedback(_officer(to), rid, intention="weak")
    s.age(20)
    s.not_land(_officer(to), rid, spec.extra["reason"], spec.extra["note"])
    s.age(6)


def story_terminated(s: Story, spec: DemoLead) -> None:
    to = spec.extra["to"]
    s.age(30)
    (rid,) = s.send(spec.poster, to, "港资项目，请经开区对接。")
    s.age(1)
    s.accept(_officer(to), rid)
    s.age(2)
    s.feedback(_officer(to), rid, method="video", intention="strong")
    s.age(20)
    s.land(_officer(to), rid, spec.extra["amount"])
    s.age(30)
    s.stage(_officer(to), "registered")
    s.age(25)
    s.stage(_officer(to), "terminated", reason="business")
    s.age(3)


def story_kept(s: Story, spec: DemoLead) -> None:
    s.age(15)


def story_broadcast(s: Story, spec: DemoLead) -> None:
    s.age(7)
    rids = s.send(
        spec.poster,
        spec.extra["to"],
        "市级重点调度项目，请三地同步对接，三个工作日内签收。",
        sign_days=3,
        report_days=7,
    )
    by_code = dict(zip(spec.extra["to"], rids, strict=True))
    s.accept(_officer("wuning"), by_code["wuning"])
    s.accept(_officer("yongxiu"), by_code["yongxiu"])
    s.age(2)
    s.feedback(
        _officer("wuning"),
        by_code["wuning"],
        "已电话联系企业，并组织县自然资源局核查锂云母矿权情况，企业拟来县考察。",
        method="phone",
        intention="strong",
    )
    s.age(3)


def story_county_to_county(s: Story, spec: DemoLead) -> None:
    to = spec.extra["to"]
    s.age(6)
    (rid,) = s.send(spec.poster, to, spec.extra["note"])
    s.age(1)
    s.accept(_officer(to), rid)
    s.age(1)
    s.feedback(_officer(to), rid, method="phone", intention="medium")
    s.age(2)


STORIES: dict[str, Callable[[Story, DemoLead], None]] = {
    name.removeprefix("story_"): fn for name, fn in globals().items() if name.startswith("story_")
}


class _Rehearsal:
    """Stands in for a Story to count the days it ages; every other step does nothing."""

    def __init__(self) -> None:
        self.days = 0

    def age(self, days: int) -> None:
        self.days += max(days, 0)

    def send(self, login: str, to, *args, **kwargs) -> list[int]:
        return [0] * (1 if isinstance(to, str) else len(to))

    def __getattr__(self, name: str) -> Callable[..., int]:
        return lambda *args, **kwargs: 0


def days_of_story(spec: DemoLead) -> int:
    """How many days the story of ``spec`` ages its lead in all (its posting's age today)."""
    rehearsal = _Rehearsal()
    STORIES[spec.story](rehearsal, spec)  # type: ignore[arg-type]
    return rehearsal.days


def seed_demo_leads(session: Session) -> dict[str, int]:
    """Post the demo leads and walk their referrals; skip companies that already have a lead.
    Returns {"leads": created, "referrals": created}. The caller commits."""
    with wider_scope("cli"):
        users = {u.login_name: u for u in session.scalars(select(User)).all()}
        for user in users.values():
            user.tenant  # noqa: B018 - load while the wide scope is open
        tenants = {t.code: t for t in session.scalars(select(Tenant)).all()}
        chain_ids = dict(
            session.execute(
                select(IndustryChain.name, IndustryChain.id).where(IndustryChain.active.is_(True))
            ).all()
        )
        existing = set(
            session.scalars(
                select(Lead.company).where(Lead.company.in_([d.company for d in DEMO_LEADS]))
            )
        )
        referrals_before = session.query(Referral).count()
    created = 0
    for spec in DEMO_LEADS:
        if spec.company in existing:
            continue
        story = Story(session, users, tenants, remaining=days_of_story(spec))
        story.post(spec, chain_ids)
        STORIES[spec.story](story, spec)
        assert story.remaining == 0, spec.company  # the rehearsal counted every day
        created += 1
    with wider_scope("cli"):
        referrals_after = session.query(Referral).count()
    return {"leads": created, "referrals": referrals_after - referrals_before}


def referral_state_counts(session: Session) -> Counter:
    with wider_scope("cli"):
        return Counter(session.scalars(select(Referral.state)).all())
