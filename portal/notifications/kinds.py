"""What each notification kind is called on screen and in mail subjects."""

from __future__ import annotations

KIND_LABELS = {
    "referral_received": "收到推送",
    "referral_accepted": "已签收",
    "return_requested": "申请退回",
    "returned": "同意退回",
    "return_refused": "不同意退回",
    "withdrawn": "已撤回",
    "feedback": "对接反馈",
    "landed": "已落地",
    "not_landed": "未落地",
    "extension_requested": "延期申请",
    "extension_approved": "延期获批",
    "extension_refused": "延期未获批",
    "urged": "催办",
    "due_soon": "即将到期",
    "overdue": "已逾期",
    "escalated": "逾期督办",
    "progress_due": "待更新进展",
    "credit_published": "考核公示",
    "credit_appealed": "积分申诉",
    "appeal_upheld": "申诉成立",
    "appeal_dismissed": "申诉驳回",
}


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, "通知")
