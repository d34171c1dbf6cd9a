"""What changed between two deployed versions: elements, forms and config keys.

Read from what a deployment stores (the specs as SpiffWorkflow serialized them, and the
bundle's files), so it needs no parsing and works for any two versions, in either
direction. Elements are the BPMN elements of every process (by process id and element
id); SpiffWorkflow's internal helper specs (start/end joins, boundary splits) are not
elements and are left out. A changed element names the aspects that changed, so an
admin sees "timer" or "form" rather than a raw dict comparison:

``type``, ``name``, ``documentation``, ``properties``, ``form``, ``timer`` (a timer
expression), ``event`` (another event definition), ``conditions`` (outgoing flow
conditions and defaults), ``scripts`` (script, pre- and post-script), ``lane``,
``operator`` (service operation, parameters, result variable), ``flows`` (incoming
and outgoing connections), ``called process``, and ``other`` for anything else.

Diagram code is what an admin must read before deploying (it runs on the server, if
sandboxed): every changed expression, condition and script of an element, and all the
code of an added element, is listed in ``ElementChange.code`` with its old and new text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.bundle import bundle_from_zip
from engine.deployments import bundle_config
from engine.errors import NotFound
from engine.models import Deployment
from engine.property_names import ASSIGNEE, CANDIDATE_GROUP, FORM, PRIORITY
from engine.store import Store


@dataclass(frozen=True)
class CodeChange:
    """One expression, condition or script of an element as it was and as it is (None: none)."""

    what: str  # "timer expression", "condition to task_x", "post-script", "parameter due"...
    old: str | None
    new: str | None

    def __str__(self) -> str:
        def shown(text: str | None) -> str:
            return "(none)" if text is None else repr(text)

        return f"{self.what}: {shown(self.old)} -> {shown(self.new)}"


@dataclass(frozen=True)
class ElementChange:
    process_id: str
    element_id: str
    change: str  # "added" | "removed" | "changed"
    kind: str  # the element's type in the newer version (the older one when removed)
    name: str | None
    aspects: tuple[str, ...] = ()
    code: tuple[CodeChange, ...] = ()

    def __str__(self) -> str:
        what = f" ({', '.join(self.aspects)})" if self.aspects else ""
        return f"{self.change} {self.kind} {self.process_id}/{self.element_id}{what}"

    def lines(self) -> list[str]:
        """The change, then each changed piece of code indented under it."""
        return [str(self), *(f"    {code}" for code in self.code)]


@dataclass(frozen=True)
class KeyChange:
    """A form (by file name) or a config key (dotted path) added, removed or changed."""

    key: str
    change: str
    old: Any = None
    new: Any = None

    def __str__(self) -> str:
        if self.change == "changed" and not isinstance(self.old, dict):
            return f"changed {self.key}: {self.old!r} -> {self.new!r}"
        return f"{self.change} {self.key}"


@dataclass(frozen=True)
class VersionDiff:
    from_version: int
    to_version: int
    elements: list[ElementChange] = field(default_factory=list)
    forms: list[KeyChange] = field(default_factory=list)
    config: list[KeyChange] = field(default_factory=list)
    processes_added: list[str] = field(default_factory=list)
    processes_removed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.elements or self.forms or self.config or self.processes_added or self.processes_removed
        )

    def lines(self) -> list[str]:
        """The diff as plain lines, for the CLI and the audit log."""
        found = [f"added process {name}" for name in self.processes_added]
        found += [f"removed process {name}" for name in self.processes_removed]
        found += [line for change in self.elements for line in change.lines()]
        found += [f"{change.change} form {change.key}" for change in self.forms]
        found += [f"config: {change}" for change in self.config]
        return found


@dataclass(frozen=True)
class VersionContent:
    """What the diff compares: process specs (SpiffWorkflow dicts), forms and config."""

    version: int
    specs: Mapping[str, Mapping[str, Any]]
    forms: Mapping[str, Any]
    config: Mapping[str, Any]


def version_content(deployment: Deployment) -> VersionContent:
    bundle = bundle_from_zip(deployment.bundle_zip)
    forms = {}
    for name, data in bundle.form_files.items():
        try:
            forms[name] = json.loads(data)
        except ValueError:  # compared as text when not JSON
            forms[name] = data.decode("utf-8", "replace")
    return VersionContent(
        version=deployment.version,
        specs=json.loads(deployment.specs_json),
        forms=forms,
        config=bundle_config(bundle),
    )


def diff_deployed(session: Session, from_version: int, to_version: int) -> VersionDiff:
    """The diff between two deployed versions; NotFound names a missing one."""
    contents = []
    for version in (from_version, to_version):
        deployment = session.scalar(select(Deployment).where(Deployment.version == version))
        if deployment is None:
            raise NotFound(f"no version {version}")
        contents.append(version_content(deployment))
    return diff_versions(*contents)


def diff_versions(old: VersionContent, new: VersionContent) -> VersionDiff:
    diff = VersionDiff(old.version, new.version)
    diff.processes_added.extend(sorted(set(new.specs) - set(old.specs)))
    diff.processes_removed.extend(sorted(set(old.specs) - set(new.specs)))
    for process_id in sorted(set(old.specs) | set(new.specs)):
        diff.elements.extend(
            _element_changes(process_id, old.specs.get(process_id), new.specs.get(process_id))
        )
    diff.forms.extend(_key_changes(old.forms, new.forms))
    diff.config.extend(_key_changes(_flatten(old.config), _flatten(new.config)))
    return diff


# --------------------------------------------------------------------------- the default version


@dataclass(frozen=True)
class VersionInfo:
    version: int
    content_hash: str
    main_process: str
    deployed_at: Any
    deployed_by: str
    default: bool


def list_versions(engine) -> list[VersionInfo]:
    """Every deployed version, newest first, marking the one new instances start on."""
    with engine.reader() as session:
        deployments = list(session.scalars(select(Deployment).order_by(Deployment.version.desc())))
    default = default_version(engine)
    return [
        VersionInfo(
            d.version, d.content_hash, d.main_process, d.deployed_at, d.deployed_by, d.version == default
        )
        for d in deployments
    ]


def default_version(engine) -> int | None:
    """The version ``start`` uses when given none (see ``Store.deployment``); None: nothing deployed."""
    row = engine.default_deployment()
    return row.version if row is not None else None


def choose_default(engine, version: int, *, actor: str) -> int | None:
    """Make ``version`` the one new instances start on (a rollback, or back to the newest).

    The choice holds until an admin chooses again or a newer version is deployed.
    Running instances are not touched: moving them is ``engine.migration_apply``'s job.
    Returns the previous default; audited as ``default_version``.
    """
    now = engine.clock.now()
    with engine.writer.kw["bind"].connect() as connection, connection.begin():
        store = Store(connection)
        chosen = store.deployment(version)
        if chosen is None:
            raise NotFound(f"no version {version}")
        previous = store.deployment(None)
        store.choose_default(chosen.id, now, actor)
        audit.append(
            store,
            at=now,
            actor=actor,
            command="default_version",
            instance_id=None,
            detail={"version": version, "previous": previous.version if previous else None},
        )
    return previous.version if previous else None


# --------------------------------------------------------------------------- elements


def _elements(spec: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    if spec is None:
        return {}
    return {
        task["bpmn_id"]: task
        for task in spec.get("task_specs", {}).values()
        if task.get("bpmn_id") is not None
    }


def _element_changes(process_id: str, old_spec, new_spec) -> list[ElementChange]:
    old, new = _elements(old_spec), _elements(new_spec)
    old_names = _bpmn_names(old_spec)
    new_names = _bpmn_names(new_spec)
    changes = []
    for element_id in sorted(set(old) | set(new)):
        before, after = old.get(element_id), new.get(element_id)
        if before is None:
            code = _code_changes({}, _code_of(after, new_names))
            changes.append(_change(process_id, element_id, "added", after, code=code))
        elif after is None:
            changes.append(_change(process_id, element_id, "removed", before))
        else:
            aspects = _changed_aspects(before, after, old_names, new_names)
            if aspects:
                code = _code_changes(_code_of(before, old_names), _code_of(after, new_names))
                changes.append(_change(process_id, element_id, "changed", after, aspects, code))
    return changes


def _change(process_id, element_id, change, task, aspects=(), code=()) -> ElementChange:
    return ElementChange(
        process_id,
        element_id,
        change,
        task.get("typename", "?"),
        task.get("bpmn_name"),
        tuple(aspects),
        tuple(code),
    )


_SCRIPT_KEYS = {"script": "script", "prescript": "pre-script", "postscript": "post-script"}
_MULTI_INSTANCE_KEYS = {
    "cardinality": "loop cardinality",
    "condition": "completion condition",
    "completion_condition": "completion condition",
}
_EXPRESSION_PROPERTIES = (PRIORITY, CANDIDATE_GROUP, ASSIGNEE)


def _code_of(task: Mapping[str, Any], bpmn_names: Mapping[str, str]) -> dict[str, str]:
    """Every piece of Python in one element's spec dict, by what an author would call it."""
    found: dict[str, str] = {}
    for key, what in (*_SCRIPT_KEYS.items(), *_MULTI_INSTANCE_KEYS.items()):
        if isinstance(task.get(key), str):
            found[what] = task[key]
    for item in task.get("cond_task_specs") or ():
        if item.get("condition"):
            target = bpmn_names.get(item["task_spec"], item["task_spec"])
            found[f"condition to {target}"] = item["condition"]
    for name, param in (task.get("operation_params") or {}).items():
        if isinstance(param, Mapping) and isinstance(param.get("value"), str):
            found[f"parameter {name}"] = param["value"]
    properties = (task.get("extensions") or {}).get("properties") or {}
    for name in _EXPRESSION_PROPERTIES:
        if isinstance(properties.get(name), str):
            found[f"{name} property"] = properties[name]
    event = task.get("event_definition") or {}
    if isinstance(event.get("expression"), str):
        typename = str(event.get("typename"))
        if _is_timer(typename):
            found["timer expression"] = event["expression"]
        elif "Conditional" in typename:
            found["event condition"] = event["expression"]
        else:
            found["event expression"] = event["expression"]
    for prop in event.get("correlation_properties") or ():
        if isinstance(prop, Mapping) and isinstance(prop.get("retrieval_expression"), str):
            found[f"correlation {prop.get('name')}"] = prop["retrieval_expression"]
    return found


def _code_changes(old: Mapping[str, str], new: Mapping[str, str]) -> list[CodeChange]:
    return [
        CodeChange(what, old.get(what), new.get(what))
        for what in sorted(set(old) | set(new))
        if old.get(what) != new.get(what)
    ]


def _is_timer(typename: str) -> bool:
    # TimeDateEventDefinition, DurationTimerEventDefinition, CycleTimerEventDefinition.
    return "Time" in typename


def _bpmn_names(spec) -> dict[str, str]:
    """Internal spec name -> the BPMN element it stands for (a boundary split -> its task)."""
    if spec is None:
        return {}
    names = {}
    for name, task in spec.get("task_specs", {}).items():
        names[name] = task.get("bpmn_id") or name.split(".")[0]
    return names


_KNOWN_KEYS = {
    # aspect -> the spec-dict keys it covers
    "type": ("typename", "description"),
    "name": ("bpmn_name",),
    "documentation": ("documentation",),
    "lane": ("lane",),
    "scripts": ("script", "prescript", "postscript"),
    "operator": ("operation_name", "operation_params", "result_variable"),
    "conditions": ("cond_task_specs", "default_task_spec", "choice"),
    "called process": ("spec",),
    "flows": ("inputs", "outputs"),
}
_IGNORED_KEYS = {"name", "bpmn_id", "extensions", "event_definition", "lookahead", "manual"}


def _changed_aspects(before, after, old_names, new_names) -> list[str]:
    if before.get("typename") != after.get("typename"):
        return ["type"]
    aspects = []
    for aspect, keys in _KNOWN_KEYS.items():
        if aspect == "flows":
            differs = any(
                _connections(before.get(key), old_names) != _connections(after.get(key), new_names)
                for key in keys
            )
        elif aspect == "conditions":
            differs = _conditions(before, old_names) != _conditions(after, new_names)
        else:
            differs = any(before.get(key) != after.get(key) for key in keys)
        if differs:
            aspects.append(aspect)
    old_ext, new_ext = before.get("extensions") or {}, after.get("extensions") or {}
    old_props, new_props = dict(old_ext.get("properties") or {}), dict(new_ext.get("properties") or {})
    if old_props.pop(FORM, None) != new_props.pop(FORM, None):
        aspects.append("form")
    if old_props != new_props:
        aspects.append("properties")
    old_event, new_event = before.get("event_definition"), after.get("event_definition")
    if old_event != new_event:
        timer = _is_timer(str((old_event or {}).get("typename")) + str((new_event or {}).get("typename")))
        aspects.append("timer" if timer else "event")
    other_ext = {key for key in set(old_ext) | set(new_ext) if old_ext.get(key) != new_ext.get(key)}
    other_ext -= {"properties", "preScript", "postScript", "serviceTaskOperator"}
    covered = {key for keys in _KNOWN_KEYS.values() for key in keys} | _IGNORED_KEYS
    other = {
        key for key in set(before) | set(after) if key not in covered and before.get(key) != after.get(key)
    }
    if other or other_ext or before.get("manual") != after.get("manual"):
        aspects.append("other")
    return aspects


def _connections(names: Iterable[str] | None, bpmn_names: Mapping[str, str]) -> set[str]:
    return {bpmn_names.get(name, name) for name in names or ()}


def _conditions(task, bpmn_names) -> tuple:
    conditions = sorted(
        (bpmn_names.get(item["task_spec"], item["task_spec"]), item.get("condition") or "")
        for item in task.get("cond_task_specs") or ()
    )
    default = task.get("default_task_spec")
    return tuple(conditions), bpmn_names.get(default, default), task.get("choice")


# --------------------------------------------------------------------------- forms and config


def _key_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[KeyChange]:
    changes = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            changes.append(KeyChange(key, "added", None, new[key]))
        elif key not in new:
            changes.append(KeyChange(key, "removed", old[key], None))
        elif old[key] != new[key]:
            changes.append(KeyChange(key, "changed", old[key], new[key]))
    return changes


def _flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"calendars": {"office": {"timezone": ...}}}`` -> ``{"calendars.office.timezone": ...}``.

    Keys are quoted when they hold a dot or a space (lane names often do), as TOML would.
    """
    flat: dict[str, Any] = {}
    for key, value in config.items():
        part = key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key, ensure_ascii=False)
        path = f"{prefix}{part}"
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, path + "."))
        else:
            flat[path] = value
    return flat
