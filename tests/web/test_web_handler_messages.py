"""Handler and form-check messages reach a Chinese page in Chinese (issue 13).

The handlers run without Flask: they mark their messages with ``engine.messages.N_`` and
the web layer translates them for the reader. These tests extract every marked message
from tasks/ and engine/, check each has its Chinese translation, check no validator hands
back an unmarked string, and refuse a real work order in Chinese.
"""

from __future__ import annotations

import ast
import html
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from engine.forms import FormChecker
from tests.procedure import support
from tests.web.support import client_of, csrf_token
from tests.web.test_web_procedure import running_complaint

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "web" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"


def marked_messages() -> set[str]:
    return {
        extracted[2]
        for folder in ("tasks", "engine")
        for extracted in extract_from_dir(str(ROOT / folder), [("**.py", "python")], keywords={"N_": None})
        if isinstance(extracted[2], str)
    }


def test_every_handler_message_has_a_chinese_translation():
    found = marked_messages()
    assert {"W1: write the cause in detail, or say that it is unknown", "this field is required"} <= found
    assert len(found) > 80  # every validator of the procedure, not a sample
    with CATALOGUE.open("rb") as source:
        translated = {entry.id: entry.string for entry in read_po(source) if entry.id and entry.string}
    assert sorted(found - set(translated)) == []
    placeholders = [
        msgid for msgid in found if "%(" in msgid and not _same_placeholders(msgid, translated[msgid])
    ]
    assert placeholders == []


def _same_placeholders(msgid: str, text: str) -> bool:
    import re

    pattern = re.compile(r"%\(\w+\)[sr]")
    return sorted(pattern.findall(msgid)) == sorted(pattern.findall(text))


def _unmarked(node: ast.AST) -> bool:
    """A message that is neither ``N_(...)`` nor a name holding one (the loops' ``message``)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "N_":
        return False
    if isinstance(node, ast.Name) and node.id == "message":
        return False
    if isinstance(node, ast.IfExp):
        return _unmarked(node.body) or _unmarked(node.orelse)
    return True


VALIDATOR_MODULES = sorted(path.name for path in (ROOT / "tasks").glob("*validators.py")) + ["form_checks.py"]


@pytest.mark.parametrize("module", VALIDATOR_MODULES)
def test_no_validator_returns_an_unmarked_message(module):
    """Every validator module (validators.py and those split from it), so a moved check stays checked."""
    tree = ast.parse((ROOT / "tasks" / module).read_text(encoding="utf-8"))
    unmarked = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and any(
                isinstance(target, ast.Subscript) and getattr(target.value, "id", None) == "errors"
                for target in node.targets
            )
            and _unmarked(node.value)
        ):
            unmarked.append(node.lineno)
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Dict):
            unmarked += [node.lineno for value in node.value.values if _unmarked(value)]
    assert unmarked == []


def test_json_schema_errors_are_short_marked_messages_not_jsonschemas_sentences():
    checker = FormChecker(
        {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string", "maxLength": 3}, "kind": {"enum": ["a", "b"]}},
            "dependentRequired": {"kind": ["name"]},
        }
    )
    assert checker.errors({"kind": "c"}) == {
        "name": "this field is required",
        "kind": "choose one of the offered values",
    }
    long = checker.errors({"name": "abcd"})["name"]
    assert (long, long.msgid, long.params) == (
        "at most 3 characters",
        "at most %(limit)s characters",
        {"limit": 3},
    )


@pytest.fixture
def app(procedure_app):
    return procedure_app


def test_a_refused_work_order_is_explained_in_chinese_with_no_english_message(app):
    """W1-W5 refused on the Chinese page: each field's message in Chinese, none in English."""
    engine = app.extensions["process_engine"]
    running, _ = running_complaint(engine)
    order = support.open_task(engine, running, "task_handle_order")
    ned = client_of(app, "ned")
    ned.get("/language/zh")
    token = csrf_token(ned, f"/tasks/{order.id}")
    refused = ned.post(f"/tasks/{order.id}", data={"cause": "", "csrf_token": token, "action": "complete"})
    page = html.unescape(refused.get_data(as_text=True))
    assert refused.status_code == 422
    assert "W1：请详细写明产生原因，或注明原因不明" in page and "W5：请写明用户的态度和意见" in page
    english = [text for text in (msgid.split("%(")[0] for msgid in marked_messages()) if len(text) > 12]
    assert [text for text in english if text in page] == []


def test_the_api_answers_field_errors_in_the_callers_language(app):
    """The same refusal through the API: Chinese by Accept-Language, English otherwise."""
    from web import api_tokens

    engine = app.extensions["process_engine"]
    running, _ = running_complaint(engine)
    order = support.open_task(engine, running, "task_handle_order")
    with engine.writer() as session, session.begin():
        token = api_tokens.issue_token(session, "ned", "tests")
    engine.claim(order.id, actor="ned")

    def refused(language: str):
        headers = {"Authorization": f"Bearer {token}", "Accept-Language": language}
        return app.test_client().post(
            f"/api/v1/tasks/{order.id}/complete", json={"data": {}}, headers=headers
        )

    chinese, english = refused("zh-CN"), refused("en")
    assert chinese.status_code == english.status_code == 422
    assert chinese.json["fields"]["cause"] == "W1：请详细写明产生原因，或注明原因不明"
    assert english.json["fields"]["cause"] == "W1: write the cause in detail, or say that it is unknown"
