// The draft editor: bpmn-js Modeler, a side panel for the properties the engine reads, the forms
// and procedure.toml beside it, and the server's validation problems pinned to their elements.
//
// Our extension elements (spiffworkflow:properties, serviceTaskOperator, preScript...) are kept as
// bpmn-moddle's generic elements rather than declared in a moddle descriptor: generic elements
// round-trip whatever a diagram holds, including spiffworkflow elements this page does not know,
// so editing one property can never drop another.
(function () {
  "use strict";

  var SPIFF_URI = "http://spiffworkflow.org/bpmn/schema/1.0/core";
  var TIMER_KINDS = ["timeDate", "timeDuration", "timeCycle"];

  function localName(type) { return String(type || "").split(":").pop(); }

  function el(id) { return document.getElementById(id); }

  function start() {
    var root = el("modeler");
    if (!root || typeof BpmnJS === "undefined") { return; }
    var state = { files: {}, diagram: null, revision: null, dirty: false, problems: [], editable: false,
                  current: null, filling: false, validators: [], operations: [], clocks: [], figureKeys: [] };
    // The property names, from engine/property_names.py (the bundle JSON): defined once, in Python.
    var names = { MODELER_EDITED: [] };
    var modeler = new BpmnJS({ container: el("canvas") });
    var moddle = modeler.get("moddle");
    var modeling = modeler.get("modeling");
    var canvas = modeler.get("canvas");
    var overlays = modeler.get("overlays");
    var registry = modeler.get("elementRegistry");
    var selection = modeler.get("selection");

    function setState(text, kind) {
      var node = el("save-state");
      node.textContent = text;
      node.className = kind || "";
    }

    // ------------------------------------------------------------------ lint while drawing

    // bpmnlint with the project's rules (web/static/src/lint-rules.js; the server runs the same
    // rules, engine/lint.py, at save): marked on the canvas as the owner draws, before any save.
    var lintTimer = null;

    function lintSoon() {
      window.clearTimeout(lintTimer);
      lintTimer = window.setTimeout(runLint, 250);
    }

    function runLint() {
      if (typeof ComplaintsLint === "undefined" || !state.diagram) { return Promise.resolve(); }
      var words = {};
      try { words = JSON.parse(el("editor-words").textContent); } catch (error) { words = {}; }
      return ComplaintsLint.lint(modeler.getDefinitions()).then(function (found) {
        overlays.remove({ type: "lint" });
        registry.getAll().forEach(function (element) { canvas.removeMarker(element.id, "has-lint"); });
        var list = el("lint-list");
        list.textContent = "";
        found.forEach(function (item) {
          var name = words["rule_" + item.rule] || item.rule;
          var entry = document.createElement("li");
          entry.dataset.elementId = item.id;
          entry.dataset.rule = item.rule;
          entry.tabIndex = 0;
          entry.textContent = "[" + item.id + "] " + name + ": " + item.message;
          entry.addEventListener("click", function () { focus(registry.get(item.id)); });
          list.appendChild(entry);
          if (!registry.get(item.id)) { return; }
          canvas.addMarker(item.id, "has-lint");
          var badge = document.createElement("div");
          badge.className = "lint-badge";
          badge.title = name + ": " + item.message;
          badge.textContent = "?";
          badge.dataset.elementId = item.id;
          badge.dataset.rule = item.rule;
          overlays.add(item.id, "lint", { position: { top: -10, left: -10 }, html: badge });
        });
        root.dataset.lint = String(found.length);
      });
    }

    function markDirty() {
      lintSoon();
      if (state.filling) { return; }
      state.dirty = true;
      root.dataset.dirty = "true";
      setState(root.dataset.textUnsaved, "muted");
    }

    // ------------------------------------------------------------------ files

    function diagramNames() {
      return Object.keys(state.files).filter(function (p) { return /\.bpmn$/.test(p); }).sort();
    }

    function formNames() {
      return Object.keys(state.files).filter(function (p) { return p.indexOf("forms/") === 0; })
        .map(function (p) { return p.slice(6); }).sort();
    }

    function fillSelect(select, values, chosen, blank) {
      select.textContent = "";
      if (blank) { select.appendChild(new Option("—", "")); }
      values.forEach(function (value) { select.appendChild(new Option(value, value, false, value === chosen)); });
      if (chosen && values.indexOf(chosen) < 0) { select.appendChild(new Option(chosen + " (?)", chosen, false, true)); }
    }

    function keepDiagram() {
      if (!state.diagram) { return Promise.resolve(); }
      return modeler.saveXML({ format: true }).then(function (result) { state.files[state.diagram] = result.xml; });
    }

    function openDiagram(name) {
      return keepDiagram().then(function () {
        state.diagram = name;
        el("diagram-file").value = name;
        return modeler.importXML(state.files[name]);
      }).then(function (result) {
        root.dataset.warnings = String(result.warnings.length);
        openReadable();
        listElements();
        showPanel(null);
        pinProblems();
        return runLint();
      }).then(function () {
        root.dataset.diagram = name;
      });
    }

    function showForm(name) {
      el("form-text").value = name ? state.files["forms/" + name] : "";
      el("form-file").value = name || "";
      root.dispatchEvent(new CustomEvent("modeler:form", { detail: { name: name || "" } }));
    }

    // ------------------------------------------------------------------ tabs, advanced switch

    // With the switch off (the default) no raw JSON or TOML is on the page: the owner edits
    // settings, forms and calendars as forms; the text boxes are for the rare case.
    function setAdvanced(on) {
      el("advanced").checked = on;
      Array.prototype.forEach.call(document.querySelectorAll("#editor-tabs .advanced"), function (node) {
        node.hidden = !on;
      });
    }

    function showTab(name) {
      Array.prototype.forEach.call(document.querySelectorAll("#editor-tabs [role=tab]"), function (tab) {
        tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
      });
      Array.prototype.forEach.call(document.querySelectorAll("#editor-tabs [role=tabpanel]"), function (panel) {
        panel.hidden = panel.dataset.tab !== name;
      });
      root.dispatchEvent(new CustomEvent("modeler:tab", { detail: { name: name } }));
    }

    Array.prototype.forEach.call(document.querySelectorAll("#editor-tabs [role=tab]"), function (tab) {
      tab.addEventListener("click", function () { showTab(tab.dataset.tab); });
    });
    el("advanced").addEventListener("change", function (event) {
      setAdvanced(event.target.checked);
      if (state.current) { showPanel(state.current); }
    });
    // The settings tab reads the config: its clocks, figure keys and groups are the panel's choices.
    root.addEventListener("modeler:settings", function (event) {
      var settings = event.detail;
      state.clocks = settings.clocks || [];
      state.figureKeys = settings.figure_keys || [];
      var groups = el("group-names");
      groups.textContent = "";
      var seen = {};
      settings.departments.concat(settings.lanes).forEach(function (item) {
        if (item.group && !seen[item.group]) { seen[item.group] = true; groups.appendChild(new Option(item.group, item.group)); }
      });
      if (state.current) { showPanel(state.current); }
    });

    // ------------------------------------------------------------------ extension elements

    function extensionValues(bo, create) {
      if (!bo.extensionElements) {
        if (!create) { return []; }
        bo.extensionElements = moddle.create("bpmn:ExtensionElements", { values: [] });
        bo.extensionElements.$parent = bo;
      }
      if (!bo.extensionElements.values) { bo.extensionElements.values = []; }
      return bo.extensionElements.values;
    }

    function extension(bo, name, create) {
      var values = extensionValues(bo, create);
      var found = values.filter(function (v) { return localName(v.$type) === name; })[0];
      if (!found && create) {
        found = moddle.createAny("spiffworkflow:" + name, SPIFF_URI, {});
        found.$parent = bo.extensionElements;
        values.push(found);
      }
      return found;
    }

    function propertyOf(bo, name) {
      var props = extension(bo, "properties", false);
      var found = ((props && props.$children) || []).filter(function (c) { return c.name === name; })[0];
      return found ? found.value : "";
    }

    function setProperty(bo, name, value) {
      var props = extension(bo, "properties", !!value);
      if (!props) { return; }
      props.$children = props.$children || [];
      var found = props.$children.filter(function (c) { return c.name === name; })[0];
      if (!value) {
        props.$children = props.$children.filter(function (c) { return c !== found; });
      } else if (found) {
        found.value = value;
      } else {
        var created = moddle.createAny("spiffworkflow:property", SPIFF_URI, { name: name, value: value });
        created.$parent = props;
        props.$children.push(created);
      }
    }

    function timerOf(bo) {
      return (bo.eventDefinitions || []).filter(function (d) { return d.$instanceOf("bpmn:TimerEventDefinition"); })[0];
    }

    function expression(body) { return moddle.create("bpmn:FormalExpression", { body: body }); }

    // ------------------------------------------------------------------ the side panel

    function kindsOf(bo) {
      var kinds = ["any"];
      if (bo.$instanceOf("bpmn:UserTask")) { kinds.push("user"); }
      if (bo.$instanceOf("bpmn:ServiceTask")) { kinds.push("service"); }
      if (bo.$instanceOf("bpmn:ScriptTask")) { kinds.push("script"); }
      if (bo.$instanceOf("bpmn:SequenceFlow")) { kinds.push("flow"); }
      if (bo.$instanceOf("bpmn:Lane")) { kinds.push("lane"); }
      if (bo.$instanceOf("bpmn:Activity")) { kinds.push("task"); }
      if (timerOf(bo)) { kinds.push("timer"); }
      return kinds;
    }

    function laneGroup(name) {
      var config = state.files["procedure.toml"] || "";
      var section = /^\[lanes\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(config);
      if (!section) { return ""; }
      var lines = section[1].split("\n");
      for (var i = 0; i < lines.length; i += 1) {
        var match = /^\s*"((?:[^"\\]|\\.)*)"\s*=\s*"([^"]*)"/.exec(lines[i]);
        if (match && match[1] === name) { return match[2]; }
      }
      return "";
    }

    // The lane's line in [lanes]: replaced when there, added (with the table if need be) when not.
    function setLaneGroup(name, group) {
      var config = state.files["procedure.toml"] || "";
      var key = JSON.stringify(name);
      var line = key + " = " + JSON.stringify(group);
      var lines = config.split("\n");
      var start = lines.findIndex(function (l) { return /^\s*\[lanes\]\s*(#.*)?$/.test(l); });
      if (start < 0) {
        config = config.replace(/\n*$/, "\n\n[lanes]\n" + line + "\n");
      } else {
        var end = start + 1;
        while (end < lines.length && !/^\s*\[/.test(lines[end])) { end += 1; }
        var found = -1;
        for (var i = start + 1; i < end; i += 1) {
          var match = /^\s*"((?:[^"\\]|\\.)*)"\s*=/.exec(lines[i]);
          if (match && match[1] === name) { found = i; }
        }
        if (found >= 0) {
          var comment = /"\s*(#.*)$/.exec(lines[found]);
          lines[found] = line + (comment ? "  " + comment[1] : "");
        } else {
          var last = end;
          while (last > start + 1 && !lines[last - 1].trim()) { last -= 1; }
          lines.splice(last, 0, line);
        }
        config = lines.join("\n");
      }
      state.files["procedure.toml"] = config;
      el("config").value = config;
    }


    function showOtherProperties(bo) {
      var box = el("prop-others");
      box.textContent = "";
      var props = extension(bo, "properties", false);
      ((props && props.$children) || []).forEach(function (child) {
        if (names.MODELER_EDITED.indexOf(child.name) >= 0) { return; }
        var label = document.createElement("label");
        label.className = "property";
        label.textContent = child.name + " ";
        var input = document.createElement("input");
        input.type = "text";
        input.value = child.value || "";
        input.dataset.property = child.name;
        input.addEventListener("input", function () {
          setProperty(bo, child.name, input.value);
          markDirty();
        });
        label.appendChild(input);
        box.appendChild(label);
      });
    }

    el("add-prop").addEventListener("click", function () {
      var name = el("new-prop-name").value.trim();
      if (!state.current || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) { return; }
      setProperty(state.current.businessObject, name, el("new-prop-value").value);
      el("new-prop-name").value = el("new-prop-value").value = "";
      showOtherProperties(state.current.businessObject);
      markDirty();
    });

    function showPanel(element) {
      state.current = element;
      var fields = el("panel-fields");
      if (!element || element.type === "bpmn:Process" || element.type === "bpmn:Collaboration") {
        fields.hidden = true;
        el("panel-empty").textContent = root.dataset.textNone;
        return;
      }
      state.filling = true;
      var bo = element.businessObject;
      var kinds = kindsOf(bo);
      fields.hidden = false;
      el("panel-empty").textContent = "";
      el("prop-id").textContent = bo.id;
      el("prop-type").textContent = localName(bo.$type);
      el("prop-name").value = bo.name || "";
      el("prop-doc").value = (bo.documentation && bo.documentation[0] && bo.documentation[0].text) || "";
      Array.prototype.forEach.call(fields.querySelectorAll("[data-for]"), function (node) {
        node.hidden = kinds.indexOf(node.dataset.for) < 0;
      });
      if (kinds.indexOf("user") >= 0) {
        fillSelect(el("prop-form"), formNames(), propertyOf(bo, names.FORM), true);
        fillSelect(el("prop-validator"), state.validators, propertyOf(bo, names.VALIDATOR), true);
      }
      if (kinds.indexOf("service") >= 0) {
        var operator = extension(bo, "serviceTaskOperator", false);
        fillSelect(el("prop-operation"), state.operations, (operator && operator.id) || "", true);
        el("prop-result").value = (operator && operator.resultVariable) || "";
      }
      if (kinds.indexOf("timer") >= 0) {
        var timer = timerOf(bo);
        var kind = TIMER_KINDS.filter(function (k) { return timer[k]; })[0] || "timeDuration";
        el("prop-timer-kind").value = kind;
        el("prop-timer").value = (timer[kind] && timer[kind].body) || "";
        var clock = propertyOf(bo, names.CLOCK);
        fillSelect(el("prop-clock"), state.clocks, clock, true);
        fillSelect(el("prop-figure"), state.figureKeys, propertyOf(bo, names.FIGURE), true);
        // A deadline's duration comes from its figure: the Python expression is for the advanced switch.
        Array.prototype.forEach.call(fields.querySelectorAll(".timer-expression"), function (node) {
          node.hidden = !!clock && !el("advanced").checked;
        });
      }
      if (kinds.indexOf("flow") >= 0) {
        el("prop-condition").value = (bo.conditionExpression && bo.conditionExpression.body) || "";
      }
      if (kinds.indexOf("script") >= 0) { el("prop-script").value = bo.script || ""; }
      if (kinds.indexOf("lane") >= 0) { el("prop-group").value = laneGroup(bo.name || ""); }
      if (kinds.indexOf("task") >= 0) { showOtherProperties(bo); }
      state.filling = false;
    }

    function onField(id, apply) {
      var node = el(id);
      node.addEventListener(node.tagName === "SELECT" ? "change" : "input", function () {
        if (!state.current || state.filling) { return; }
        apply(state.current.businessObject, node.value, state.current);
        markDirty();
      });
    }

    onField("prop-name", function (bo, value, element) { modeling.updateProperties(element, { name: value }); });
    onField("prop-doc", function (bo, value) {
      bo.documentation = value ? [moddle.create("bpmn:Documentation", { text: value })] : [];
    });
    onField("prop-form", function (bo, value) { setProperty(bo, names.FORM, value); });
    onField("prop-validator", function (bo, value) { setProperty(bo, names.VALIDATOR, value.trim()); });
    onField("prop-clock", function (bo, value) { setProperty(bo, names.CLOCK, value); });
    onField("prop-figure", function (bo, value) { setProperty(bo, names.FIGURE, value); });
    onField("prop-operation", function (bo, value) { extension(bo, "serviceTaskOperator", true).id = value.trim(); });
    onField("prop-result", function (bo, value) {
      extension(bo, "serviceTaskOperator", true).resultVariable = value.trim() || undefined;
    });
    function applyTimer(bo) {
      var timer = timerOf(bo);
      var kind = el("prop-timer-kind").value;
      TIMER_KINDS.forEach(function (k) { delete timer[k]; });  // deleted, not undefined: bpmnlint walks every key
      timer[kind] = expression(el("prop-timer").value);
      timer[kind].$parent = timer;
    }
    onField("prop-timer", applyTimer);
    onField("prop-timer-kind", applyTimer);
    onField("prop-condition", function (bo, value) {
      if (value.trim()) { bo.conditionExpression = expression(value); } else { delete bo.conditionExpression; }
    });
    onField("prop-script", function (bo, value) { bo.script = value; });
    onField("prop-group", function (bo, value) { setLaneGroup(bo.name || "", value.trim()); });

    modeler.on("selection.changed", function (event) { showPanel(event.newSelection[0] || null); });
    modeler.on("commandStack.changed", markDirty);

    // ------------------------------------------------------------------ problems

    function pinProblems() {
      overlays.remove({ type: "problem" });
      registry.getAll().forEach(function (element) { canvas.removeMarker(element.id, "has-problem"); });
      var list = el("problem-list");
      list.textContent = "";
      state.problems.forEach(function (problem) {
        var item = document.createElement("li");
        item.className = "problem";
        item.textContent = problem.text;
        var onCanvas = problem.element_id && problem.file === state.diagram && registry.get(problem.element_id);
        if (problem.element_id) { item.dataset.elementId = problem.element_id; }
        if (onCanvas) {
          canvas.addMarker(problem.element_id, "has-problem");
          var badge = document.createElement("div");
          badge.className = "problem-badge";
          badge.title = problem.message;
          badge.textContent = "!";
          badge.dataset.elementId = problem.element_id;
          overlays.add(problem.element_id, "problem", { position: { top: -10, right: 10 }, html: badge });
        }
        if (problem.element_id && problem.file && /\.bpmn$/.test(problem.file)) {
          item.tabIndex = 0;
          item.addEventListener("click", function () { goTo(problem); });
        } else if (problem.line && textBoxOf(problem.file)) {
          item.tabIndex = 0;
          item.dataset.file = problem.file;
          item.dataset.line = String(problem.line);
          item.addEventListener("click", function () { goToLine(problem.file, problem.line); });
        }
        list.appendChild(item);
      });
      root.dataset.problems = String(state.problems.length);
    }

    // Problems in procedure.toml or a form name a line: the text box shows that file, selects the
    // line and scrolls it into the middle of the box.
    function textBoxOf(file) {
      if (file === "procedure.toml") { return el("config"); }
      if (file && file.indexOf("forms/") === 0 && state.files[file] !== undefined) { return el("form-text"); }
      return null;
    }

    function goToLine(file, line) {
      var box = textBoxOf(file);
      if (!box) { return; }
      setAdvanced(true);  // a problem on a line is shown in the raw text
      showTab(box === el("form-text") ? "forms" : "settings");
      if (box === el("form-text")) { showForm(file.slice(6)); }
      var lines = box.value.split("\n");
      var index = Math.min(Math.max(line, 1), lines.length) - 1;
      var startAt = lines.slice(0, index).join("\n").length + (index ? 1 : 0);
      box.focus();
      box.setSelectionRange(startAt, startAt + lines[index].length);
      var lineHeight = parseFloat(window.getComputedStyle(box).lineHeight) || 16;
      box.scrollTop = Math.max(0, index * lineHeight - box.clientHeight / 2);
      box.dataset.selectedLine = String(index + 1);
      box.scrollIntoView({ block: "nearest" });
    }

    function goTo(problem) {
      var ready = problem.file === state.diagram ? Promise.resolve() : openDiagram(problem.file);
      ready.then(function () { focus(registry.get(problem.element_id)); });
    }

    // Fitting a whole collaboration into the window makes its labels unreadable: when the fit is
    // smaller than READABLE, open at READABLE instead, centred on the main start event (the
    // top-most start event directly in a process or pool; subprocesses' own start events are not).
    var READABLE = 0.9;

    function openReadable() {
      canvas.zoom("fit-viewport");
      var fit = canvas.viewbox();
      root.dataset.fitScale = fit.scale.toFixed(3);
      if (fit.scale >= READABLE) { return; }
      var starts = registry.filter(function (element) {
        var parent = element.parent && element.parent.type;
        return element.type === "bpmn:StartEvent" && (parent === "bpmn:Process" || parent === "bpmn:Participant");
      }).sort(function (a, b) { return a.y - b.y || a.x - b.x; });
      var start = starts[0];
      if (!start) { return; }
      var width = fit.outer.width / READABLE;
      var height = fit.outer.height / READABLE;
      canvas.viewbox({ x: start.x + start.width / 2 - width / 2, y: start.y + start.height / 2 - height / 2,
                       width: width, height: height });
      root.dataset.openedOn = start.id;
    }

    // Select an element and centre it (scrolling it merely into view may leave it under the palette).
    function focus(element) {
      if (!element) { return; }
      selection.select(element);
      var box = canvas.viewbox();
      var middle = element.waypoints ? element.waypoints[0] : { x: element.x + element.width / 2, y: element.y + element.height / 2 };
      canvas.viewbox({ x: middle.x - box.width / 2, y: middle.y - box.height / 2, width: box.width, height: box.height });
    }

    function listElements() {
      var names = el("element-names");
      names.textContent = "";
      registry.getAll().forEach(function (element) {
        var bo = element.businessObject;
        if (!bo || !bo.id || element.type === "label") { return; }
        names.appendChild(new Option(bo.name ? bo.id + " — " + bo.name : bo.id, bo.id));
      });
    }

    // The procedure is a map and one diagram per path: an id not in the open diagram is looked
    // up in the others, which is then opened on it.
    function diagramHolding(id) {
      var marker = 'id="' + id + '"';
      return diagramNames().filter(function (name) {
        return name !== state.diagram && (state.files[name] || "").indexOf(marker) >= 0;
      })[0];
    }

    el("find-element").addEventListener("change", function (event) {
      var wanted = event.target.value.trim();
      var elsewhere = registry.get(wanted) ? null : diagramHolding(wanted);
      if (elsewhere) {
        openDiagram(elsewhere).then(function () { focus(registry.get(wanted)); });
        return;
      }
      var element = registry.get(wanted) || registry.filter(function (candidate) {
        var name = candidate.businessObject && candidate.businessObject.name;
        return candidate.type !== "label" && name && name.toLowerCase().indexOf(wanted.toLowerCase()) >= 0;
      })[0];
      focus(element);
    });

    // ------------------------------------------------------------------ saving

    function save() {
      setState("…", "muted");
      return keepDiagram().then(function () {
        return fetch(root.dataset.saveUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf },
          body: JSON.stringify({ revision: state.revision, files: state.files })
        });
      }).then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      }).then(function (answer) {
        if (!answer.ok) {
          setState(root.dataset.textFailed + " " + answer.body.error, "flash-error");
          root.dataset.saveError = answer.body.error;
          return false;
        }
        state.revision = answer.body.revision;
        state.problems = answer.body.problems;
        showStoredLabels(answer.body);
        state.dirty = false;
        root.dataset.dirty = "false";
        root.dataset.revision = String(state.revision);
        pinProblems();
        setState(state.problems.length ? root.dataset.textProblems : root.dataset.textSaved,
                 state.problems.length ? "flash-error" : "flash");
        el("draft-status").textContent = root.dataset.textEditing;  // a save takes a draft back to editing
        root.dispatchEvent(new CustomEvent("modeler:saved"));
        return true;
      }).catch(function (error) {
        setState(root.dataset.textFailed + " " + error.message, "flash-error");
        return false;
      });
    }

    // Deadline timers are labelled from procedure.toml when saved (issue 10): show the stored
    // labels on the canvas and keep the other diagrams as stored, so the next save sends them.
    function showStoredLabels(body) {
      var stored = body.files || {};
      Object.keys(stored).forEach(function (path) { state.files[path] = stored[path]; });
      state.filling = true;
      try {
        (body.labels || []).forEach(function (label) {
          var element = label.file === state.diagram && registry.get(label.element_id);
          if (element && (element.businessObject.name || "") !== label.name) {
            modeling.updateLabel(element, label.name);
          }
        });
      } finally {
        state.filling = false;
      }
    }

    // The settings, forms and calendars scripts edit the same files through this.
    root.modelerApi = {
      files: function () { return state.files; },
      keepDiagram: keepDiagram,
      setFile: function (path, text) {
        state.files[path] = text;
        if (path === "procedure.toml") { el("config").value = text; }
        if (path === "forms/" + el("form-file").value) { el("form-text").value = text; }
        markDirty();
      },
      showLabels: function (labels) { showStoredLabels({ labels: labels }); },
      problems: function () { return state.problems; },
      post: function (url, body) {
        return fetch(url, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf },
          body: JSON.stringify(body)
        }).then(function (response) {
          return response.json().then(function (answer) { return { ok: response.ok, body: answer }; });
        });
      },
      editable: function () { return state.editable; }
    };

    if (el("save")) { el("save").addEventListener("click", save); }
    var submitForm = el("submit-form");
    if (submitForm) {
      submitForm.addEventListener("submit", function (event) {
        if (!state.dirty) { return; }
        event.preventDefault();
        save().then(function (saved) { if (saved) { submitForm.submit(); } });
      });
    }

    el("diagram-file").addEventListener("change", function (event) { openDiagram(event.target.value); });
    el("config").addEventListener("input", function (event) {
      state.files["procedure.toml"] = event.target.value;
      markDirty();
    });
    el("config").addEventListener("change", function () { root.dispatchEvent(new CustomEvent("modeler:config")); });
    el("form-file").addEventListener("change", function (event) { showForm(event.target.value); });
    el("form-text").addEventListener("input", function (event) {
      var name = el("form-file").value;
      if (name) { state.files["forms/" + name] = event.target.value; markDirty(); }
    });
    el("form-text").addEventListener("change", function () {
      root.dispatchEvent(new CustomEvent("modeler:form", { detail: { name: el("form-file").value } }));
    });
    if (el("add-form")) {
      el("add-form").addEventListener("click", function () {
        var name = el("new-form-name").value.trim();
        if (!/^[A-Za-z0-9_.-]+\.json$/.test(name) || state.files["forms/" + name] !== undefined) { return; }
        state.files["forms/" + name] = '{\n  "type": "object",\n  "properties": {}\n}\n';
        fillSelect(el("form-file"), formNames(), name, false);
        showForm(name);
        markDirty();
      });
    }
    // Renaming or deleting a form is done by the server on the saved draft (save first when
    // dirty), which answers the new files and problems: a task still naming the old form is
    // then a problem pinned to that task.
    function changeForm(url, body) {
      var ready = state.dirty ? save() : Promise.resolve(true);
      return ready.then(function (saved) {
        if (!saved) { return null; }
        body.revision = state.revision;
        return fetch(url, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf },
          body: JSON.stringify(body)
        }).then(function (response) {
          return response.json().then(function (answer) { return { ok: response.ok, body: answer }; });
        });
      }).then(function (answer) {
        if (!answer) { return; }
        var note = el("form-state");
        if (!answer.ok) {
          note.textContent = answer.body.error;
          note.className = "flash-error";
          return;
        }
        note.textContent = "";
        note.className = "";
        var diagram = state.diagram && state.files[state.diagram];
        state.files = answer.body.files;
        if (diagram) { state.files[state.diagram] = diagram; }  // as on the canvas (saved just before)
        state.revision = answer.body.revision;
        state.problems = answer.body.problems;
        root.dataset.revision = String(state.revision);
        var forms = formNames();
        var chosen = body.new_name && forms.indexOf(body.new_name) >= 0 ? body.new_name : forms[0];
        fillSelect(el("form-file"), forms, chosen, false);
        showForm(chosen);
        el("rename-form-name").value = "";
        pinProblems();
        setState(state.problems.length ? root.dataset.textProblems : root.dataset.textSaved,
                 state.problems.length ? "flash-error" : "flash");
        if (state.current) { showPanel(state.current); }
      });
    }

    if (el("rename-form")) {
      el("rename-form").addEventListener("click", function () {
        changeForm(root.dataset.renameFormUrl,
                   { name: el("form-file").value, new_name: el("rename-form-name").value.trim() });
      });
      el("delete-form").addEventListener("click", function (event) {
        if (!el("form-file").value || !window.confirm(event.target.dataset.confirm)) { return; }
        changeForm(root.dataset.deleteFormUrl, { name: el("form-file").value });
      });
    }
    var discardForm = el("discard-form");
    if (discardForm) {
      discardForm.addEventListener("submit", function (event) {
        if (!window.confirm(discardForm.dataset.confirm)) { event.preventDefault(); return; }
        state.dirty = false;  // thrown away on purpose: no "leave the page?" question
      });
    }
    window.addEventListener("beforeunload", function (event) {
      if (state.dirty) { event.preventDefault(); event.returnValue = ""; }
    });

    // ------------------------------------------------------------------ loading

    fetch(root.dataset.bundleUrl, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (bundle) {
        state.files = bundle.files;
        state.revision = bundle.revision;
        state.problems = bundle.problems;
        state.editable = bundle.editable;
        root.dataset.revision = String(bundle.revision);
        state.validators = bundle.validators;
        state.operations = bundle.operations;
        names = bundle.property_names;
        el("config").value = state.files["procedure.toml"] || "";
        var forms = formNames();
        fillSelect(el("form-file"), forms, forms[0], false);
        showForm(forms[0]);
        var diagrams = diagramNames();
        fillSelect(el("diagram-file"), diagrams, diagrams[0], false);
        return diagrams.length ? openDiagram(diagrams[0]) : null;
      })
      .then(function () {
        state.dirty = false;
        root.dataset.dirty = "false";
        root.dataset.ready = "true";
        root.dispatchEvent(new CustomEvent("modeler:loaded"));
      })
      .catch(function (error) {
        root.dataset.ready = "error";
        setState(root.dataset.textFailed + " " + error.message, "flash-error");
      });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
