"""E5 rework keeps work (issue 13): a returned work order reopens with the department's
previous answers and the return reason on top as what to fix; once reworked, the reason is
history for the reviewer, not an open remark. Real procedure, real pages."""

from __future__ import annotations

import html
import re

import pytest

from engine import views
from tasks import returns
from tests.procedure import support
from tests.web.support import client_of, csrf_token
from tests.web.test_web_procedure import running_complaint

REASON = "未说明恢复时间 Restoration time missing"


@pytest.fixture
def app(procedure_app):
    return procedure_app


def _returned_once(engine) -> int:
    running, _ = running_complaint(engine)
    answer = support.work_order_reply(cause="端口故障 Port fault, first answer")
    support.complete(engine, running, "task_handle_order", answer, actor="ned")
    support.complete(
        engine, running, "task_review_reply", support.review(False, return_reason=REASON), actor="dora"
    )
    return running


def test_e5_the_returned_order_opens_with_the_previous_answers_and_the_reason_to_fix(app):
    engine = app.extensions["process_engine"]
    running = _returned_once(engine)
    order = support.open_task(engine, running, "task_handle_order")
    page = html.unescape(client_of(app, "ned").get(f"/tasks/{order.id}").get_data(as_text=True))
    top = page[: page.index("task-fields")]
    assert "Returned for rework (E5): what to fix" in top and REASON in top and "Returned by Dora" in top
    assert re.search(r'name="cause"[^>]*>端口故障 Port fault, first answer</textarea>', page)
    assert re.search(r'name="handling_final"[^>]*\bchecked\b', page)
    assert "<dt>return_reason</dt>" not in page


def test_e5_once_reworked_the_reason_is_history_for_the_reviewer(app):
    engine = app.extensions["process_engine"]
    running = _returned_once(engine)
    order = support.open_task(engine, running, "task_handle_order")
    ned = client_of(app, "ned")
    token = csrf_token(ned, f"/tasks/{order.id}")
    page = ned.get(f"/tasks/{order.id}").get_data(as_text=True)
    kept = {
        name: value
        for name, value in re.findall(r'<textarea id="f-\w+" name="(\w+)"[^>]*>([^<]*)</textarea>', page)
    }
    form = {
        **{k: html.unescape(v) for k, v in kept.items()},
        "handling_final": "on",
        "service_restored": "on",
    }
    form.update(result="已恢复，预计 18:00 前完成 Restored by 18:00", csrf_token=token, action="complete")
    assert ned.post(f"/tasks/{order.id}", data=form).status_code == 302

    review = support.open_task(engine, running, "task_review_reply")
    dora = client_of(app, "dora")
    page = html.unescape(dora.get(f"/tasks/{review.id}").get_data(as_text=True))
    form_part = page[page.index("task-fields") : page.index("</form>", page.index("task-fields"))]
    assert "Returned for rework" not in page and REASON not in form_part  # not an open remark, not prefilled
    history = page[page.index("Earlier returns") :]
    assert REASON in history and "reworked by Ned" in history  # people by name, not username (issue 13)
    assert "<strong>ned</strong>" not in history and "<strong>Ned</strong>" in history

    [answered] = returns.returns_of(views.history(engine, running))
    assert (answered.rule, answered.by, answered.answered_by, answered.open) == ("E5", "dora", "ned", False)
