"""The fixed vocabularies of leads and referrals: code -> Chinese label, in display order."""

from __future__ import annotations

STAGES = {
    "lead": "线索",
    "talking": "在谈",
    "signed": "签约",
    "registered": "注册",
    "started": "开工",
    "producing": "投产",
    "full": "达产",
    "in_stats": "入统",
    "above_scale": "入规",
    "terminated": "终止",
}
# Stages before landing, which feedback may move a lead between.
PRE_LANDING_STAGES = ("lead", "talking")
# Stages the host tenant records after landing, in order; each date >= the previous one's.
LIFECYCLE_STAGES = ("registered", "started", "producing", "full", "in_stats", "above_scale")

# 五个清单: the city's five standard lists are views over the stages.
FIVE_LISTS = {
    "investors": ("客商信息表", ("lead",)),
    "talking": ("重点在谈项目表", ("talking",)),
    "signed": ("签约项目表", ("signed", "registered")),
    "started": ("开工项目表", ("started",)),
    "producing": ("投产项目表", ("producing", "full", "in_stats", "above_scale")),
}

SOURCE_CHANNELS = {
    "business": "以商招商",
    "expo": "展会",
    "fund": "基金",
    "native": "乡贤",
    "agency": "中介",
    "department": "部门推送",
    "office": "驻外招商",
    "online": "网络平台",
    "other": "其他",
}

TERMINATION_REASONS = {
    "cancelled": "企业取消投资",
    "moved": "转投外地",
    "conditions": "要素条件无法满足",
    "business": "企业经营变化",
    "other": "其他",
}

REFERRAL_STATES = {
    "sent": "待签收",
    "accepted": "已签收",
    "return_requested": "申请退回",
    "returned": "已退回",
    "withdrawn": "已撤回",
    "transferred": "已转交",
    "reported": "已反馈",
    "landed": "已落地",
    "not_landed": "未落地",
}
OPEN_STATES = ("sent", "return_requested", "accepted", "reported")
CLOSED_STATES = ("returned", "withdrawn", "transferred", "landed", "not_landed")

RETURN_REASONS = {
    "not_fit": "不符合产业定位",
    "land": "用地/能耗不足",
    "no_intent": "企业无意向",
    "duplicate": "重复线索",
    "other": "其他",
}

NOT_LANDED_REASONS = {
    "no_intent": "企业无投资意向",
    "elsewhere": "落户外地",
    "conditions": "要素条件不满足",
    "duplicate": "重复线索",
    "other": "其他",
}

FEEDBACK_METHODS = {
    "phone": "电话沟通",
    "visit": "上门拜访",
    "reception": "来访接待",
    "video": "视频会议",
    "message": "微信/邮件",
}

INTENTIONS = {
    "strong": "意向强烈",
    "medium": "有意向",
    "weak": "意向较弱",
    "none": "无意向",
}

EVENT_LABELS = {
    "created": "登记线索",
    "updated": "修改线索",
    "sent": "推送",
    "accepted": "签收",
    "return_requested": "申请退回",
    "returned": "同意退回",
    "return_refused": "不同意退回",
    "withdrawn": "撤回推送",
    "transferred": "转交",
    "feedback": "对接反馈",
    "extension_requested": "申请延期",
    "extension_approved": "同意延期",
    "extension_refused": "不同意延期",
    "landed": "落地",
    "not_landed": "未落地",
    "stage": "阶段更新",
    "urged": "催办",
}
