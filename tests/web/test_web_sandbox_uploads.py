"""A process owner's diagram code that tries to leave the sandbox is refused at validation.

The attack as it happened: the owner uploaded complaint.bpmn with the L1 timer expression
reaching ``due_in.__globals__`` for ``__import__('os').system``; validation only compiled
it, the admin's diff said "documentation, event", the admin deployed, and the next
complaint ran the command. Here each escape is uploaded as the demo ``owner`` in the L1
timer (start_first_reply_due), the "first reply missing" condition
(flow_first_reply_missing), both on the map, and the repeat check's postScript
(svc_check_repeat, in first_contact.bpmn), uploaded together as a .zip bundle: the upload is
refused, nothing is stored, and every problem names its element. Then an admin's diff shows
a changed timer expression, old and new.
"""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape

import pytest
from markupsafe import escape as html_escape

from engine import drafts
from tests.web.support import BPMN
from tests.web.test_web_modeler import editor_token, files_of, new_draft, person, save
from tests.web.test_web_modeler_uploads import FORM_CSRF, app, owner, refused, stored, upload

__all__ = ["app", "owner"]  # fixtures, imported for pytest

L1_TIMER = 'due_in(deadline_span("first_reply_deadline"))'
TIMER = ("start_first_reply_due", "the timer expression", L1_TIMER)
CONDITION = ("flow_first_reply_missing", "the condition", 'first_reply_check["missing"]')
SCRIPT = ("svc_check_repeat", "the post-script", 'repeat_of = repeat_check["repeat_of"]')

UNDERSCORE = "names starting with &#39;_&#39; are not allowed"
HELPERS = ["now", "due_in", "working_due", "working_time_between", "parse_instant", "timedelta"]
TASK_HELPERS = ["deadline_outcome"]  # registered by the tasks layer (tasks/operations.py)


def escapes():
    """(id, expression or None, script, what the refusal says), each tried in every place."""
    for helper in [*HELPERS, *TASK_HELPERS]:
        chain = f'{helper}.__globals__["__builtins__"]["__import__"]("os").system("id")'
        yield f"{helper}.__globals__", chain, None, "reads &#39;__globals__&#39;: " + UNDERSCORE
    yield (
        "class-subclasses",
        "timedelta.__class__.__base__.__subclasses__()",
        None,
        "reads &#39;__class__&#39;: " + UNDERSCORE,
    )
    yield "__import__", '__import__("os").system("id")', None, "uses &#39;__import__&#39;: " + UNDERSCORE
    yield "open", 'open("/etc/passwd").read()', None, "calls &#39;open&#39;, which diagram code may not use"
    yield (
        "getattr-computed",
        'getattr(due_in, "__glob" + "als__")',
        None,
        "calls &#39;getattr&#39;, which diagram code may not use",
    )
    yield "globals", 'globals()["due_in"]', None, "calls &#39;globals&#39;"
    yield "type", "type(due_in)", None, "calls &#39;type&#39;"
    yield (
        "str.format",
        '"{0.__globals__}".format(due_in)',
        None,
        "calls &#39;format&#39;: format strings can read attributes",
    )
    yield (
        "str.format_map",
        '"{d.__globals__}".format_map({"d": due_in})',
        None,
        "calls &#39;format_map&#39;: format strings can read attributes",
    )
    yield "f-string", 'f"{due_in.__globals__}"', None, "reads &#39;__globals__&#39;: " + UNDERSCORE
    yield (
        "generator-frame",
        "(x for x in []).gi_frame.f_back.f_globals",
        None,
        "reads &#39;gi_frame&#39;: only the methods of text, numbers, lists, dicts, sets, dates",
    )
    yield (
        "generator-code",
        "(x for x in []).gi_code",
        None,
        "reads &#39;gi_code&#39;: only the methods of text",
    )
    yield "lambda", "(lambda: 0).__globals__", None, "defines a lambda: diagram code may not define functions"
    yield (
        "lambda-frame",
        "(lambda: (yield))().gi_frame.f_builtins",
        None,
        "defines a lambda: diagram code may not define functions",
    )
    yield (
        "huge-list",
        "[0] * 10**9",
        None,
        "builds a value that is too large: the result would have 1,000,000,000 items",
    )


def _escape_cases():
    cases = list(escapes())
    cases.append(
        (
            "endless-loop",
            None,
            "repeat_of = 0\nwhile True:\n    repeat_of = repeat_of + 1",
            "uses a while loop",
        )
    )
    cases.append(
        (
            "try-swallows-the-limit",
            None,
            "repeat_of = 0\ntry:\n    repeat_of = 1\nexcept Exception:\n    pass",
            "catches exceptions with try",
        )
    )
    return cases


def bundle_with(expression: str | None, script: str | None) -> bytes:
    """The bundle as a .zip, the script in first_contact.bpmn and the expression on the map."""
    texts = {
        path.relative_to(BPMN).as_posix(): path.read_bytes() for path in BPMN.rglob("*") if path.is_file()
    }
    places = [("first_contact.bpmn", SCRIPT, script or f"repeat_of = {expression}")]
    if expression is not None:
        places += [("complaint.bpmn", TIMER, expression), ("complaint.bpmn", CONDITION, expression)]
    for name, (_element, _what, original), code in places:
        text = texts[name].decode("utf-8")
        assert text.count(f">{original}<") == 1, original
        texts[name] = text.replace(f">{original}<", f">{escape(code)}<").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in sorted(texts.items()):
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("expression", "script", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in _escape_cases()],
)
def test_every_escape_is_refused_at_validation_pinned_to_its_element(app, owner, expression, script, message):
    response = upload(owner, "bundle.zip", bundle_with(expression, script))
    places = [SCRIPT, TIMER, CONDITION] if expression is not None else [SCRIPT]
    expected = [f"[<code>{element}</code>] {what} " for element, what, _original in places]
    text = refused(app, response, 422, *expected, message)
    for element, what, _original in places:
        problems = [item for item in text.split("<li>") if f"[<code>{element}</code>] {what} " in item]
        assert any(message in problem for problem in problems), problems
    assert drafts.list_drafts(app.extensions["process_engine"]) == []


def test_the_l1_attack_saved_in_a_draft_is_kept_pinned_and_cannot_be_submitted(app):
    """Saving keeps what was typed; the problem names the timer and its line; submit refuses."""
    engine = app.extensions["process_engine"]
    owner = person(app, "owner")
    draft_id = new_draft(owner, title="L1 sooner")
    files = files_of(owner, draft_id)["files"]
    attack = 'due_in.__globals__["__builtins__"]["__import__"]("os").system("id")'
    files["complaint.bpmn"] = files["complaint.bpmn"].replace(f">{L1_TIMER}<", f">{escape(attack)}<")
    answer = save(owner, draft_id, files).get_json()
    first, *others = answer["problems"]
    assert (
        first["message"]
        == "the timer expression reads '__globals__': names starting with '_' are not allowed"
    )
    for problem in answer["problems"]:  # and '__builtins__', '__import__', 'system'
        assert (problem["file"], problem["element_id"]) == ("complaint.bpmn", "start_first_reply_due")
        assert escape(attack) in files["complaint.bpmn"].splitlines()[problem["line"] - 1]
    assert files_of(owner, draft_id)["files"] == files  # nothing typed is lost
    token = editor_token(owner, draft_id)
    page = owner.post(f"/modeler/drafts/{draft_id}/submit", data={"csrf_token": token}, follow_redirects=True)
    assert f"Not submitted: {1 + len(others)} problem(s)" in page.get_data(as_text=True)
    assert drafts.get_draft(engine, draft_id).status == "editing"
    assert stored(app) == (1, 1)  # the draft, and still only v1


# --------------------------------------------------------------------------- what the admin reads


def test_the_admin_diff_shows_a_changed_timer_expression_old_and_new(app, owner, run):
    changed = (BPMN / "complaint.bpmn").read_text(encoding="utf-8")
    changed = changed.replace(f">{L1_TIMER}<", '>due_in("PT12H")<')
    response = upload(owner, "complaint.bpmn", changed.encode(), title="L1 in 12 hours")
    assert response.status_code == 302, response.get_data(as_text=True)
    [draft] = drafts.list_drafts(app.extensions["process_engine"])
    token = editor_token(owner, draft.id)
    owner.post(f"/modeler/drafts/{draft.id}/submit", data={"csrf_token": token})
    admin = person(app, "admin")
    token = FORM_CSRF.search(admin.get("/modeler").get_data(as_text=True)).group(1)
    deployed = admin.post(f"/modeler/drafts/{draft.id}/deploy", data={"csrf_token": token})
    assert deployed.headers["Location"].endswith("/admin/versions?from=1&to=2")

    page = admin.get("/admin/versions?from=1&to=2").get_data(as_text=True)
    row = page[page.index("<code>start_first_reply_due</code>") :]
    row = row[: row.index("</tbody>")]
    assert "timer expression" in row
    assert str(html_escape(L1_TIMER)) in row and str(html_escape('due_in("PT12H")')) in row

    result = run("versions", "diff", "1", "2")
    assert result.exit_code == 0, result.output
    assert "changed StartEvent sub_first_reply/start_first_reply_due (timer)" in result.output
    assert f"    timer expression: {L1_TIMER!r} -> 'due_in(\"PT12H\")'" in result.output
