"""Issue 10, item 4 in Chromium: the map with the current path, drill-down, zoom controls, heat per diagram.

Two kinds of test. On the real bundle (bpmn/), the test reads the version's own diagram list
(engine.diagram_index) and follows the call chain to the process drawing
``task_handle_order``: today the bundle is one flat diagram (nothing to drill into), once the
map and its paths land the same test clicks through the map. On the two-file fixture bundle
(tests/engine/bundles/paths) drill-down is exercised now, nested call included.

Window 1600 x 900, the size the issue names for legibility: a path opens at scale >= 0.6.
No sleeping: every wait is on an attribute the viewer sets when a view is drawn.
"""

from __future__ import annotations

import pytest

from engine.bundle import load_bundle
from engine.diagram_index import index_bundle
from tasks.clocks import ElementRollup
from tests.browser.conftest import ROOT
from tests.browser.test_browser_login import log_in
from tests.browser.test_browser_reports import closed_complaint
from tests.engine.support import PATHS
from tests.procedure import support

MIN_SCALE = 0.6
STEP = 1.25

VIEWBOX = """id => {
  const box = document.getElementById(id).bpmnViewer.get('canvas').viewbox();
  return {x: box.x, y: box.y, width: box.width, height: box.height, scale: box.scale,
          inner: {x: box.inner.x, y: box.inner.y, width: box.inner.width, height: box.inner.height}};
}"""
CENTRE = """([id, element]) => {
  const e = document.getElementById(id).bpmnViewer.get('elementRegistry').get(element);
  return {x: e.x + e.width / 2, y: e.y + e.height / 2};
}"""
CURRENT_PATH = "() => JSON.parse(document.getElementById('diagram-viewer').dataset.viewer).currentPath"
PAN = "id => document.getElementById(id).bpmnViewer.get('canvas').scroll({dx: 700, dy: -300})"


@pytest.fixture
def wide(browser):
    context = browser.new_context(locale="en-US", viewport={"width": 1600, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.errors = errors
    yield page
    context.close()


def viewbox(page, container="diagram"):
    return page.evaluate(VIEWBOX, container)


def assert_centred(page, element_id, container="diagram"):
    box = viewbox(page, container)
    centre = page.evaluate(CENTRE, [container, element_id])
    assert abs(box["x"] + box["width"] / 2 - centre["x"]) < 2, (box, centre)
    assert abs(box["y"] + box["height"] / 2 - centre["y"]) < 2, (box, centre)


def shown(page, scope, container="diagram", views=None):
    """Wait until the viewer shows the diagram of ``scope`` (call-activity ids joined by '/')."""
    page.wait_for_selector(f'#{container}[data-rendered="true"][data-scope="{scope}"]')
    if views is not None:
        page.wait_for_selector(f'#{container}[data-views="{views}"]')


def exercise_controls(page, element_id, container="diagram"):
    """Zoom in / out / fit / show current move the view by the numbers."""
    before = viewbox(page, container)
    page.click(f"#{container}-viewer [data-action='zoom-in']")
    zoomed_in = viewbox(page, container)
    assert zoomed_in["scale"] == pytest.approx(before["scale"] * STEP, rel=0.01)
    assert zoomed_in["width"] == pytest.approx(before["width"] / STEP, rel=0.01)
    page.click(f"#{container}-viewer [data-action='zoom-out']")
    page.click(f"#{container}-viewer [data-action='zoom-out']")
    zoomed_out = viewbox(page, container)
    assert zoomed_out["scale"] == pytest.approx(before["scale"] / STEP, rel=0.01)
    page.click(f"#{container}-viewer [data-action='fit']")
    fitted = viewbox(page, container)
    inner = fitted["inner"]
    assert fitted["scale"] <= 1
    for start, size in (("x", "width"), ("y", "height")):  # the whole drawing is in view
        assert fitted[start] <= inner[start] + 1
        assert fitted[start] + fitted[size] >= inner[start] + inner[size] - 1
    page.evaluate(PAN, container)
    assert viewbox(page, container)["x"] != fitted["x"]
    page.click(f"#{container}-viewer [data-action='current']")
    assert viewbox(page, container)["scale"] >= MIN_SCALE - 1e-3
    assert_centred(page, element_id, container)


def follow(page, chain, container="diagram"):
    """Click the call activities of ``chain`` one after the other, from the map down."""
    for depth, call in enumerate(chain):
        page.locator(f'#{container} .djs-element[data-element-id="{call}"]').click()
        shown(page, "/".join(chain[: depth + 1]), container)


# --------------------------------------------------------------------------- the real bundle


def test_a_complaint_in_handling_opens_on_the_map_and_drills_to_the_handling_task(wide, live_app, shoot):
    engine = live_app.extensions["process_engine"]
    instance_id = engine.start(actor="intake").instance_id
    support.complete(engine, instance_id, "task_record_complaint", support.record())
    support.complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    support.open_task(engine, instance_id, "task_handle_order")  # parked in handling
    index = index_bundle(load_bundle(ROOT / "bpmn").bpmn_files, "complaint")
    handling = index.process_of["task_handle_order"]

    base = live_app.config["BASE_URL"]
    log_in(wide, base, "supervisor")
    wide.goto(f"{base}/instances/{instance_id}")
    shown(wide, "")
    assert wide.get_attribute("#diagram-viewer", "data-diagrams") == str(len(index.diagrams))
    assert wide.get_attribute("#diagram", "data-warnings") == "0"
    assert wide.locator("#diagram-viewer .diagram-hint").is_visible() == (len(index.diagrams) > 1)
    chain = wide.evaluate(CURRENT_PATH)
    assert tuple(chain) in index.chains(handling), (chain, index.chains(handling))
    if chain:  # the map: the path being worked on is highlighted, and offered to keyboard users
        assert wide.locator(f'#diagram .djs-element.current[data-element-id="{chain[0]}"]').count() == 1
        assert wide.locator(f'.diagram-paths li.now button[data-call="{chain[0]}"]').count() == 1
        shoot("map", on=wide)
        follow(wide, chain)
        crumbs = wide.locator(".diagram-crumbs li").all_text_contents()
        assert crumbs[0] == index.diagrams[0].name and crumbs[-1] == index.diagram(handling).name
    assert wide.locator('#diagram .djs-element.current[data-element-id="task_handle_order"]').count() == 1
    assert viewbox(wide)["scale"] >= MIN_SCALE - 1e-3  # labels legible at first sight
    assert_centred(wide, "task_handle_order")
    shoot("handling", on=wide)
    exercise_controls(wide, "task_handle_order")
    if chain:
        wide.locator(".diagram-crumbs button[data-depth='0']").click()
        shown(wide, "")
    assert wide.errors == []


def test_the_heat_map_shows_each_diagram_with_its_own_elements(wide, live_app, clock, shoot):
    engine = live_app.extensions["process_engine"]
    closed_complaint(engine, clock)
    index = index_bundle(load_bundle(ROOT / "bpmn").bpmn_files, "complaint")
    handling = index.process_of["task_handle_order"]
    base = live_app.config["BASE_URL"]
    log_in(wide, base, "supervisor")
    wide.goto(f"{base}/reports")
    shown(wide, "", "heat-diagram")
    options = wide.locator("#heat-diagram-viewer .diagram-picker option")
    assert options.evaluate_all("os => os.map(o => o.value)") == [d.process_id for d in index.diagrams]
    if len(index.diagrams) > 1:
        wide.select_option("#heat-diagram-viewer .diagram-picker", handling)
        wide.wait_for_selector(f'#heat-diagram[data-process="{handling}"]')
    badge = wide.locator(".heat-badge[data-element='task_handle_order']")
    assert badge.count() == 1
    placed = int(wide.get_attribute("#heat-diagram", "data-overlays"))
    drawn_here = [e for e, process in index.process_of.items() if process == handling]
    assert 1 <= placed <= len(drawn_here)
    shoot("heat-handling", on=wide)
    exercise_controls(wide, slowest_on(wide), "heat-diagram")
    assert wide.errors == []


def badges_on(page) -> list[str]:
    return page.locator("#heat-diagram .heat-badge").evaluate_all("bs => bs.map(b => b.dataset.element)")


def slowest_on(page) -> str:
    """The element "show the slowest" centres on: the most minutes x tasks of the shown diagram."""
    return page.evaluate(
        """() => {
          const weights = [...document.querySelectorAll('#heat-diagram .heat-badge')].map(b => {
            const [minutes, tasks] = b.firstChild.textContent.split(' min × ').map(parseFloat);
            return [b.dataset.element, minutes * tasks];
          });
          weights.sort((a, b) => b[1] - a[1]);
          return weights[0][0];
        }"""
    )


# --------------------------------------------------------------------------- the two-file fixture


@pytest.fixture
def paths_version(live_app):
    """The fixture bundle deployed over the procedure: the newest version, so the default."""
    engine = live_app.extensions["process_engine"]
    return engine.deploy(load_bundle(PATHS), actor="admin").version


def test_drill_down_from_the_map_into_a_path_and_a_nested_call_and_back(wide, live_app, paths_version, shoot):
    engine = live_app.extensions["process_engine"]
    started = engine.start(actor="intake", version=paths_version)
    [receive] = started.opened_task_ids
    engine.complete_task(receive, actor="intake", data={})
    base = live_app.config["BASE_URL"]
    log_in(wide, base, "supervisor")
    wide.goto(f"{base}/instances/{started.instance_id}")
    shown(wide, "")
    assert wide.locator('#diagram .djs-element.current[data-element-id="call_path"]').count() == 1
    assert wide.locator('#diagram .djs-element.done[data-element-id="task_receive"]').count() == 1
    assert wide.locator(".diagram-crumbs li").all_text_contents() == ["Map of the request"]
    assert wide.locator("#diagram-viewer .diagram-hint").is_visible()
    assert wide.locator(".diagram-paths button").all_text_contents() == [
        "Open path: The path",
        "Open path: A last check",
    ]

    wide.locator('#diagram .djs-element[data-element-id="call_path"]').click()  # a click on the map
    shown(wide, "call_path")
    assert wide.locator('#diagram .djs-element.current[data-element-id="task_handle"]').count() == 1
    assert viewbox(wide)["scale"] >= MIN_SCALE - 1e-3
    assert_centred(wide, "task_handle")
    assert wide.locator(".diagram-crumbs li").all_text_contents() == ["Map of the request", "The path"]
    shoot("path", on=wide)
    exercise_controls(wide, "task_handle")

    wide.locator(".diagram-crumbs button[data-depth='0']").click()  # the breadcrumb back to the map
    shown(wide, "")
    wide.locator('.diagram-paths button[data-call="call_path"]').focus()  # the keyboard way in
    wide.keyboard.press("Enter")
    shown(wide, "call_path")

    [handle] = engine.open_tasks(started.instance_id)
    engine.complete_task(handle.id, actor="intake", data={})  # now in call_path -> call_inner
    wide.reload()
    shown(wide, "")
    follow(wide, ["call_path", "call_inner"])
    assert wide.locator('#diagram .djs-element.current[data-element-id="task_inner"]').count() == 1
    assert_centred(wide, "task_inner")
    crumbs = wide.locator(".diagram-crumbs li").all_text_contents()
    assert crumbs == ["Map of the request", "The path", "The inner check"]
    wide.locator(".diagram-crumbs button[data-depth='1']").click()
    shown(wide, "call_path")
    assert wide.locator('#diagram .djs-element.done[data-element-id="task_handle"]').count() == 1
    assert wide.locator('#diagram .djs-element.current[data-element-id="call_inner"]').count() == 1
    wide.locator(".diagram-crumbs button[data-depth='0']").click()
    shown(wide, "")
    follow(wide, ["call_check"])  # the same process called from the map: not run there yet
    assert wide.locator("#diagram .djs-element.current, #diagram .djs-element.done").count() == 0
    assert wide.errors == []


def test_the_heat_map_picker_switches_diagrams_and_each_shows_its_own_badges(
    wide, live_app, paths_version, clock, shoot
):
    engine = live_app.extensions["process_engine"]
    day = clock.now().date().isoformat()
    with engine.writer() as session, session.begin():
        for element_id, seconds in (("task_receive", 600.0), ("task_handle", 7200.0), ("task_inner", 1800.0)):
            session.add(ElementRollup(period=day, element_id=element_id, tasks=2, seconds=seconds, late=0))
    base = live_app.config["BASE_URL"]
    log_in(wide, base, "supervisor")
    wide.goto(f"{base}/reports")
    shown(wide, "", "heat-diagram")
    picker = "#heat-diagram-viewer .diagram-picker"
    assert wide.locator(f"{picker} option").all_text_contents() == [
        "Map: Map of the request",
        "The path",
        "The inner check",
    ]
    # a call activity shows the sum of the process it calls (the map reads at the level of paths)
    assert sorted(badges_on(wide)) == ["call_check", "call_path", "task_receive"]
    for process, elements, scope in (
        ("path_process", ["call_inner", "task_handle"], "call_path"),
        ("inner_process", ["task_inner"], "call_check"),
    ):
        wide.select_option(picker, process)
        shown(wide, scope, "heat-diagram")
        assert sorted(badges_on(wide)) == elements
        assert wide.get_attribute("#heat-diagram", "data-overlays") == str(len(elements))
    shoot("heat-inner", on=wide)
    exercise_controls(wide, "task_inner", "heat-diagram")
    wide.select_option(picker, "map_process")
    shown(wide, "", "heat-diagram")
    wide.locator('#heat-diagram .djs-element[data-element-id="call_path"]').click()  # drill here too
    shown(wide, "call_path", "heat-diagram")
    assert wide.input_value(picker) == "path_process"
    assert wide.errors == []
