"""A complaint as a case file: who the customer is, what they said, what each person did.

Built only from what the engine already stores: the audit events of the instance (the
start data, every completed task with the fields its person submitted, messages such
as L1 progress told, a discard) and the human task rows (the step's name). Nothing is
loaded from the workflow. Words come from the deployed version itself, in the page's
language: a step by its task name, a field by its form title, a choice by its form or
config label (channel, stage, department, outside unit), never the raw code or id.

The domain part lives here (which fields, which headline: E5 returns, E3 extensions,
V1 return visits); the page (web/instance_page.py) only lays it out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from engine.element_properties import ElementProperties, with_property
from tasks import words
from tasks.records import INTAKE_STAGE as INTAKE
from tasks.records import STAGE_PROPERTY
from tasks.words import say

# The customer and the matter, in the order a case file shows them (fields of the
# intake record, A5 / C1-C5).
HEADER_FIELDS = (
    "customer_name",
    "customer_phone",
    "customer_account",
    "channel",
    "business_category",
    "nature_category",
    "complaint_types",
    "repeat_of",
    "batch_tag",
    "outside_deadline",
    "escalation_ref",
    "website_receipt",
)
DESCRIPTION = "description"
# Fields that are not answers a reader needs: evidence references show as attachments.
HIDDEN_FIELDS = frozenset({"evidence_refs", "agreement_evidence", "reserved_complaint_no", "submitted_via"})
# Config tables whose labels name a field's value (procedure.toml), when the form has none.
CONFIG_LABELS = {
    "channel": "channels",
    "department": "departments",
    "responsible_department": "departments",
    "coordinating_department": "departments",
    "business_category": "business_categories",
    "nature_category": "nature_categories",
    "complaint_types": "complaint_types",
}
# Words of the fields the start data carries before any form is submitted (website, A5).
START_FIELD_WORDS = {
    "website_receipt": "网站受理回执 Website receipt",
    "customer_name": "客户姓名 Customer name",
    "customer_phone": "联系电话 Contact phone",
    "customer_account": "业务账号 Service account",
    "channel": "受理渠道 Channel",
    "business_category": "业务分类 Business category",
    "description": "投诉内容 Complaint",
}

# The stage of the complaint record (tasks.records.STAGES) and its status, in plain words.
STAGE_WORDS = {
    "intake": "受理登记 Being recorded",
    "dispatch": "审核派单 Being reviewed and dispatched",
    "plan_approval": "方案审批 Plan awaiting approval",
    "plan_revision": "方案修改 Plan being revised",
    "extension_requested": "延期审批 Extension requested",
    "handling": "部门处理 Being handled by the department",
    "reply_review": "回复审核 Reply under review",
    "reply": "回复客户 Replying to the customer",
    "written_reply_review": "书面回复审核 Written reply under review",
    "written_reply_approval": "书面回复审批 Written reply awaiting approval",
    "return_visit": "回访 Return visit",
    "dissatisfaction_analysis": "不满意分析 Analysing the dissatisfaction",
    "closing_decision": "主管决定结案 Closing awaiting the supervisor's decision",
    "in_progress": "处理中 In progress",
    "closed": "已结案 Closed",
    "error": "待修复 Waiting for repair",
    "discarded": "已作废 Discarded",
}
STATUS_WORDS = {
    "open": "处理中 Open",
    "running": "处理中 Open",
    "closed": "已结案 Closed",
    "completed": "已结案 Closed",
    "error": "待修复 Waiting for repair",
    "cancelled": "已作废 Discarded",
}
OUTCOME_WORDS = {
    "closed": "已结案 Closed",
    "resolved_at_first_contact": "首问解决 Resolved at first contact",
    "merged_into": "并入在办投诉 Merged into the running complaint",
    "closed_dissatisfied": "客户仍不满意，已结案 Closed, the customer still dissatisfied",
    "closed_unreachable": "无法联系客户，已结案 Closed, the customer unreachable",
}


@dataclass(frozen=True)
class Answer:
    field: str
    label: str
    value: str


@dataclass(frozen=True)
class Step:
    """One thing a person (or the website, or a timer) did, in words."""

    at: datetime
    who: str
    what: str  # the step by its task name, or the command in words
    headline: str  # what came of it: "returned: ...", "asked for an extension until ..."
    kind: str  # start, task, return, extension, message, discard, alert_closed
    answers: tuple[Answer, ...] = ()


@dataclass(frozen=True)
class CaseFile:
    header: tuple[Answer, ...]
    description: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Event:
    """An audit event as this module reads it (engine.models.AuditEvent, detail parsed)."""

    at: datetime
    actor: str
    command: str
    detail: Mapping[str, Any]

    @classmethod
    def of(cls, row: Any) -> Event:
        detail = json.loads(row.detail) if isinstance(row.detail, str) else dict(row.detail or {})
        return cls(row.at, row.actor, row.command, detail)


class Wording:
    """Names of fields and values from a version's forms and config, in one language."""

    def __init__(
        self,
        forms: Mapping[str, Any],
        config: Mapping[str, Any],
        language: str,
        zone: tzinfo,
        elements: ElementProperties | None = None,
    ):
        self.forms, self.config, self.language, self.zone = forms, config, language, zone
        self.stages = with_property(elements or {}, STAGE_PROPERTY)
        """Element id -> its ``stage`` property: a step's headline is chosen by stage, not by id."""
        self.elements = elements or {}  # the version's element properties (``closes_itself``)

    def stage(self, element: str) -> str:
        return self.stages.get(element, "")

    def words(self, text: Any) -> str:
        return words.pick(str(text), self.language)

    def label(self, form: str | None, name: str) -> str:
        spec = self._spec(form, name)
        title = spec.get("title") if spec else None
        if title is None:
            title = START_FIELD_WORDS.get(name) or self._any_title(name)
        return self.words(title) if title else name.replace("_", " ")

    def value(self, form: str | None, name: str, value: Any) -> str:
        if isinstance(value, bool):
            return say(self.language, "是", "Yes") if value else say(self.language, "否", "No")
        if isinstance(value, list):
            return (
                "、".join(self.value(form, name, item) for item in value)
                if self.language == "zh"
                else ", ".join(self.value(form, name, item) for item in value)
            )
        if value is None:
            return ""
        text = str(value)
        spec = self._spec(form, name) or self._any_spec(name)
        choice = _choice_title(spec.get("items", spec) if spec else {}, text)
        if choice is not None:
            return self.words(choice)
        table = self.config.get(CONFIG_LABELS.get(name, ""), {})
        if text in table:
            entry = table[text]
            return self.words(entry.get("label", text) if isinstance(entry, Mapping) else entry)
        return self.instant(text) or text

    def group(self, group: str | None) -> str:
        """A candidate group by the words of the config: its department's label, else its lane's name."""
        if not group:
            return ""
        for entry in (self.config.get("departments") or {}).values():
            if isinstance(entry, Mapping) and entry.get("group") == group:
                return self.words(entry.get("label", group))
        for lane, lane_group in (self.config.get("lanes") or {}).items():
            if lane_group == group:
                return self.words(lane)
        return group

    def instant(self, text: str) -> str | None:
        """An ISO instant in the display zone, to the minute; None when ``text`` is not one."""
        if len(text) < 16 or text[4:5] != "-" or "T" not in text:
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        if moment.tzinfo is None:
            return None
        return f"{moment.astimezone(self.zone):%Y-%m-%d %H:%M}"

    def answers(
        self, form: str | None, data: Mapping[str, Any], skip: Iterable[str] = ()
    ) -> tuple[Answer, ...]:
        skipped = HIDDEN_FIELDS.union(skip)
        order = list(self._schema(form).get("properties") or {}) or list(data)
        names = [name for name in order if name in data] + [name for name in data if name not in order]
        return tuple(
            Answer(name, self.label(form, name), self.value(form, name, data[name]))
            for name in names
            if name not in skipped and data[name] not in (None, "", [])
        )

    def _schema(self, form: str | None) -> Mapping[str, Any]:
        return self.forms.get(form or "", {}) if form else {}

    def _spec(self, form: str | None, name: str) -> Mapping[str, Any] | None:
        return (self._schema(form).get("properties") or {}).get(name)

    def _any_spec(self, name: str) -> Mapping[str, Any] | None:
        for schema in self.forms.values():
            spec = (schema.get("properties") or {}).get(name)
            if spec:
                return spec
        return None

    def _any_title(self, name: str) -> str | None:
        spec = self._any_spec(name)
        return spec.get("title") if spec else None


def _choice_title(spec: Mapping[str, Any], value: str) -> str | None:
    for option in spec.get("oneOf") or ():
        if isinstance(option, Mapping) and option.get("const") == value:
            return option.get("title")
    return None


def build(events: Iterable[Any], task_rows: Iterable[Any], wording: Wording) -> CaseFile:
    """The case file of one complaint from its audit events (oldest first) and human task rows.

    The header holds the latest value each customer field was given (start data, then each
    submission in order), so a website complaint's fields show before it is recorded.
    """
    tasks = {row.id: row for row in task_rows}
    facts: dict[str, Any] = {}
    facts_form: dict[str, str | None] = {}
    steps: list[Step] = []
    for row in events:
        event = row if isinstance(row, Event) else Event.of(row)
        step = _step(event, tasks, wording, facts, facts_form)
        if step is not None:
            steps.append(step)
        steps.extend(_closed_by_themselves(event, tasks, wording))
    header = tuple(
        Answer(
            name,
            wording.label(facts_form.get(name), name),
            wording.value(facts_form.get(name), name, facts[name]),
        )
        for name in HEADER_FIELDS
        if facts.get(name) not in (None, "", [])
    )
    description = str(facts.get(DESCRIPTION) or "")
    return CaseFile(header, description, tuple(steps))


def _step(
    event: Event, tasks: Mapping[str, Any], wording: Wording, facts: dict, facts_form: dict
) -> Step | None:
    language = wording.language
    detail = event.detail
    if event.command == "start":
        data = detail.get("data") or {}
        _learn(facts, facts_form, data, None)
        return Step(
            event.at,
            event.actor,
            say(language, "受理", "Received"),
            _received(data, wording),
            "start",
            wording.answers(None, data, skip=(*HEADER_FIELDS, DESCRIPTION, "received_by")),
        )
    if event.command == "complete":
        row = tasks.get(detail.get("task_id"))
        element = detail.get("task") or ""
        form = row.form if row is not None else None
        data = detail.get("data") or {}
        _learn(facts, facts_form, data, form)
        name = wording.words(row.name) if row is not None else wording.label(None, element)
        stage = wording.stage(element)
        headline, kind = _headline(stage, data, wording)
        skip = (*HEADER_FIELDS, DESCRIPTION) if stage == INTAKE else ()
        return Step(event.at, event.actor, name, headline, kind, wording.answers(form, data, skip=skip))
    if event.command == "message" and detail.get("message") == "progress_reply":
        payload = detail.get("payload") or {}
        answers = (
            Answer("note", say(language, "告知内容", "What they were told"), str(payload.get("note", ""))),
        )
        return Step(
            event.at,
            event.actor,
            say(language, "告知进展", "Progress told"),
            say(language, "已告知客户处理进展（L1）", "told the customer the progress (L1)"),
            "message",
            answers,
        )
    if event.command == "cancel":
        reason = str(detail.get("reason") or "")
        return Step(
            event.at,
            event.actor,
            say(language, "作废", "Discarded"),
            say(language, "误建投诉已作废", "discarded a complaint started by mistake"),
            "discard",
            (Answer("reason", say(language, "说明", "Note"), reason),) if reason else (),
        )
    return None


def _closed_by_themselves(event: Event, tasks: Mapping[str, Any], wording: Wording) -> list[Step]:
    """L1, L2 (issue 11 item 7): alerts this command withdrew because their cause is over.

    An alert task carrying the ``closes_itself`` property (the words of why) and closed as
    ``cancelled`` by a command it was not the subject of closed itself: the first reply was
    given, the order went out. The command's audit event lists it (``closed``).
    """
    found = []
    for entry in event.detail.get("closed") or []:
        element, _, status = str(entry).rpartition(":")
        because = (wording.elements.get(element) or {}).get("closes_itself")
        if status != "cancelled" or not because:
            continue
        row = next((row for row in tasks.values() if row.element_id == element), None)
        name = wording.words(row.name) if row is not None else element
        found.append(Step(event.at, event.actor, name, wording.words(because), "alert_closed"))
    return found


def _learn(facts: dict, facts_form: dict, data: Mapping[str, Any], form: str | None) -> None:
    for name, value in data.items():
        if name in HEADER_FIELDS or name == DESCRIPTION:
            facts[name] = value
            facts_form[name] = form


def _received(data: Mapping[str, Any], wording: Wording) -> str:
    if data.get("submitted_via") == "website":
        return say(
            wording.language, "客户在网站提交投诉", "the customer submitted the complaint on the website"
        )
    return say(wording.language, "开始受理投诉", "started recording a complaint")


def _headline(stage: str, data: Mapping[str, Any], wording: Wording) -> tuple[str, str]:
    """What came of a step, for the steps whose outcome the procedure names (E3, E5, V1, A2).

    Keyed by the ``stage`` property drawn on the user task (as the complaint record's stage
    is), so a task renamed or added in the modeler keeps its headline by carrying the stage.
    """
    language = wording.language
    if stage == INTAKE:
        if data.get("first_contact_resolved") is True:
            return say(
                language, "受理登记，当场解决（A2）", "recorded the complaint, resolved at first contact (A2)"
            ), "task"
        return say(language, "记录了投诉", "recorded the complaint"), "task"
    if stage == "dispatch" and data.get("department"):
        department = wording.value("review_dispatch.json", "department", data["department"])
        return say(language, f"派单至{department}", f"dispatched to {department}"), "task"
    if stage == "handling":
        if data.get("request_extension") is True:
            until = wording.value(None, "extension_until", data.get("extension_until"))
            return say(
                language, f"申请延期至 {until}（E3）", f"asked for an extension until {until} (E3)"
            ), "extension"
        return say(language, "回复工单", "replied to the work order"), "task"
    if stage == "extension_requested":
        if data.get("extension_approved") is True:
            return say(language, "批准延期（E3）", "approved the extension (E3)"), "extension"
        return say(language, "不批准延期（E3）", "refused the extension (E3)"), "extension"
    if stage == "reply_review":
        if data.get("reply_qualified") is False:
            reason = str(data.get("return_reason") or "")
            return say(
                language, f"退回部门（E5）：{reason}", f"returned to the department (E5): {reason}"
            ), "return"
        return say(language, "审核通过部门回复", "accepted the department's reply"), "task"
    if stage == "reply":
        if data.get("customer_reached") is False:
            return say(language, "未联系到客户", "could not reach the customer"), "task"
        return say(language, "已回复客户", "replied to the customer"), "task"
    if stage == "return_visit":
        if data.get("satisfied") is False:
            return say(language, "回访：客户不满意", "return visit: the customer is not satisfied"), "return"
        return say(language, "回访：客户满意", "return visit: the customer is satisfied"), "task"
    written = stage in ("written_reply_review", "written_reply_approval")
    if written and data.get("review_approved") is False:
        reason = str(data.get("review_note") or "")
        return say(language, f"退回书面回复：{reason}", f"returned the written reply: {reason}"), "return"
    return "", "task"


def stage_words(stage: str | None, language: str) -> str:
    return words.pick(STAGE_WORDS.get(stage or "", stage or ""), language)


def status_words(status: str | None, language: str) -> str:
    return words.pick(STATUS_WORDS.get(status or "", status or ""), language)


def outcome_words(outcome: str | None, language: str) -> str:
    return words.pick(OUTCOME_WORDS.get(outcome or "", outcome or ""), language)


# What a customer reads on the public progress page: the stage in plain words, no staff,
# no internal step names (issue 13).
PUBLIC_STAGE_WORDS = {
    "intake": "已收到，正在与您核实 Received; we are checking the details with you",
    "dispatch": "正在安排处理 Being assigned to the team that handles it",
    "plan_approval": "正在安排处理 Being assigned to the team that handles it",
    "plan_revision": "正在安排处理 Being assigned to the team that handles it",
    "handling": "正在处理 Being handled",
    "extension_requested": "正在处理 Being handled",
    "reply_review": "正在准备答复 We are preparing our answer",
    "reply": "正在准备答复 We are preparing our answer",
    "written_reply_review": "正在准备书面答复 We are preparing our written answer",
    "written_reply_approval": "正在准备书面答复 We are preparing our written answer",
    "return_visit": "已答复，我们将回访您 Answered; we will call you to check you are satisfied",
    "dissatisfaction_analysis": "正在重新处理 Being looked at again",
    "closing_decision": "正在重新处理 Being looked at again",
    "in_progress": "正在处理 Being handled",
    "error": "正在处理 Being handled",
    "closed": "已办结 Completed",
    "discarded": "已撤销 Withdrawn",
}


def public_stage_words(stage: str | None, language: str) -> str:
    return words.pick(PUBLIC_STAGE_WORDS.get(stage or "", PUBLIC_STAGE_WORDS["in_progress"]), language)
