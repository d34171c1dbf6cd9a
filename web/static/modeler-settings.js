// The settings tab (issue 17): procedure.toml as the owner's forms. The server reads the
// settings from the draft's text and writes each edit into it (comments kept), and answers the
// deadline timers' labels that text gives, which are put on the canvas at once: the words come
// from the deploy's labeller, never from this page.
(function () {
  "use strict";

  var el = ModelerPanel.el;
  var make = ModelerPanel.make;

  // "PT3H", "PT2H30M", "PT45M" from hours and minutes (at least one minute).
  function isoDuration(hours, minutes) {
    var h = Math.max(0, parseInt(hours, 10) || 0);
    var m = Math.max(0, parseInt(minutes, 10) || 0);
    h += Math.floor(m / 60);
    m %= 60;
    return "PT" + (h ? h + "H" : "") + (m || !h ? m + "M" : "");
  }

  function start(modeler) {
    var root = modeler.root;
    var tabs = el("editor-tabs");
    if (!tabs) { return; }
    var api = modeler.api;
    var W = modeler.words;
    var box = el("settings");
    var note = el("settings-state");

    function say(text, kind) {
      note.textContent = text || "";
      note.className = kind || "";
    }

    function call(edits) {
      return api.keepDiagram().then(function () {
        return api.post(tabs.dataset.settingsUrl, { files: api.files(), edits: edits || [] });
      }).then(function (answer) {
        Array.prototype.forEach.call(box.querySelectorAll(".field-error"), function (node) {
          node.classList.remove("field-error");
        });
        if (!answer.ok) {
          say(answer.body.error, "flash-error");
          var wrong = box.querySelector('[data-path="' + answer.body.field + '"]');
          if (wrong) { wrong.classList.add("field-error"); }
          box.dataset.error = answer.body.field || "";
          return false;
        }
        box.dataset.error = "";
        if (edits && edits.length) {
          api.setFile("procedure.toml", answer.body.config);
          say(W.settings_changed || "", "muted");
        }
        api.showLabels(answer.body.labels);
        render(answer.body.settings);
        box.dataset.ready = "true";
        root.dispatchEvent(new CustomEvent("modeler:settings", { detail: answer.body.settings }));
        return true;
      });
    }

    function edit(op, path, value) { return call([{ op: op, path: path, value: value }]); }
    api.editSettings = edit;  // the calendars tab edits [calendars.*] the same way

    function section(title, help) {
      var node = make("section", { className: "settings-section" }, [make("h3", { text: title })]);
      if (help) { node.appendChild(make("p", { className: "help", text: help })); }
      box.appendChild(node);
      return node;
    }

    function textInput(path, value, label, onChange) {
      var input = make("input", { type: "text", value: value || "", "data-path": path.join("."), "aria-label": label });
      input.addEventListener("change", function () { onChange(input.value.trim()); });
      return input;
    }

    function removeButton(path, label) {
      var button = make("button", { type: "button", className: "link-button", text: W.remove, "aria-label": W.remove + " " + label });
      button.addEventListener("click", function () { edit("remove", path); });
      return button;
    }

    // ------------------------------------------------------------------ deadlines

    function durationCell(field, label) {
      var path = field.path.join(".");
      var hours = make("input", { type: "number", min: "0", step: "1", value: field.hours === null ? "" : field.hours,
                                  className: "hours", "data-path": path, "data-part": "hours", "aria-label": label + " " + W.hours });
      var minutes = make("input", { type: "number", min: "0", max: "59", step: "1", value: field.minutes === null ? "" : field.minutes,
                                    className: "minutes", "data-path": path, "data-part": "minutes", "aria-label": label + " " + W.minutes });
      function changed() { edit("set", field.path, isoDuration(hours.value, minutes.value)); }
      hours.addEventListener("change", changed);
      minutes.addEventListener("change", changed);
      return make("td", { className: "duration" }, [hours, make("span", { text: W.hours }), minutes, make("span", { text: W.minutes })]);
    }

    function figures(list) {
      var node = section(W.deadlines, W.deadlines_help);
      var table = make("table", { className: "settings-table", id: "settings-figures" });
      table.appendChild(make("tr", {}, [make("th", { text: W.clock }), make("th", { text: W.which }),
        make("th", { text: W.figure }), make("th", { text: W.counting })]));
      list.forEach(function (figure) {
        var clocks = figure.clocks.map(function (clock) { return clock + (W["clock_" + clock] ? " " + W["clock_" + clock] : ""); }).join(", ");
        if (!figure.fields.length) {
          table.appendChild(make("tr", { "data-figure": figure.figure }, [make("td", { text: clocks }),
            make("td", { colSpan: 3, className: "muted", text: W.on_order })]));
        }
        figure.fields.forEach(function (field) {
          var which = W["figure_" + field.key] || field.key;
          var label = figure.clocks.join(",") + " " + which;
          var value;
          if (field.kind === "count") {
            var count = make("input", { type: "number", min: "1", step: "1", value: field.value, "data-path": field.path.join("."), "aria-label": label });
            count.addEventListener("change", function () { edit("set", field.path, parseInt(count.value, 10)); });
            value = make("td", {}, [count]);
          } else {
            value = durationCell(field, label);
          }
          var counting = field.kind === "count" ? "" :
            field.time === "working" ? W.working_time + (field.calendar ? " (" + (W["calendar_" + field.calendar] || field.calendar) + ")" : "") : W.calendar_time;
          table.appendChild(make("tr", { "data-figure": figure.figure, "data-clock": figure.clocks[0], "data-key": field.key }, [
            make("td", { text: clocks }), make("td", { text: which }), value, make("td", { className: "muted", text: counting })]));
        });
      });
      node.appendChild(table);
    }

    // ------------------------------------------------------------------ warning shares

    function warnings(shares, clocks) {
      var node = section(W.warnings, W.warnings_help);
      var table = make("table", { className: "settings-table", id: "settings-warnings" });
      ["default"].concat(clocks).forEach(function (clock) {
        var share = shares[clock];
        var input = make("input", { type: "number", min: "1", max: "99", step: "1", value: share === undefined ? "" : Math.round(share * 100),
                                    placeholder: clock === "default" ? "" : W.as_default, "data-path": "warnings." + clock,
                                    "aria-label": W.warnings + " " + clock });
        input.addEventListener("change", function () {
          if (!input.value && clock !== "default") { edit("remove", ["warnings", clock]); return; }
          edit("set", ["warnings", clock], parseFloat(input.value) / 100);
        });
        table.appendChild(make("tr", {}, [make("td", { text: clock === "default" ? W.every_clock : clock }),
          make("td", {}, [input, make("span", { text: " %" })])]));
      });
      node.appendChild(table);
    }

    // ------------------------------------------------------------------ departments, channels, categories, lanes

    // The people of a group (read-only: accounts are the admin's users page); nobody is a warning.
    function people(group) {
      var names = (members[group] || []);
      return make("td", { className: names.length ? "muted people" : "flash-error people", "data-group": group,
                          text: names.length ? names.join(", ") : W.nobody });
    }

    var members = {};

    function departments(list) {
      var node = section(W.departments, W.departments_help);
      var table = make("table", { className: "settings-table", id: "settings-departments" });
      table.appendChild(make("tr", {}, [make("th", { text: W.code }), make("th", { text: W.label }), make("th", { text: W.group }), make("th", { text: W.people }), make("th")]));
      list.forEach(function (item) {
        table.appendChild(make("tr", { "data-key": item.key }, [
          make("td", {}, [make("code", { text: item.key })]),
          make("td", {}, [textInput(["departments", item.key, "label"], item.label, item.key + " " + W.label,
            function (value) { edit("set", ["departments", item.key, "label"], value); })]),
          make("td", {}, [textInput(["departments", item.key, "group"], item.group, item.key + " " + W.group,
            function (value) { edit("set", ["departments", item.key, "group"], value); })]),
          people(item.group),
          make("td", {}, [removeButton(["departments", item.key], item.label)])]));
      });
      var code = make("input", { type: "text", placeholder: "legal", "aria-label": W.new_department + " " + W.code, size: 10 });
      var label = make("input", { type: "text", "aria-label": W.new_department + " " + W.label });
      var group = make("input", { type: "text", placeholder: "dept:legal", "aria-label": W.new_department + " " + W.group, size: 14 });
      var add = make("button", { type: "button", text: W.add });
      add.addEventListener("click", function () {
        edit("add", ["departments", code.value.trim()], { label: label.value, group: group.value });
      });
      table.appendChild(make("tr", { className: "new-row" }, [make("td", {}, [code]), make("td", {}, [label]), make("td", {}, [group]), make("td"), make("td", {}, [add])]));
      node.appendChild(table);
    }

    function channels(list) {
      var node = section(W.channels, W.channels_help);
      var table = make("table", { className: "settings-table", id: "settings-channels" });
      table.appendChild(make("tr", {}, [make("th", { text: W.code }), make("th", { text: W.label }), make("th", { text: W.escalation })]));
      list.forEach(function (item) {
        var escalation = make("input", { type: "checkbox", checked: item.escalation, "data-path": "channels." + item.key + ".escalation",
                                         "aria-label": item.key + " " + W.escalation });
        escalation.addEventListener("change", function () { edit("set", ["channels", item.key, "escalation"], escalation.checked); });
        table.appendChild(make("tr", { "data-key": item.key }, [
          make("td", {}, [make("code", { text: item.key })]),
          make("td", {}, [textInput(["channels", item.key, "label"], item.label, item.key + " " + W.label,
            function (value) { edit("set", ["channels", item.key, "label"], value); })]),
          make("td", {}, [escalation])]));
      });
      node.appendChild(table);
    }

    function categories(name, list) {
      var node = section(W[name], W.categories_help);
      var table = make("table", { className: "settings-table", id: "settings-" + name });
      list.forEach(function (item) {
        table.appendChild(make("tr", { "data-key": item.key }, [
          make("td", {}, [make("code", { text: item.key })]),
          make("td", {}, [textInput([name, item.key], item.label, item.key + " " + W.label,
            function (value) { edit("set", [name, item.key], value); })]),
          make("td", {}, [removeButton([name, item.key], item.label)])]));
      });
      var code = make("input", { type: "text", "aria-label": W[name] + " " + W.code, size: 10 });
      var label = make("input", { type: "text", "aria-label": W[name] + " " + W.label });
      var add = make("button", { type: "button", text: W.add });
      add.addEventListener("click", function () { edit("add", [name, code.value.trim()], label.value); });
      table.appendChild(make("tr", { className: "new-row" }, [make("td", {}, [code]), make("td", {}, [label]), make("td", {}, [add])]));
      node.appendChild(table);
    }

    function lanes(list, groups) {
      var node = section(W.lanes, W.lanes_help);
      var table = make("table", { className: "settings-table", id: "settings-lanes" });
      var options = make("datalist", { id: "settings-group-names" });
      groups.forEach(function (group) { options.appendChild(new Option(group, group)); });
      list.forEach(function (item) {
        var input = textInput(["lanes", item.lane], item.group, item.lane + " " + W.group,
          function (value) { edit("set", ["lanes", item.lane], value); });
        input.setAttribute("list", "settings-group-names");
        table.appendChild(make("tr", {}, [make("td", { text: item.lane }), make("td", {}, [input]), people(item.group)]));
      });
      node.appendChild(table);
      node.appendChild(options);
    }

    function render(settings) {
      box.textContent = "";
      members = settings.members || {};
      var clocks = [];
      settings.figures.forEach(function (figure) { figure.clocks.forEach(function (c) { clocks.push(c); }); });
      figures(settings.figures);
      warnings(settings.warnings, clocks);
      departments(settings.departments);
      channels(settings.channels);
      categories("business_categories", settings.categories.business_categories);
      categories("nature_categories", settings.categories.nature_categories);
      var groups = [];
      settings.departments.forEach(function (d) { if (groups.indexOf(d.group) < 0) { groups.push(d.group); } });
      settings.lanes.forEach(function (l) { if (l.group && groups.indexOf(l.group) < 0) { groups.push(l.group); } });
      lanes(settings.lanes, groups);
      if (!api.editable()) {
        Array.prototype.forEach.call(box.querySelectorAll("input, button"), function (node) { node.disabled = true; });
      }
    }

    root.addEventListener("modeler:config", function () { call([]); });
    root.addEventListener("modeler:saved", function () { call([]); });
    call([]);
  }

  ModelerPanel.onModelerLoaded(start);
})();
