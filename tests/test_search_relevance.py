"""The relevance set of the search issue: a prefecture city's investment leads and policy
documents (about a third written in traditional script), indexed with the real SearchIndex, and
queries officers type, each with the document that must come first — or, where a query is
legitimately ambiguous, the documents that must fill the first places (said at the query).

Lead documents are built by search.documents.lead_document from lead-shaped objects; policy
documents have the shape the policy library indexes (文号 then issuer in ``names``, body and
attachment text in ``body``, ``all`` or the tenant's and the city's labels, a validity)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from search.documents import lead_document
from search.index import SearchIndex

CITY, COMMERCE, INDUSTRY = 1, 2, 3
DEAN, YONGXIU, DUCHANG, HUKOU, PENGZE, WUNING = 8, 9, 10, 11, 12, 13
CHAINS = {"光伏": 1, "锂电": 2, "新材料": 3, "电子信息": 4, "纺织服装": 5, "现代农业": 6}


def lead(number, title, company, credit, origin, description, *, owner, shared=(),
         chain=None, stage="talking", created="2025-03-01"):  # fmt: skip
    moment = datetime.fromisoformat(created).replace(hour=2, tzinfo=UTC)
    row = SimpleNamespace(
        id=number, title=title, company=company, credit_code=credit,
        code=f"XS-{moment.year}-{number:06d}", company_origin=origin, description=description,
        chain_id=CHAINS.get(chain), stage=stage, tenant_id=owner, created_at=moment,
    )  # fmt: skip
    return lead_document(row, [f"t{tenant}" for tenant in (owner, *shared)])


def policy(number, title, doc_number, issuer, body, *, attachment="", tenant=CITY,
           scoped=False, validity="valid", issued="2024-05-01"):  # fmt: skip
    issued_on = date.fromisoformat(issued)
    return {
        "doc_id": f"policy:{number}",
        "kind": "policy",
        "object_id": number,
        "title": title,
        "names": f"{doc_number} {issuer}",
        "body": "\n".join(part for part in (body, attachment) if part),
        "labels": f"t{tenant} t{CITY}" if scoped else "all",
        "chain": "",
        "stage": "",
        "tenant": str(tenant),
        "validity": validity,
        "year": issued_on.year,
        "when": datetime(issued_on.year, issued_on.month, issued_on.day),
        "fingerprint": f"policy-{number}",
    }


# Traditional-script documents are marked 繁 in a comment.
LEADS = [
    lead(1, "德安县年产2GW高效光伏组件项目", "九江华瑞新能源科技有限公司", "91360426MA35H7K21X",
         "浙江省宁波市",
         "华瑞新能源拟在德安县高新技术产业园投资5亿元，新建年产2GW高效光伏组件生产线及配套仓储，"
         "达产后预计年产值12亿元、年纳税4000万元以上，带动就业600人。企业已完成项目备案前期工作。",
         owner=DEAN, chain="光伏", created="2025-03-04"),
    # 繁
    lead(2, "永修縣鋰電池正極材料項目", "寧波恆泰鋰電股份有限公司", "91330212MA2H8Q3N5K",
         "浙江省寧波市",
         "恆泰鋰電計劃在永修縣雲山經濟開發區投資8億元，建設年產3萬噸磷酸鐵鋰正極材料生產線，"
         "項目分兩期實施，一期用地約200畝。企業希望縣裡協調用電增容和環評手續。",
         owner=YONGXIU, shared=(DEAN,), chain="锂电", created="2025-01-15"),
    lead(3, "宁德时代储能电池PACK项目", "CATL 宁德时代新能源科技股份有限公司",
         "91350900MA2XN8K71C", "福建省宁德市",
         "企业拟在湖口县金砂湾工业园投资20亿元建设储能电池PACK及系统集成基地，一期建设标准厂房"
         "8万平方米。双方已进行三轮洽谈，企业关注物流成本和电价。",
         owner=HUKOU, shared=(COMMERCE,), chain="锂电", created="2025-04-10"),
    lead(4, "Sungrow逆变器区域服务中心", "阳光电源股份有限公司 Sungrow Power Supply",
         "91340100MA2T4K8P9L", "安徽省合肥市",
         "阳光电源计划在九江经济技术开发区设立华中区域销售与服务中心，首期投资3000万元，主要开展"
         "组串式逆变器和储能变流器的售后服务与备件仓储。",
         owner=COMMERCE, shared=(DEAN,), chain="光伏", stage="lead", created="2025-05-20"),
    lead(5, "都昌县预制菜中央厨房项目", "都昌鄱湖食品有限公司", "91360428MA38L2Q6XW",
         "江西省九江市",
         "企业拟投资1.2亿元在都昌县工业园建设预制菜中央厨房和冷链仓储，年加工鄱阳湖水产品1.5万吨，"
         "带动周边养殖户800户。",
         owner=DUCHANG, chain="现代农业", stage="signed", created="2024-11-02"),
    # 繁
    lead(6, "武寧縣功能性面料生產項目", "紹興錦綸紡織有限公司", "91330602MA2BX5R47D",
         "浙江省紹興市",
         "錦綸紡織擬投資3000萬元，在武寧縣工業園租賃標準廠房，引進噴氣織機120台，生產戶外功能性"
         "面料，年產值約1.5億元。",
         owner=WUNING, chain="纺织服装", created="2025-02-18"),
    lead(7, "彭泽县有机硅新材料项目", "江西星火有机硅新材料有限公司", "91360430MA35P0W81G",
         "江西省九江市",
         "项目总投资15亿元，在彭泽县矶山工业园建设年产20万吨有机硅单体及下游深加工装置，属新材料"
         "产业链补链项目。",
         owner=PENGZE, chain="新材料", stage="signed", created="2024-08-21"),
    lead(8, "德安县触摸屏玻璃盖板项目", "深圳市联创光电有限公司", "91440300MA5F3K2Y8P",
         "广东省深圳市",
         "企业拟在德安县租赁厂房建设触摸屏玻璃盖板生产线，投资6000万元，产品配套手机和车载显示屏。",
         owner=DEAN, chain="电子信息", created="2025-06-03"),
    lead(9, "永修县光伏跟踪支架项目", "江苏恒远新能源支架有限公司", "91320500MA1X7B2C3E",
         "江苏省苏州市", "企业拟在永修县投资1.5亿元建设光伏跟踪支架生产基地，配套热镀锌车间。",
         owner=YONGXIU, chain="光伏", stage="lead", created="2024-12-12"),
    # 繁
    lead(10, "湖口縣高新技術產業園電子元器件項目", "東莞市宏達電子科技有限公司",
         "91441900MA4UK8N23J", "廣東省東莞市",
         "宏達電子擬入駐湖口縣高新技術產業園，投資2億元建設片式電感和電子元器件生產線，產品供應"
         "新能源汽車和消費電子。",
         owner=HUKOU, chain="电子信息", created="2025-03-27"),
    lead(11, "都昌县茶叶精深加工项目", "都昌县鄱阳湖茶业有限公司", "91360428MA39Q7C15N",
         "江西省九江市", "企业计划投资2800万元建设有机茶叶精深加工厂，配套生态茶园基地3000亩。",
         owner=DUCHANG, chain="现代农业", stage="lead", created="2025-04-02"),
    lead(12, "大尺寸硅片切割项目", "永修晶科新能源有限公司", "91360425MA3A1B2C3D", "江西省上饶市",
         "企业拟投资10亿元在永修县建设单晶拉棒和切片生产线，年产能10GW。",
         owner=YONGXIU, chain="光伏", created="2025-02-08"),
    lead(13, "光伏辅材项目", "江西晶盛硅片材料有限公司", "91360430MA3B5D7F9H", "浙江省绍兴市",
         "企业生产光伏用坩埚、石英砂等辅材，拟在彭泽县租赁厂房生产，投资4000万元。",
         owner=PENGZE, chain="光伏", stage="lead", created="2025-01-20"),
    lead(14, "光伏设备配套项目", "九江清源环保设备有限公司", "91360402MA35C4E6G8",
         "江西省九江市", "企业为光伏企业提供硅片清洗废水处理设备，拟扩建厂房一处，投资2000万元。",
         owner=DEAN, chain="光伏", stage="lead", created="2024-10-10"),
    lead(15, "德安县锂电池回收利用项目", "江西绿能再生资源有限公司", "91360426MA35R2T4V6",
         "湖南省长沙市",
         "企业拟在德安县投资3亿元建设退役动力电池回收和梯次利用项目，年处理废旧锂电池5万吨。",
         owner=DEAN, chain="锂电", created="2025-05-06"),
    lead(16, "永修县铜箔项目", "江西永兴铜业有限公司", "91360600MA38D9F1H3", "江西省鹰潭市",
         "企业拟投资6亿元在永修县建设年产2万吨电解铜箔生产线，产品用于锂电池负极集流体。",
         owner=YONGXIU, chain="锂电", stage="lead", created="2025-06-15"),
    lead(17, "鄱阳湖水产品冷链物流项目", "九江港联冷链物流有限公司", "91360400MA35E7G9J1",
         "江西省九江市", "项目投资8000万元，建设冷库5万吨及分拣中心，服务都昌、湖口水产品外运。",
         owner=DUCHANG, shared=(HUKOU,), chain="现代农业", created="2024-09-30"),
    # 繁
    lead(18, "永修縣羽絨服代工項目", "江西暖雲服飾有限公司", "91360425MA3C8E1G4J",
         "江西省九江市",
         "擬投資5000萬元建設羽絨服代工廠，年產羽絨服300萬件，主要為國內品牌代工，解決就業400人。",
         owner=YONGXIU, chain="纺织服装", created="2025-01-08"),
    lead(19, "湖口县碳纤维复合材料项目", "江苏澳盛复合材料科技有限公司", "91320600MA1Y2K4M6P",
         "江苏省南通市",
         "企业拟投资12亿元在湖口县建设碳纤维及复合材料生产基地，产品用于风电叶片和汽车轻量化。",
         owner=HUKOU, chain="新材料", created="2025-02-26"),
    # 繁
    lead(20, "彭澤縣玻纖複合材料項目", "九江華宇玻纖複合材料有限公司", "91360430MA3D2F5H8K",
         "浙江省嘉興市",
         "擬投資6億元建設年產10萬噸玻璃纖維及製品生產線，項目用地約300畝，計劃年內開工。",
         owner=PENGZE, chain="新材料", created="2025-03-12"),
    lead(21, "德安县纺织印染技改项目", "德安县锦程纺织有限公司", "91360426MA35T6V8X1",
         "江西省九江市", "老企业技术改造，投资2500万元购置数码印花设备，降低能耗和污水排放。",
         owner=DEAN, chain="纺织服装", stage="started", created="2024-07-19"),
    lead(22, "武宁县智能终端组装项目", "深圳市天成智能科技有限公司", "91440300MA5G4L6N8Q",
         "广东省深圳市", "企业拟投资1亿元在武宁县租赁标准厂房，建设手机、平板电脑组装生产线。",
         owner=WUNING, chain="电子信息", created="2025-04-22"),
    # 繁
    lead(23, "都昌縣漁光互補發電項目", "九江贛能新能源有限公司", "91360100MA38F3H5K7",
         "江西省南昌市",
         "擬在都昌縣建設100MW漁光互補光伏電站，總投資4.5億元，項目已納入省級光伏發電年度計劃。",
         owner=DUCHANG, chain="光伏", created="2025-05-28"),
    lead(24, "湖口县光伏玻璃项目", "浙江鑫泰光伏玻璃有限公司", "91330400MA2J6L8N1R",
         "浙江省嘉兴市",
         "企业拟投资25亿元在湖口县建设日熔量1200吨光伏玻璃窑炉及深加工线，需配套天然气管线。",
         owner=HUKOU, chain="光伏", created="2025-06-09"),
    lead(25, "比亚迪汽车线束配套项目", "BYD 比亚迪汽车零部件有限公司", "91440300MA5H6M8P1S",
         "广东省深圳市", "企业拟在九江经济技术开发区投资3.5亿元建设新能源汽车线束和连接器生产线。",
         owner=INDUSTRY, chain="电子信息", created="2025-03-18"),
    # 繁
    lead(26, "永修縣食品產業園冷鏈項目", "江西綠源食品有限公司", "91360425MA3E4G7J9L",
         "江西省九江市",
         "企業擬在永修縣食品產業園投資9000萬元建設冷鏈倉儲和中央廚房，年加工蔬菜2萬噸。",
         owner=YONGXIU, chain="现代农业", created="2024-12-28"),
    lead(27, "武宁县茶旅融合项目", "武宁县西海文旅发展有限公司", "91360423MA35F8H1K3",
         "江西省九江市", "依托庐山西海景区建设茶文化体验园，配套采摘茶叶和民宿，投资1.8亿元。",
         owner=WUNING, created="2025-04-18"),
    lead(28, "德安县新型显示模组项目", "江西晶瑞显示科技有限公司", "91360426MA35G1J3L5",
         "广东省惠州市", "企业拟在德安县建设车载显示模组生产线，投资4亿元，已签订投资意向书。",
         owner=DEAN, chain="电子信息", stage="signed", created="2025-05-12"),
    # 繁
    lead(29, "湖口縣鋼鐵深加工配套項目", "九江聯達金屬製品有限公司", "91360429MA35H2K4M6",
         "江西省九江市", "企業擬投資2.2億元建設精密鋼管和汽車零部件深加工生產線。",
         owner=HUKOU, created="2024-11-20"),
    lead(30, "彭泽县医用敷料项目", "江西康华医疗用品有限公司", "91360430MA3F5H8K1M",
         "河南省新乡市", "企业拟投资1.6亿元在彭泽县建设医用敷料和防护用品生产线。",
         owner=PENGZE, created="2025-06-20"),
    # 繁
    lead(31, "德安縣高新技術產業園電子信息項目", "江西德越電子有限公司", "91360426MA35J4L6N8",
         "廣東省深圳市", "企業擬在德安縣高新技術產業園建設印製電路板生產線，投資3億元。",
         owner=DEAN, chain="电子信息", created="2025-02-02"),
    lead(32, "武宁县光伏屋顶分布式项目", "武宁县绿电能源有限公司", "91360423MA35K5M7P9",
         "江西省九江市", "利用工业园区厂房屋顶建设20MW分布式光伏，总投资8000万元。",
         owner=WUNING, chain="光伏", stage="lead", created="2025-03-30"),
    lead(33, "都昌县稻米精深加工项目", "都昌县鄱湖米业有限公司", "91360428MA3G6J9L2N",
         "江西省九江市", "建设年加工稻谷10万吨生产线和烘干中心，投资6500万元，带动订单农业。",
         owner=DUCHANG, chain="现代农业", created="2025-01-26"),
    # 繁
    lead(34, "湖口縣電子級化學品項目", "江西華盛電子材料有限公司", "91360429MA35L6N8Q1",
         "江蘇省蘇州市", "擬投資7億元建設電子級氫氟酸和硫酸生產裝置，產品供應半導體企業。",
         owner=HUKOU, chain="新材料", created="2025-04-14"),
    lead(35, "永修县工业机器人项目", "江西智远机器人有限公司", "91360425MA3H7K1M3P",
         "上海市", "企业拟在永修县投资3亿元建设工业机器人整机及减速器生产线。",
         owner=YONGXIU, created="2025-05-02"),
    lead(36, "九江经开区半导体封装测试项目", "Tongfu 江西通富微电子有限公司",
         "91360400MA35M7P9R2", "江苏省南通市",
         "企业拟投资30亿元建设半导体封装测试基地，分三期建设，一期投资10亿元。",
         owner=INDUSTRY, chain="电子信息", created="2025-06-25"),
]  # fmt: skip

POLICIES = [
    policy(1, "关于促进光伏产业高质量发展的若干措施", "江府办函〔2024〕37号",
           "九江市人民政府办公室",
           "各县（市、区）人民政府，市直各部门：为加快我市光伏产业集群发展，制定以下措施。"
           "一、对新引进的光伏组件、电池片企业，设备投资额达到5000万元以上的，按设备投资额的8%"
           "给予奖励，最高不超过2000万元。二、支持企业建设分布式光伏电站，按装机容量给予一次性补贴。"
           "三、本措施自印发之日起施行，有效期三年。",
           attachment="附件：光伏产业链重点招商企业名单。逆变器、光伏玻璃、支架等配套环节。",
           issued="2024-06-12"),
    policy(2, "关于印发九江市招商引资项目评价办法的通知", "江府办函〔2024〕73号",
           "九江市人民政府办公室",
           "现将《九江市招商引资项目评价办法》印发给你们，请认真贯彻执行。评价内容包括投资强度、"
           "亩均税收、科技含量和带动就业。", issued="2024-09-03"),
    policy(3, "关于加强重大招商项目调度的通知", "江府办函〔2023〕37号", "九江市人民政府办公室",
           "各县（市、区）要建立重大招商项目月调度制度，每月5日前报送项目进展。",
           issued="2023-04-11"),
    # 繁
    policy(4, "九江市光伏產業鏈鏈長制工作方案", "九府辦字〔2024〕21號", "九江市人民政府辦公室",
           "根據江府辦函〔2024〕37號文件精神，建立光伏產業鏈鏈長制，由市領導擔任鏈長，統籌推進"
           "招商引資、要素保障和企業服務。", issued="2024-07-20"),
    policy(5, "关于进一步优化营商环境的若干意见", "赣府发〔2023〕12号", "江西省人民政府",
           "持续深化放管服改革，推行企业开办一网通办，工程建设项目审批时间压缩至80个工作日以内。"
           "各地要建立健全涉企政策直达快享机制。", issued="2023-03-15"),
    # 繁
    policy(6, "九江市支持鋰電新能源產業發展若干政策", "九府辦發〔2022〕5號",
           "九江市人民政府辦公室",
           "對新落戶的鋰電池、正極材料、電解液企業，固定資產投資1億元以上的，按設備投資的10%給予"
           "獎勵。支持企業建設儲能電站。", validity="expired", issued="2022-02-10"),
    policy(7, "九江市支持纺织服装产业转型升级的实施意见", "九府办发〔2022〕15号",
           "九江市人民政府办公室",
           "支持纺织服装企业智能化改造，对购置数码印花、智能缝制设备的，按设备投资额的10%给予补助。",
           issued="2022-08-01"),
    policy(8, "德安县招商引资优惠政策", "德府发〔2021〕9号", "德安县人民政府",
           "对在德安县投资的工业项目，按固定资产投资额给予土地、税收等方面的优惠。",
           tenant=DEAN, scoped=True, validity="repealed", issued="2021-05-01"),
    policy(9, "德安县招商引资优惠政策（2024年修订）", "德府发〔2024〕3号", "德安县人民政府",
           "为进一步加大招商引资力度，对固定资产投资5000万元以上的工业项目给予用地和税收优惠。"
           "原德府发〔2021〕9号同时废止。",
           tenant=DEAN, scoped=True, issued="2024-02-20"),
    # 繁
    policy(10, "永修縣招商引資優惠政策", "永府辦發〔2023〕18號", "永修縣人民政府辦公室",
           "對在永修縣雲山經濟開發區投資的新材料、鋰電項目，前三年稅收地方留成部分全額獎勵。",
           tenant=YONGXIU, scoped=True, issued="2023-06-01"),
    policy(11, "彭泽县工业园区标准厂房租赁补贴办法", "彭府办发〔2024〕11号",
           "彭泽县人民政府办公室",
           "企业租用园区标准厂房的，前两年给予全额租金补贴，第三年给予50%补贴。",
           tenant=PENGZE, issued="2024-04-08"),
    policy(12, "九江市人才引进安家补助实施细则", "九人社发〔2023〕8号",
           "九江市人力资源和社会保障局",
           "对企业引进的博士研究生给予20万元安家补助，硕士研究生给予10万元。", issued="2023-09-12"),
    # 繁
    policy(13, "湖口縣高新技術產業園企業入駐指南", "湖府辦字〔2024〕6號", "湖口縣人民政府辦公室",
           "產業園重點發展電子信息和新材料產業，入駐企業可享受標準廠房代建和租金減免。",
           tenant=HUKOU, issued="2024-03-02"),
    policy(14, "关于开展2024年度新材料产业专项资金申报工作的通知", "九工信字〔2024〕42号",
           "九江市工业和信息化局",
           "申报范围包括有机硅、玻纤复合材料、电子级化学品等新材料项目，申报截止时间为6月30日。",
           attachment="附件：新材料产业专项资金申报表。企业名称、统一社会信用代码、项目总投资。",
           issued="2024-05-06"),
    policy(15, "九江市现代农业产业化龙头企业认定办法", "九农发〔2023〕27号", "九江市农业农村局",
           "支持预制菜、稻米、茶叶等农产品精深加工企业申报市级龙头企业。", issued="2023-07-18"),
    # 繁
    policy(16, "關於加快電子信息產業集群發展的實施意見", "九府發〔2023〕9號", "九江市人民政府",
           "重點引進顯示模組、印製電路板、半導體封裝等項目，對固定資產投資10億元以上的重大項目"
           "實行一事一議。", issued="2023-05-25"),
    policy(17, "武宁县茶产业发展扶持办法", "武府办发〔2024〕2号", "武宁县人民政府办公室",
           "对新建生态茶园50亩以上的，每亩补助500元；支持茶叶加工企业购置设备。",
           tenant=WUNING, scoped=True, issued="2024-01-16"),
    policy(18, "关于促进光伏产业发展的若干政策", "江府办函〔2021〕12号", "九江市人民政府办公室",
           "对光伏组件企业给予用电和用地支持。本政策已被江府办函〔2024〕37号取代。",
           validity="repealed", issued="2021-03-09"),
    # 繁
    policy(19, "九江市招商引資項目全程代辦服務辦法", "九府辦字〔2023〕33號",
           "九江市人民政府辦公室",
           "對重大招商引資項目實行專班服務和全程代辦，幫助企業辦理環評、能評和施工許可手續。",
           issued="2023-11-20"),
    policy(20, "九江市锂电新能源产业链招商图谱", "九商务字〔2024〕15号", "九江市商务局",
           "梳理锂电新能源产业链上游碳酸锂、中游正极材料和电解液、下游动力电池和储能电池的"
           "目标企业，明确各县（市、区）招商方向。宁德时代、比亚迪等龙头企业为重点目标。",
           issued="2024-08-15"),
    policy(21, "关于支持外贸企业稳订单拓市场的若干措施", "九商务字〔2023〕21号", "九江市商务局",
           "对参加境外展会的企业给予展位费补助，支持纺织服装、电子信息企业开拓国际市场。",
           validity="expired", issued="2023-02-22"),
    # 繁
    policy(22, "都昌縣農產品加工產業園建設方案", "都府辦字〔2024〕9號", "都昌縣人民政府辦公室",
           "建設預製菜、水產品加工和冷鏈物流三大板塊，引進農業產業化龍頭企業入園。",
           tenant=DUCHANG, issued="2024-06-28"),
    policy(23, "彭泽县化工园区安全生产管理办法", "彭府发〔2023〕6号", "彭泽县人民政府",
           "入园化工企业须配备专职安全管理人员，有机硅等重点项目实行封闭化管理。",
           tenant=PENGZE, scoped=True, issued="2023-08-08"),
    policy(24, "九江市重大项目用地保障办法", "九府办发〔2024〕19号", "九江市人民政府办公室",
           "对总投资10亿元以上的重大产业项目，优先保障用地指标，实行带方案出让。",
           issued="2024-10-11"),
]  # fmt: skip

DOCUMENTS = LEADS + POLICIES
EVERYONE = ["t1", "t2", "t3", "t8", "t9", "t10", "t11", "t12", "t13", "overseer", "all"]
CITY_OFFICER = ["t1", "overseer", "all"]


def reader(county: int) -> list[str]:
    return [f"t{county}", "all"]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    ix = SearchIndex(tmp_path_factory.mktemp("relevance") / "index")
    with ix.writer() as writer:
        for document in DOCUMENTS:
            ix.put(writer, document)
    yield ix
    ix.close()


def found(index, text, labels=EVERYONE, **kwargs) -> list[str]:
    return [f"{h.kind}:{h.object_id}" for h in index.search(text, labels, **kwargs).hits]


# (query, expected document, within the first N, why) — N > 1 only where noted.
QUERIES = [
    # simplified query, traditional document
    ("锂电池正极材料", "lead:2", 1, "繁 title"),
    ("功能性面料", "lead:6", 1, "繁 title"),
    ("羽绒服", "lead:18", 1, "繁 title and body"),
    ("玻纤 彭泽", "lead:20", 1, "繁 title; policy 14 has 玻纤 but not 彭泽"),
    ("电子元器件 湖口", "lead:10", 1, "繁"),
    (
        "产业园 湖口",
        "policy:13",
        2,
        "繁 policy 13 and 繁 lead 10 both hold both words in the title",
    ),
    ("全程代办", "policy:19", 1, "繁 policy"),
    ("渔光互补", "lead:23", 1, "繁 lead"),
    # traditional query, simplified document
    ("鋰電 德安", "lead:15", 1, "simplified lead in 德安"),
    ("光伏組件 德安", "lead:1", 1, ""),
    ("招商引資項目評價辦法", "policy:2", 1, ""),
    ("碳纖維", "lead:19", 1, ""),
    ("預製菜 都昌", "lead:5", 1, "simplified lead; 繁 policy 22 is 都昌's park plan, body only"),
    # two-character terms
    ("储能", "lead:3", 1, "title and body"),
    ("茶叶", "lead:11", 1, "title; lead 27 and policies 15, 17 only in the body"),
    ("铜箔", "lead:16", 1, ""),
    ("玻纤", "lead:20", 1, "title and names"),
    # company names, Latin letters in any case, credit codes, lead codes
    ("Sungrow", "lead:4", 1, "Latin in title and names"),
    ("sungrow", "lead:4", 1, ""),
    ("SUNGROW", "lead:4", 1, ""),
    ("CATL", "lead:3", 1, ""),
    ("catl 湖口", "lead:3", 1, ""),
    ("阳光电源", "lead:4", 1, "the Chinese name"),
    ("華瑞新能源", "lead:1", 1, "traditional query, simplified company"),
    ("恒泰锂电", "lead:2", 1, "simplified query, 繁 company"),
    ("BYD", "lead:25", 1, ""),
    ("Tongfu", "lead:36", 1, ""),
    ("91360426MA35H7K21X", "lead:1", 1, "credit code"),
    ("91360426ma35h7k21x", "lead:1", 1, "credit code typed in lower case"),
    ("XS-2025-000002", "lead:2", 1, "lead code"),
    # 文号, typed the ways officers type them
    ("江府办函〔2024〕37号", "policy:1", 1, "policy 4 cites it in its body"),
    ("江府办函[2024]37号", "policy:1", 1, ""),
    ("江府办函（2024）37号", "policy:1", 1, "full-width parentheses"),
    ("江府办函2024 37号", "policy:1", 1, ""),
    ("江府辦函〔2024〕37號", "policy:1", 1, "traditional"),
    ("赣府发〔2023〕12号", "policy:5", 1, ""),
    ("贛府發[2023]12號", "policy:5", 1, ""),
    ("九府办发〔2022〕5号", "policy:6", 1, "繁 policy; policy 7 is 〔2022〕15号"),
    ("九府办发〔2022〕15号", "policy:7", 1, ""),
    ("德府发〔2021〕9号", "policy:8", 1, "policy 9 names it in its body"),
    # amounts
    ("5亿元", "lead:1", 1, "15亿元, 25亿元 and 4.5亿元 must not count"),
    ("1.2亿元", "lead:5", 1, ""),
    ("3000万元 纺织", "lead:6", 1, "繁 3000萬元"),
    ("3000万元", "lead:4", 2, "lead 4 and 繁 lead 6 both hold it once in the body"),
    ("20亿元 储能", "lead:3", 1, ""),
    # several words
    ("光伏 德安", "lead:1", 1, ""),
    ("锂电 永修", "lead:2", 2, "繁 lead 2 and lead 16 (锂电 in the body) are both in 永修"),
    ("有机硅 彭泽", "lead:7", 1, ""),
    ("纺织 武宁", "lead:6", 1, ""),
    ("高新技术产业园 德安 电子", "lead:31", 1, "繁"),
    ("招商引资 永修", "policy:10", 1, "繁, seen by 永修 and the city"),
    # full-width and half-width
    ("ＣＡＴＬ", "lead:3", 1, ""),
    ("５亿元", "lead:1", 1, ""),
    ("江府办函〔２０２４〕３７号", "policy:1", 1, ""),
    ("XS－2025－000002", "lead:2", 1, "full-width hyphens"),
    # a title match outranks a match in the names, which outranks one in the body only
    ("标准厂房", "policy:11", 1, "title; leads 3, 6, 22 and policy 13 only in the body"),
    ("营商环境", "policy:5", 1, ""),
]


@pytest.mark.parametrize(("text", "expected", "within", "why"), QUERIES)
def test_the_expected_document_comes_first(index, text, expected, within, why):
    hits = found(index, text)
    assert expected in hits[:within], (text, why, hits[:5])


def test_the_set_is_large_enough_and_a_third_is_traditional():
    assert len(QUERIES) >= 40
    traditional = {"縣", "項", "資", "電", "產", "業", "辦", "區", "發"}
    written = [d for d in DOCUMENTS if traditional & set(d["title"] + d["body"])]
    assert 0.25 <= len(written) / len(DOCUMENTS) <= 0.4


def test_the_leads_are_production_documents():
    document = LEADS[0]
    assert document["names"] == "九江华瑞新能源科技有限公司 91360426MA35H7K21X XS-2025-000001"
    assert document["body"].startswith("浙江省宁波市\n")
    assert document["labels"] == "overseer t8"


@pytest.mark.parametrize(
    ("text", "order"),
    [
        ("硅片", ["lead:12", "lead:13", "lead:14"]),  # title, names (company), body only
        ("茶叶", ["lead:11", "lead:27"]),  # title, body only
        ("江府办函〔2024〕37号", ["policy:1", "policy:4"]),  # names, body only
    ],
)
def test_title_outranks_names_outranks_body(index, text, order):
    hits = found(index, text)
    assert [hit for hit in hits if hit in order] == order


def test_amounts_are_whole_numbers_not_digits_inside_others(index):
    hits = found(index, "5亿元")
    assert "lead:7" not in hits  # 15亿元
    assert "lead:24" not in hits  # 25亿元
    assert "lead:23" not in hits  # 4.5億元


def test_a_document_number_does_not_match_a_neighbour(index):
    assert "policy:7" not in found(index, "九府办发〔2022〕5号")
    assert "policy:3" not in found(index, "江府办函〔2024〕37号")  # 〔2023〕37号
    assert "policy:2" not in found(index, "江府办函〔2024〕37号")  # 〔2024〕73号


def test_kind_filter(index):
    policies = found(index, "光伏 高质量发展", filters={"kind": "policy"})
    assert policies[0] == "policy:1"
    assert all(
        hit.startswith("policy:") for hit in found(index, "光伏", filters={"kind": "policy"})
    )
    leads = found(index, "光伏", filters={"kind": "lead"})
    assert leads and all(hit.startswith("lead:") for hit in leads)


def test_validity_and_year_filters(index):
    deans = reader(DEAN)
    both = found(index, "招商引资 优惠政策", deans)
    assert set(both[:2]) == {"policy:8", "policy:9"}
    assert found(index, "招商引资 优惠政策", deans, filters={"validity": "valid"})[0] == "policy:9"
    assert found(index, "招商引资 优惠政策", deans, filters={"validity": "repealed"}) == [
        "policy:8"
    ]
    assert found(index, "招商引资 优惠政策", deans, filters={"year": 2021}) == ["policy:8"]
    assert found(index, "光伏", filters={"validity": "expired"}) == []


@pytest.mark.parametrize(
    "labels", [reader(DEAN), reader(YONGXIU), reader(HUKOU), ["t2"], CITY_OFFICER]
)
def test_no_query_returns_a_document_the_reader_may_not_see(index, labels):
    by_id = {d["doc_id"]: set(d["labels"].split()) for d in DOCUMENTS}
    for text, *_ in QUERIES:
        result = index.search(text, labels, per_page=100)
        assert all(by_id[f"{h.kind}:{h.object_id}"] & set(labels) for h in result.hits), text
        assert result.total == len(result.hits)


def test_scoped_documents_stay_with_their_tenants(index):
    assert "policy:10" not in found(index, "招商引资 永修", reader(DEAN))  # 永修's own policy
    assert "policy:10" in found(index, "招商引资 永修", CITY_OFFICER)
    assert found(index, "有机硅 彭泽", reader(DEAN)) == []  # 彭泽's lead
    assert found(index, "锂电池正极材料", reader(DEAN))[0] == "lead:2"  # shared with 德安
    assert "lead:2" not in found(index, "锂电池正极材料", reader(HUKOU))
