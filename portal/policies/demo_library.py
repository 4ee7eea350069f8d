"""The demo policy library (政策文件) that ``flask demo seed`` adds: documents written for the
demo, for a prefecture city in Jiangxi and its counties, parks and departments.

Each entry of ``DEMO_POLICIES`` is a dict with the policy's metadata and body text, keyed as
the policy form is: ``title``, ``issuer`` (发布机构), ``doc_number`` (文号, "" when there is
none), ``issued``, ``effective`` and ``expires`` (dates or None), ``category``, ``validity``
("valid" | "expired" | "repealed", as of December 2026), ``scope_tenant_code`` (None for
city-wide), ``body`` and ``attachment`` (None or a file in ``demo_files/``). Beside those:
``key`` (a stable slug, for idempotent seeding), ``publisher_tenant_code`` (the tenant that
maintains it), ``script`` ("simplified" | "traditional") and ``attachment_name`` (the Chinese
file name a user would have uploaded, given back on download).

About a third are in traditional script, as investor-facing versions are, so that a
simplified query has traditional documents to find and the reverse.

``DEMO_ATTACHMENTS`` is the text of the attachments, which carry articles (第一条…) beyond the
body. ``scripts/make_demo_policy_files.py`` writes the PDF, DOCX and TXT files from it; the
files are committed, and nothing is generated at run time.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

DEMO_FILES_DIR = Path(__file__).resolve().parent / "demo_files"

DEMO_POLICIES: list[dict] = [
    {
        "key": "city-investment-rewards",
        "title": "市人民政府关于印发《市招商引资项目落地奖励办法》的通知",
        "issuer": "市人民政府",
        "doc_number": "江府发〔2024〕12号",
        "issued": date(2024, 3, 18),
        "effective": date(2024, 4, 1),
        "expires": date(2027, 3, 31),
        "category": "招商引资",
        "validity": "valid",
        "scope_tenant_code": None,
        "publisher_tenant_code": "city",
        "script": "simplified",
        "body": (
            "各县（区）人民政府，市直各单位：\n"
            "为进一步激发全市招商引资工作活力，推动项目早签约、早落地、早投产，"
            "市政府制定了《市招商引资项目落地奖励办法》，现印发给你们，请认真贯彻执行。\n"
            "本办法适用于2024年4月1日以后新签约、在我市注册登记并独立核算的产业项目。"
            "对固定资产投资5亿元以上的工业项目，按实际到位设备投资额的3%给予奖励，"
            "单个项目最高3000万元；对光伏、锂电、新材料、电子信息四条重点产业链的“链主”"
            "企业，奖励比例提高至4%。对引荐项目成功落地的社会中介机构和个人，按项目实际到位"
            "资金的千分之一给予引荐奖励，最高100万元。\n"
            "奖励资金由市、县两级财政按现行财政体制分担，原则上每年集中兑现一次。"
        ),
        "attachment": "city-investment-rewards.pdf",
        "attachment_name": "市招商引资项目落地奖励办法（全文）.pdf",
    },
    {
        "key": "city-lithium-measures",
        "title": "关于支持锂电新能源产业链高质量发展的若干措施",
        "issuer": "市人民政府办公室",
        "doc_number": "江府办发〔2024〕37号",
        "issued": date(2024, 6, 5),
        "effective": date(2024, 6, 5),
        "expires": date(2027, 6, 4),
        "category": "产业扶持",
        "validity": "valid",
        "scope_tenant_code": None,
        "publisher_tenant_code": "city",
        "script": "simplified",
        "body": (
            "为做大做强锂电新能源产业，打造“锂矿采选—正极材料—电解液—电芯—储能系统—回收利用”"
            "完整产业链，提出如下措施：\n"
            "一、支持重大项目建设。对新引进的锂电池电芯、正极材料项目，设备投资在1亿元以上的，"
            "按设备投资额的8%给予补助，最高2000万元。\n"
            "二、保障要素供给。锂电重点项目优先列入省市重点工程，用地指标由市级统筹保障，"
            "工业用地出让起始价可按所在地土地等别对应最低价标准执行。\n"
            "三、鼓励研发创新。企业新建省级以上研发平台的，一次性奖励200万元。\n"
            "四、支持储能应用。对在本市投运的工商业储能项目，按放电量给予每千瓦时0.2元补贴，"
            "连续补贴两年。"
        ),
        "attachment": None,
        "attachment_name": None,
    },
    {
        "key": "dean-lithium-incentives",
        "title": "德安縣鋰電新能源產業招商引資優惠政策（港澳臺投資者版）",
        "issuer": "德安縣人民政府",
        "doc_number": "德府發〔2023〕21號",
        "issued": date(2023, 9, 12),
        "effective": date(2023, 10, 1),
        "expires": date(2028, 9, 30),
        "category": "招商引资",
        "validity": "valid",
        "scope_tenant_code": "dean",
        "publisher_tenant_code": "dean",
        "script": "traditional",
        "body": (
            "為吸引港澳臺及海外投資者參與德安縣鋰電新能源產業發展，現將主要優惠政策說明如下：\n"
            "一、項目准入。重點引進鋰電池電芯、正極材料、負極材料、隔膜、電解液及鋰電池回收"
            "利用項目，固定資產投資強度原則上不低於每畝300萬元。\n"
            "二、用地支持。固定資產投資5億元以上的項目，可採取“一事一議”方式確定供地價格；"
            "工業用地可按彈性年期出讓，首期供地一般不超過200畝。\n"
            "三、廠房支持。入駐德安高新技術產業園區標準廠房的項目，前三年租金全免，"
            "第四、五年減半收取。\n"
            "四、服務保障。縣政府為每個項目配備“項目管家”，提供工商註冊、外匯登記、"
            "報建審批全程代辦服務。"
        ),
        "attachment": "dean-lithium-incentives.pdf",
        "attachment_name": "德安縣鋰電產業招商引資優惠政策實施細則（繁體）.pdf",
    },
    {
        "key": "dean-park-standard-factories",
        "title": "德安高新技术产业园区标准厂房租赁及代建扶持办法",
        "issuer": "德安高新技术产业园区管理委员会",
        "doc_number": "德高新管发〔2025〕5号",
        "issued": date(2025, 2, 20),
        "effective": date(2025, 3, 1),
        "expires": date(2028, 2, 29),
        "category": "土地要素",
        "validity": "valid",
        "scope_tenant_code": "dean-park",
        "publisher_tenant_code": "dean-park",
        "script": "simplified",
        "body": (
            "为提高园区土地集约利用水平，加快中小项目“拎包入住”，制定本办法。\n"
            "园区现有标准厂房约32万平方米，主要面向新材料、电子信息及锂电配套企业。"
            "租用标准厂房的，年纳税额达到每平方米100元以上的，前两年租金全额返还，"
            "第三年返还50%。\n"
            "对用地需求在50亩以上、有个性化厂房需求的项目，可由园区平台公司按企业要求代建厂"
            "房，企业在五年内按原值回购，回购前按年租金不超过代建成本6%的标准收取租金。\n"
            "企业租用或回购的厂房不得擅自转租、分割转让。"
        ),
        "attachment": None,
        "attachment_name": None,
    },
    {
        "key": "jkq-photovoltaic",
        "title": "市经济技术开发区光伏产业高质量发展扶持办法",
        "issuer": "市经济技术开发区管理委员会",
        "doc_number": "江经开管发〔2024〕9号",
        "issued": date(2024, 5, 10),
        "effective": date(2024, 6, 1),
        "expires": date(2027, 5, 31),
        "category": "产业扶持",
        "validity": "valid",
        "scope_tenant_code": "jkq",
        "publisher_tenant_code": "jkq",
        "script": "simplified",
        "body": (
            "为巩固开发区光伏产业集群优势，推动光伏电池片、组件、逆变器及配套辅材企业集聚发"
            "展，制定本办法。\n"
            "一、新引进光伏电池片、组件项目，固定资产投资10亿元以上的，按设备投资额的6%给予"
            "补助，分三年兑现。\n"
            "二、企业采用TOPCon、HJT、钙钛矿叠层等新一代电池技术进行产线改造的，"
            "按改造投资的10%给予补助，最高1500万元。\n"
            "三、支持企业屋顶建设分布式光伏，对装机容量1兆瓦以上的项目给予每瓦0.1元的一次性"
            "奖励。\n"
            "具体奖励标准详见附件《光伏产业扶持标准一览表》。"
        ),
        "attachment": "jkq-photovoltaic.docx",
        "attachment_name": "开发区光伏产业扶持办法及标准一览表.docx",
    },
    {
        "key": "yongxiu-silicone",
        "title": "永修县有机硅新材料产业发展扶持政策",
        "issuer": "永修县人民政府",
        "doc_number": "永府发〔2022〕8号",
        "issued": date(2022, 4, 1),
        "effective": date(2022, 4, 1),
        "expires": date(2025, 3, 31),
        "category": "产业扶持",
        "validity": "expired",
        "scope_tenant_code": "yongxiu",
        "publisher_tenant_code": "yongxiu",
        "script": "simplified",
        "body": (
            "为加快有机硅新材料产业向下游高端延伸，对在永修县云山经济开发区投资的有机硅深加"
            "工项目给予以下支持：\n"
            "固定资产投资3亿元以上的项目，按每亩不低于15万元的标准核定亩均税收，"
            "达标后按县级留成部分的50%给予三年奖励；\n"
            "新上硅橡胶、硅油、硅树脂及功能性硅烷等下游产品线的，按设备投资额的5%给予补助，"
            "最高800万元；\n"
            "企业牵头制定国家或行业标准的，分别奖励50万元、20万元。\n"
            "本政策自印发之日起施行，有效期三年。"
        ),
        "attachment": None,
        "attachment_name": None,
    },
    {
        "key": "duchang-agriculture",
        "title": "都昌縣現代農業項目招商引資扶持辦法（2019年版）",
        "issuer": "都昌縣人民政府辦公室",
        "doc_number": "都府辦發〔2019〕45號",
        "issued": date(2019, 7, 15),
        "effective": date(2019, 8, 1),
        "expires": date(2023, 6, 30),
        "category": "招商引资",
        "validity": "repealed",
        "scope_tenant_code": "duchang",
        "publisher_tenant_code": "duchang",
        "script": "traditional",
        "body": (
            "為推動現代農業項目落戶都昌，結合本縣鄱陽湖沿岸農業資源實際，制定本辦法。\n"
            "一、對新建稻蝦共作、高標準農田流轉經營項目，連片經營500畝以上的，按每畝200元給"
            "予一次性基礎設施補助。\n"
            "二、對投資2000萬元以上的農產品精深加工、冷鏈物流項目，按固定資產投資額的5%給予"
            "獎勵，最高300萬元。\n"
            "三、新獲得綠色食品、有機農產品認證的，每個產品獎勵2萬元。\n"
            "本辦法已於2023年6月30日由《都昌縣鄉村產業振興扶持辦法》替代並廢止，"
            "僅供查閱。"
        ),
        "attachment": None,
        "attachment_name": None,
    },
    {
        "key": "hukou-land",
        "title": "湖口县港口物流与钢铁深加工项目用地保障办法",
        "issuer": "湖口县人民政府办公室",
        "doc_number": "湖府办字〔2025〕16号",
        "issued": date(2025, 8, 20),
        "effective": date(2025, 9, 1),
        "expires": None,
        "category": "土地要素",
        "validity": "valid",
        "scope_tenant_code": "hukou",
        "publisher_tenant_code": "hukou",
        "script": "simplified",
        "body": (
            "为发挥湖口长江岸线和港口优势，保障港口物流、钢铁深加工及新材料项目用地需求，"
            "制定本办法。\n"
            "一、实行工业用地“标准地”出让，出让前明确投资强度、容积率、亩均税收和能耗标准，"
            "企业拿地即可开工。\n"
            "二、工业用地可采取长期租赁、先租后让、弹性年期出让等方式供应，先租后让的租赁期"
            "一般不超过5年。\n"
            "三、对固定资产投资超过5亿元、亩均投资强度超过400万元的项目，优先安排年度用地计"
            "划指标。\n"
            "四、闲置满一年的工业用地，按规定征收土地闲置费；满两年的依法收回。"
        ),
        "attachment": None,
        "attachment_name": None,
    },
    {
        "key": "pengze-textile",
        "title": "彭澤縣紡織服裝產業轉移承接扶持措施",
        "issuer": "彭澤縣人民政府",
        "doc_number": "彭府發〔2024〕3號",
        "issued": date(2024, 1, 22),
        "effective": date(2024, 2, 1),
        "expires": date(2026, 1, 31),
        "category": "产业扶持",
        "validity": "expired",
        "scope_tenant_code": "pengze",
        "publisher_tenant_code": "pengze",
        "script": "traditional",
        "body": (
            "為承接沿海地區及港澳臺紡織服裝產業轉移，打造長江沿岸紡織服裝產業基地，"
            "制定本措施。\n"
            "一、整體搬遷來彭澤的紡織服裝企業，新購設備投資額在1000萬元以上的，"
            "按設備投資額的10%給予搬遷補助，最高500萬元。\n"
            "二、吸納本地勞動力就業100人以上的，按每人每年1000元給予穩崗補貼，補貼期限兩年。\n"
            "三、企業自建或租用員工宿舍的，按實際租金的50%給予補助。\n"
            "四、對年銷售收入首次突破1億元的企業，一次性獎勵30萬元。"
        ),
        "attachment": None,
        "attachment_name": None,
    },
    {
        "key": "wuning-lighting",
        "title": "武宁县绿色照明和电子信息产业扶持办法",
        "issuer": "武宁县人民政府",
        "doc_number": "武府发〔2023〕30号",
        "issued": date(2023, 11, 8),
        "effective": date(2023, 11, 8),
        "expires": date(2026, 11, 7),
        "category": "产业扶持",
        "validity": "expired",
        "scope_tenant_code": "wuning",
        "publisher_tenant_code": "wuning",
        "script": "simplified",
        "body": (
            "为推动绿色照明产业向智能照明、电子信息产业延伸，对在武宁县工业园区投资的企业给"
            "予以下支持：\n"
            "一、新引进LED芯片封装、智能照明控制模组、显示面板配套项目，固定资产投资5000万元"
            "以上的，按设备投资额的6%给予补助。\n"
            "二、企业年度研发投入占营业收入3%以上的，按研发投入增量部分的10%给予奖励，"
            "最高100万元。\n"
            "三、支持企业开拓海外市场，参加境外展会的，按展位费的70%给予补助。\n"
            "本办法有效期三年，期满后由县工信局会同相关部门评估。"
        ),
        "attachment": None,
        "attachment_name": None,
    },
    {
        "key": "city-talent",
        "title": "市高层次人才引进实施细则",
        "issuer": "市人力资源和社会保障局",
        "doc_number": "江人社发〔2025〕22号",
        "issued": date(2025, 4, 15),
        "effective": date(2025, 5, 1),
        "expires": date(2030, 4, 30),
        "category": "人才政策",
        "validity": "valid",
        "scope_tenant_code": None,
        "publisher_tenant_code": "city",
        "script": "simplified",
        "body": (
            "为吸引各类高层次人才来我市创新创业，按照“分类认定、分级支持”的原则，"
            "将引进人才分为A、B、C、D四类。\n"
            "对全职引进的A类人才，给予最高200万元安家补贴；B类人才100万元，C类人才50万元，"
            "D类人才20万元，分五年发放。\n"
            "全职引进的博士研究生、正高级职称人才，每月发放生活补贴3000元，连续发放三年；"
            "硕士研究生每月1500元。\n"
            "重点产业链企业引进的急需紧缺人才，可优先入住人才公寓，前三年免收租金。\n"
            "人才认定标准、申报材料和办理流程见附件。"
        ),
        "attachment": "city-talent-rules.txt",
        "attachment_name": "市高层次人才引进实施细则（附认定标准）.txt",
    },
    {
        "key": "city-guidance-fund",
        "title": "市产业引导基金管理办法",
        "issuer": "市财政局",
        "doc_number": "江财金〔2023〕18号",
        "issued": date(2023, 8, 1),
        "effective": date(2023, 9, 1),
        "expires": date(2028, 8, 31),
        "category": "财税金融",
        "validity": "valid",
        "scope_tenant_code": None,
        "publisher_tenant_code": "city",
        "script": "simplified",
        "body": (
            "市产业引导基金总规模20亿元，由市财政出资，采取母子基金方式运作，主要投向光伏、"
            "锂电、新材料、电子信息等重点产业链，兼顾纺织服装、现代农业等传统优势产业的转型升级"
            "项目。\n"
            "引导基金对单只子基金的出资比例原则上不超过子基金规模的30%，子基金投资于本市企业"
            "的资金不低于引导基金出资额的1.5倍。\n"
            "对招商引资重大项目，经市政府同意，引导基金可采取直接股权投资方式参与，"
            "单个项目投资额不超过1亿元，投资期限一般不超过7年。\n"
            "引导基金实行“募投管退”全过程绩效评价，评价结果与管理费挂钩。"
        ),
        "attachment": None,
        "attachment_name": None,
    },
    {
        "key": "shangwu-hk-taiwan",
        "title": "關於鼓勵港澳台資企業來我市投資的若干措施",
        "issuer": "市商務局",
        "doc_number": "江商務字〔2021〕11號",
        "issued": date(2021, 5, 20),
        "effective": date(2021, 6, 1),
        "expires": date(2024, 5, 31),
        "category": "招商引资",
        "validity": "expired",
        "scope_tenant_code": None,
        "publisher_tenant_code": "shangwu",
        "script": "traditional",
        "body": (
            "為進一步擴大對港澳台招商引資，促進港澳台資企業在我市投資興業，提出以下措施：\n"
            "一、港澳台資企業當年實際到資1000萬美元以上的，按實際到資額的1%給予獎勵，"
            "最高500萬元。\n"
            "二、港澳台資企業投資電子信息、紡織服裝、現代農業項目的，享受與內資項目同等的用"
            "地、用電及審批便利。\n"
            "三、設立港澳台資企業服務專窗，對企業設立、變更登記實行“一窗受理、限時辦結”。\n"
            "四、對港澳台籍高層次人才，在子女入學、醫療保障、出入境等方面提供便利。"
        ),
        "attachment": None,
        "attachment_name": None,
    },
    {
        "key": "city-project-agency-guide",
        "title": "重大招商项目“全程代办”服务指南",
        "issuer": "市投资促进局",
        "doc_number": "",
        "issued": date(2025, 10, 9),
        "effective": None,
        "expires": None,
        "category": "营商环境",
        "validity": "valid",
        "scope_tenant_code": None,
        "publisher_tenant_code": "city",
        "script": "simplified",
        "body": (
            "对新签约、固定资产投资1亿元以上的招商项目，市投资促进局会同所在县（区）"
            "落实“全程代办”服务。\n"
            "代办范围包括：企业设立登记、项目备案、用地预审与规划选址、环评与能评、"
            "施工许可、水电气报装等事项。\n"
            "每个项目确定一名代办专员，在项目签约后5个工作日内与企业对接，建立代办事项清单，"
            "按周更新办理进度。\n"
            "代办服务不收取任何费用。企业对代办服务有意见建议的，可通过“信息桥”"
            "平台或12345热线反映。"
        ),
        "attachment": None,
        "attachment_name": None,
    },
    {
        "key": "lianxi-taiwan-talent",
        "title": "濂溪區臺胞臺企人才安居若干辦法",
        "issuer": "濂溪區人民政府",
        "doc_number": "濂府發〔2025〕7號",
        "issued": date(2025, 6, 30),
        "effective": date(2025, 7, 1),
        "expires": date(2028, 6, 30),
        "category": "人才政策",
        "validity": "valid",
        "scope_tenant_code": "lianxi",
        "publisher_tenant_code": "lianxi",
        "script": "traditional",
        "body": (
            "為服務檯資企業在濂溪區投資發展，幫助臺胞臺企人才安居樂業，制定本辦法。\n"
            "一、在區內臺資企業全職工作滿一年的臺籍管理和技術人才，首次在區內購買商品住房的，"
            "給予房價款2%的購房補貼，最高10萬元。\n"
            "二、未購房的臺籍人才，可申請入住區人才公寓，或按每月1500元標準領取租房補貼，"
            "期限三年。\n"
            "三、臺籍人才子女在區內就讀義務教育階段學校的，由區教育部門統籌安排入學。\n"
            "四、設立臺胞服務中心，提供政策諮詢、證照辦理、法律援助等一站式服務。"
        ),
        "attachment": None,
        "attachment_name": None,
    },
    {
        "key": "fagai-element-handbook",
        "title": "重点项目要素保障服务手册（2026年版）",
        "issuer": "市发展和改革委员会",
        "doc_number": "",
        "issued": date(2026, 2, 16),
        "effective": None,
        "expires": None,
        "category": "营商环境",
        "validity": "valid",
        "scope_tenant_code": None,
        "publisher_tenant_code": "fagai",
        "script": "simplified",
        "body": (
            "本手册汇总了市级重点项目在用地、用能、用水、环境容量和资金等方面的保障政策及办"
            "理渠道，供招商人员和项目单位查阅。\n"
            "用地方面，重点项目可申请使用省级预留用地指标，工业项目推行“标准地”"
            "出让；用能方面，对光伏、锂电等绿色低碳项目优先开展节能审查；资金方面，"
            "可申报中央预算内投资、地方政府专项债券及市产业引导基金支持。\n"
            "手册每年更新一次，内容以各部门正式发布的政策文件为准。"
        ),
        "attachment": None,
        "attachment_name": None,
    },
]

DEMO_ATTACHMENTS: dict[str, dict] = {
    "city-investment-rewards.pdf": {
        "title": "市招商引资项目落地奖励办法",
        "paragraphs": [
            (
                "第一条　为鼓励社会各界参与招商引资，加快重大产业项目落地，根据国家和省有关规定，"
                "结合本市实际，制定本办法。"
            ),
            (
                "第二条　本办法所称实际到位资金，以项目公司银行进账单、验资报告及固定资产投资统"
                "计数据为准，不含土地出让金和流动资金。"
            ),
            (
                "第三条　固定资产投资5亿元以上的工业项目，自竣工投产之日起三年内，按实际到位设备"
                "投资额的3%给予奖励，单个项目最高3000万元。"
            ),
            (
                "第四条　光伏、锂电、新材料、电子信息产业链的链主企业项目，奖励比例提高至4%；"
                "亩均税收达到每亩15万元以上的，再给予100万元一次性奖励。"
            ),
            (
                "第五条　对成功引荐项目落地的社会中介机构和个人，按项目实际到位资金的千分之一给"
                "予引荐奖励，最高100万元。以商招商的企业同样适用。"
            ),
            (
                "第六条　奖励资金每年申报一次。项目单位于每年3月底前向所在县（区）投资促进部门提"
                "出申请，经审核、公示后兑现。"
            ),
            (
                "第七条　弄虚作假骗取奖励资金的，由财政部门追回，并取消其三年内享受本市各项招商"
                "优惠政策的资格。"
            ),
            "第八条　本办法自2024年4月1日起施行，有效期三年，由市投资促进局负责解释。",
        ],
    },
    "dean-lithium-incentives.pdf": {
        "title": "德安縣鋰電產業招商引資優惠政策實施細則",
        "paragraphs": [
            "第一條　本細則適用於港澳臺投資者及其在德安縣設立的企業投資的鋰電新能源項目。",
            (
                "第二條　投資強度。項目固定資產投資強度不低於每畝300萬元，達產後畝均稅收不低於每"
                "畝20萬元。"
            ),
            (
                "第三條　用地價格。固定資產投資5億元以上的項目，工業用地價格可採取“一事一議”"
                "方式確定，首期供地一般不超過200畝，後續用地按投資進度分期供應。"
            ),
            (
                "第四條　標準廠房。租用德安高新技術產業園區標準廠房的，前三年租金全免，"
                "第四、五年減半收取。"
            ),
            (
                "第五條　設備補助。項目投產後，按實際設備投資額的7%給予補助，分兩年兌現，"
                "最高2500萬元。"
            ),
            "第六條　物流補貼。鋰電池產品經城西港區水路出口的，按每標準集裝箱500元給予物流補貼。",
            (
                "第七條　投資者可委託律師或會計師事務所代為申請，縣投資促進中心設有粵語、"
                "閩南語服務專員。"
            ),
        ],
    },
    "jkq-photovoltaic.docx": {
        "title": "市经济技术开发区光伏产业高质量发展扶持办法",
        "paragraphs": [
            "第一条　为巩固开发区光伏产业集群优势，推动光伏产业链上下游协同发展，制定本办法。",
            (
                "第二条　新引进光伏电池片、组件项目，固定资产投资10亿元以上的，按设备投资额的6%"
                "给予补助，分三年兑现。"
            ),
            (
                "第三条　企业采用TOPCon、HJT、钙钛矿叠层等新一代电池技术进行产线改造的，"
                "按改造投资的10%给予补助，最高1500万元。"
            ),
            (
                "第四条　支持光伏玻璃、EVA胶膜、光伏支架等配套辅材企业入驻，租用开发区标准厂房的，"
                "给予三年租金减半。"
            ),
            (
                "第五条　企业在开发区建设分布式光伏电站，装机容量1兆瓦以上的，给予每瓦0.1元的一"
                "次性奖励。"
            ),
            "附件：光伏产业扶持标准一览表",
        ],
        "table": [
            ["扶持事项", "适用条件", "扶持标准", "上限"],
            ["设备投资补助", "固定资产投资10亿元以上", "设备投资额的6%", "5000万元"],
            ["技术改造补助", "TOPCon、HJT、钙钛矿产线改造", "改造投资的10%", "1500万元"],
            ["厂房租金减半", "配套辅材企业", "三年租金减半", "—"],
            ["分布式光伏奖励", "装机容量1兆瓦以上", "每瓦0.1元", "200万元"],
        ],
    },
    "city-talent-rules.txt": {
        "title": "市高层次人才引进实施细则",
        "paragraphs": [
            "第一条　为贯彻人才强市战略，吸引各类高层次人才来我市创新创业，制定本细则。",
            (
                "第二条　A类人才：两院院士、国家级重大人才工程入选者。全职引进的，给予安家补贴200"
                "万元，并提供不少于150平方米的住房一套，工作满十年后赠予产权。"
            ),
            (
                "第三条　B类人才：省级重大人才工程入选者、国家级科技奖励获得者。全职引进的，"
                "给予安家补贴100万元。"
            ),
            (
                "第四条　C类人才：正高级职称人才、重点产业链企业技术总监。全职引进的，"
                "给予安家补贴50万元。"
            ),
            "第五条　D类人才：博士研究生、副高级职称人才。全职引进的，给予安家补贴20万元。",
            (
                "第六条　申报材料：身份证明、学历学位证书、职称证书、劳动合同及社保缴纳证明。"
                "用人单位于每年6月和12月集中申报，人才服务专员全程协助办理。"
            ),
            "第七条　享受安家补贴的人才，服务期不少于五年；未满服务期离开的，按比例退回补贴。",
            "第八条　本细则由市人力资源和社会保障局负责解释，自2025年5月1日起施行。",
        ],
    },
}


def attachment_path(filename: str) -> Path:
    """Where a demo attachment lives; only names listed in ``DEMO_ATTACHMENTS``."""
    if filename not in DEMO_ATTACHMENTS:
        raise KeyError(filename)
    return DEMO_FILES_DIR / filename


def attachment_text(filename: str) -> str:
    """The source text of a demo attachment, one line each: title, articles, table cells."""
    source = DEMO_ATTACHMENTS[filename]
    lines = [source["title"], *source["paragraphs"]]
    lines += [cell for row in source.get("table", []) for cell in row]
    return "\n".join(lines)
