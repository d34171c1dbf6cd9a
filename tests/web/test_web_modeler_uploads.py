"""Uploads on /modeler/upload and `complaints validate`: diagrams from other tools, bad files.

Every refused upload answers with an error naming the element or the file and why, and
stores nothing (no draft, no version). The other tools' files are small but written the
way those tools export (tests/web/bundles): Camunda Modeler 5, Signavio, Bizagi Modeler.
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import drafts
from engine.bundle import MAX_FILE_BYTES, load_bundle
from engine.models import Deployment, Draft
from tests.web.support import BPMN, client_of
from web import accounts

BUNDLES = Path(__file__).resolve().parent / "bundles"
CAMUNDA = BUNDLES / "camunda" / "callback.bpmn"
FORM_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(procedure_app):
    with procedure_app.extensions["process_engine"].writer() as session, session.begin():
        accounts.ensure_demo_users(session)
    return procedure_app


@pytest.fixture
def owner(app):
    return client_of(app, "owner", accounts.DEMO_PASSWORD)


def upload(client, name: str, data: bytes, title: str = ""):
    token = FORM_CSRF.search(client.get("/modeler").get_data(as_text=True)).group(1)
    return client.post(
        "/modeler/upload",
        data={"csrf_token": token, "title": title, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def stored(app) -> tuple[int, int]:
    """(drafts, versions): what an upload could have stored."""
    with app.extensions["process_engine"].reader() as session:
        return (
            session.scalar(select(func.count()).select_from(Draft)),
            session.scalar(select(func.count()).select_from(Deployment)),
        )


def refused(app, response, status: int, *expected: str) -> str:
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert "Not stored" in text
    for part in expected:
        assert part in text, f"{part!r} not in the answer"
    assert stored(app) == (0, 1)
    return text


# --------------------------------------------------------------------------- other tools


def test_a_camunda_bundle_is_accepted_as_a_draft(app, owner):
    response = upload(owner, "callback.zip", zipped(BUNDLES / "camunda"), title="Callback")
    assert response.status_code == 302
    [draft] = drafts.list_drafts(app.extensions["process_engine"])
    assert draft.title == "Callback" and draft.problems == [] and draft.base_version == 1
    assert draft.bundle == load_bundle(BUNDLES / "camunda")
    assert response.headers["Location"].endswith(f"/modeler/drafts/{draft.id}")


def test_a_bizagi_bundle_is_refused_naming_the_unmapped_lane_and_the_task_without_form(app, owner):
    text = refused(
        app,
        upload(owner, "refund.zip", zipped(BUNDLES / "bizagi")),
        422,
        "Id_l0000000-0000-4000-8000-000000000002",
        "lane &#39;Back office&#39; is not in [lanes] of procedure.toml",
        "Id_t0000000-0000-4000-8000-000000000002",
        "user task has no form",
    )
    assert "Id_t0000000-0000-4000-8000-000000000001" not in text  # the task with its form is fine


def test_a_signavio_diagram_is_refused_naming_the_unsupported_gateway(app, owner):
    data = (BUNDLES / "signavio_complex_gateway.bpmn").read_bytes()
    refused(
        app,
        upload(owner, "Complaint triage.bpmn", data),
        422,
        "sid-C0FFEE00-0002-4C5D-8E9F-000000000002",
        "complex gateway is not supported by this engine",
    )


def test_one_diagram_replaces_its_namesake_and_keeps_the_other_diagrams_forms_and_config(
    app, owner, tmp_path
):
    """complaint.bpmn (the map) as another modeler saved it (a call activity renamed): a draft with
    v1's other diagrams (one per path), forms and config."""
    copy = tmp_path / "bpmn"
    shutil.copytree(BPMN, copy)
    diagram = (copy / "complaint.bpmn").read_text(encoding="utf-8")
    assert 'name="审核派单 Review and dispatch"' in diagram
    diagram = diagram.replace('name="审核派单 Review and dispatch"', 'name="审核派单 Review, dispatch"')
    response = upload(owner, "complaint.bpmn", diagram.encode())
    assert response.status_code == 302, response.get_data(as_text=True)
    [draft] = drafts.list_drafts(app.extensions["process_engine"])
    version_1 = load_bundle(BPMN)
    assert draft.bundle.files["complaint.bpmn"] == diagram.encode()
    assert {path: data for path, data in draft.bundle.files.items() if path != "complaint.bpmn"} == {
        path: data for path, data in version_1.files.items() if path != "complaint.bpmn"
    }


def test_a_foreign_diagram_in_place_of_the_map_is_refused_when_the_config_names_another_main_process(
    app, owner
):
    """The Camunda diagram uploaded as complaint.bpmn replaces the map: the procedure's config
    names main_process complaint, which no diagram defines any more, so it is refused."""
    refused(
        app,
        upload(owner, "complaint.bpmn", CAMUNDA.read_bytes()),
        422,
        "main_process",
        "complaint",
    )


def test_a_foreign_diagram_beside_the_bundle_is_refused_for_its_own_lanes_and_forms(app, owner):
    """Under a name of its own the Camunda diagram joins the version's diagrams (a new file of
    the set), and is refused for what it brings: a lane with no group, a form that is missing."""
    refused(
        app,
        upload(owner, "callback.bpmn", CAMUNDA.read_bytes()),
        422,
        "[<code>Lane_1fv0y9s</code>] lane &#39;Service desk&#39; is not in [lanes]",
        "form &#39;call.json&#39; is not in forms/",
    )


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        ("bizagi", ["[Id_l0000000-0000-4000-8000-000000000002] lane 'Back office'", "user task has no form"]),
        ("signavio_complex_gateway.bpmn", ["[sid-C0FFEE00-0002-4C5D-8E9F-000000000002] complex gateway"]),
    ],
)
def test_complaints_validate_names_the_element_and_never_shows_a_traceback(run, folder, expected):
    result = run("validate", str(BUNDLES / folder))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for part in expected:
        assert part in result.output


def test_complaints_validate_accepts_the_camunda_bundle(run):
    result = run("validate", str(BUNDLES / "camunda"))
    assert result.exit_code == 0, result.output
    assert "valid:" in result.output


# --------------------------------------------------------------------------- bad uploads


def camunda_text() -> str:
    return CAMUNDA.read_text(encoding="utf-8")


def test_malformed_xml_is_refused_with_its_line(app, owner):
    broken = camunda_text().replace("</bpmn:userTask>", "</bpmn:userTsk>", 1)
    refused(
        app, upload(owner, "callback.bpmn", broken.encode()), 422, "callback.bpmn:", "not well-formed XML"
    )


def test_an_external_entity_is_refused_and_never_read(app, owner):
    xxe = camunda_text().replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/passwd">]>',
    )
    xxe = xxe.replace('name="Call the customer"', 'name="&secret;"', 1)
    text = refused(app, upload(owner, "callback.bpmn", xxe.encode()), 422, "DOCTYPE and entity declarations")
    assert "root:" not in text


def test_entity_expansion_is_refused(app, owner):
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    bomb = '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY l0 "lol">' + laughs + "]>\n<d>&l9;</d>"
    refused(app, upload(owner, "bomb.bpmn", bomb.encode()), 422, "DOCTYPE and entity declarations")


def test_an_oversized_diagram_is_refused_before_it_is_parsed(app, owner):
    padding = "<!-- " + "x" * MAX_FILE_BYTES + " -->"
    big = camunda_text().replace("<bpmn:collaboration", padding + "<bpmn:collaboration", 1)
    refused(app, upload(owner, "callback.bpmn", big.encode()), 400, "callback.bpmn is larger than")


def test_an_oversized_zip_member_is_refused(app, owner):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("procedure.toml", 'main_process = "x"\n')
        archive.writestr("forms/huge.json", " " * (MAX_FILE_BYTES + 1))  # compresses to a few KiB
    refused(app, upload(owner, "bundle.zip", buffer.getvalue()), 400, "forms/huge.json", "bytes, more than")


def test_duplicate_ids_are_refused_naming_the_id(app, owner):
    duplicated = camunda_text().replace(
        'id="Event_0z8mc1h" name="Called back"', 'id="Activity_0v2c8ad" name="Called back"'
    )
    refused(
        app, upload(owner, "callback.zip", _with_diagram(duplicated)), 422, "Activity_0v2c8ad", "duplicate"
    )


def test_a_diagram_without_diagram_interchange_is_refused(app, owner):
    text = camunda_text()
    without_di = text[: text.index("<bpmndi:BPMNDiagram")] + "</bpmn:definitions>\n"
    refused(app, upload(owner, "callback.zip", _with_diagram(without_di)), 422, "no diagram")


def test_a_file_that_is_neither_diagram_nor_bundle_is_refused(app, owner):
    refused(app, upload(owner, "notes.txt", b"hello"), 400, "upload a .bpmn diagram or a .zip bundle")
    refused(app, upload(owner, "bundle.zip", b"PK\x03\x04 not really"), 400, "not a readable zip archive")


def test_no_file_at_all(app, owner):
    token = FORM_CSRF.search(owner.get("/modeler").get_data(as_text=True)).group(1)
    response = owner.post("/modeler/upload", data={"csrf_token": token})
    refused(app, response, 400, "choose a .bpmn diagram or a .zip bundle")


def _with_diagram(diagram: str) -> bytes:
    """The Camunda bundle, zipped, with its diagram replaced."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in load_bundle(BUNDLES / "camunda").files.items():
            archive.writestr(path, diagram.encode() if path.endswith(".bpmn") else data)
    return buffer.getvalue()


def test_an_upload_over_the_request_limit_gets_the_page_with_a_clear_error(app, owner):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024  # the same check as the 25 MiB default, smaller
    response = upload(owner, "bundle.zip", b"PK" + b"\0" * (65 * 1024))
    assert response.status_code == 303 and response.headers["Location"] == "/modeler"
    assert "file: the upload is larger than 65536 bytes" in owner.get("/modeler").get_data(as_text=True)
    assert stored(app) == (0, 1)
