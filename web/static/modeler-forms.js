// The form editor (issue 17): a user task's form (forms/*.json, a JSON Schema) as a list of
// fields, with a live preview of what the agent sees. It reads and writes the same JSON Schema
// file the engine validates against; the raw text stays behind the "advanced" switch.
//
// "Shows when" is written as the JSON Schema conditional the agents' forms read:
//   "allOf": [{"if": {"properties": {"kind": {"const": "refund"}}, "required": ["kind"]},
//              "then": {"properties": {"amount": true}, "required": ["amount"]}}]
// The field stays in "properties" (its definition); "then" names it (and requires it when it
// is required), so a field named in a "then" applies only while its "if" holds.
(function () {
  "use strict";

  var TYPES = ["text", "longtext", "number", "yesno", "choice", "datetime", "evidence"];
  var CJK = /[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]/;

  var el = ModelerPanel.el;
  var make = ModelerPanel.make;

  function copy(value) { return JSON.parse(JSON.stringify(value)); }

  // "审核意见 Review note" -> ["审核意见", "Review note"]: the Chinese part ends at the last CJK character.
  function splitLabel(text) {
    text = text || "";
    var last = -1;
    for (var i = 0; i < text.length; i += 1) { if (CJK.test(text[i])) { last = i; } }
    if (last < 0) { return ["", text.trim()]; }
    var cut = last + 1;
    while (cut < text.length && /[)）」\]】]/.test(text[cut])) { cut += 1; }
    return [text.slice(0, cut).trim(), text.slice(cut).trim()];
  }

  function joinLabel(zh, en) { return [zh.trim(), en.trim()].filter(Boolean).join(" "); }

  function typeOf(spec) {
    if (spec.type === "boolean") { return "yesno"; }
    if (spec.type === "number" || spec.type === "integer") { return "number"; }
    if (spec.type === "array") {
      var items = spec.items || {};
      return items.oneOf || items.enum ? "other" : "evidence";
    }
    if (spec.oneOf || spec.enum) { return "choice"; }
    if (spec.format === "date-time") { return "datetime"; }
    if (spec.type === "string") {
      return spec.pattern || (spec.maxLength !== undefined && spec.maxLength <= 200) ? "text" : "longtext";
    }
    return "other";
  }

  function optionsOf(spec) {
    if (spec.oneOf) {
      return spec.oneOf.filter(function (o) { return "const" in o; }).map(function (o) {
        var parts = splitLabel(o.title || String(o.const));
        return { value: String(o.const), zh: parts[0], en: parts[1] };
      });
    }
    return (spec.enum || []).map(function (v) { return { value: String(v), zh: "", en: String(v) }; });
  }

  // A conditional of ours: one field's const in "if", fields named in "then".
  function condition(entry) {
    var props = entry && entry.if && entry.if.properties;
    var names = props ? Object.keys(props) : [];
    if (names.length !== 1 || !("const" in (props[names[0]] || {})) || !entry.then) { return null; }
    var then = entry.then;
    var shown = Object.keys(then.properties || {}).concat(then.required || []);
    return { field: names[0], value: props[names[0]].const, shown: shown, required: then.required || [] };
  }

  function parse(schema) {
    var required = schema.required || [];
    var when = {};
    var requiredWhen = {};
    (schema.allOf || []).forEach(function (entry) {
      var found = condition(entry);
      if (!found) { return; }
      found.shown.forEach(function (name) { when[name] = { field: found.field, value: found.value }; });
      found.required.forEach(function (name) { requiredWhen[name] = true; });
    });
    return Object.keys(schema.properties || {}).map(function (name) {
      var spec = schema.properties[name];
      var parts = splitLabel(spec.title || "");
      return {
        name: name,
        type: typeOf(spec),
        zh: parts[0],
        en: parts[1],
        help: spec.description || "",
        required: required.indexOf(name) >= 0 || !!requiredWhen[name],
        options: optionsOf(spec),
        when: when[name] || null,
        spec: spec
      };
    });
  }

  var MANAGED = ["type", "title", "description", "oneOf", "enum", "format", "items", "maxItems", "maxLength", "minLength", "pattern"];

  function specOf(field) {
    var spec = copy(field.spec || {});
    if (field.type !== "other") {
      var keep = {};
      Object.keys(spec).forEach(function (key) { if (MANAGED.indexOf(key) < 0) { keep[key] = spec[key]; } });
      var old = spec;
      spec = keep;
      if (field.type === "text") {
        spec.type = "string";
        spec.maxLength = old.type === "string" && old.maxLength <= 200 ? old.maxLength : 200;
        if (old.pattern) { spec.pattern = old.pattern; }
      } else if (field.type === "longtext") {
        spec.type = "string";
        spec.maxLength = old.type === "string" && old.maxLength > 200 ? old.maxLength : 4000;
      } else if (field.type === "number") {
        spec.type = old.type === "integer" ? "integer" : "number";
      } else if (field.type === "yesno") {
        spec.type = "boolean";
      } else if (field.type === "choice") {
        spec.type = "string";
        spec.oneOf = field.options.map(function (o) { return { const: o.value, title: joinLabel(o.zh, o.en) || o.value }; });
      } else if (field.type === "datetime") {
        spec.type = "string";
        spec.format = "date-time";
      } else if (field.type === "evidence") {
        spec.type = "array";
        spec.items = { type: "string", maxLength: 200 };
        spec.maxItems = old.maxItems || 20;
      }
    }
    var title = joinLabel(field.zh, field.en);
    if (title) { spec.title = title; } else { delete spec.title; }
    if (field.help) { spec.description = field.help; } else { delete spec.description; }
    return spec;
  }

  function serialize(fields, original) {
    var schema = {};
    Object.keys(original).forEach(function (key) {
      if (key !== "properties" && key !== "required" && key !== "allOf") { schema[key] = original[key]; }
    });
    if (!schema.type) { schema.type = "object"; }
    var theirs = (original.allOf || []).filter(function (entry) { return !condition(entry); });
    schema.required = fields.filter(function (f) { return f.required && !f.when; }).map(function (f) { return f.name; });
    schema.properties = {};
    fields.forEach(function (field) { schema.properties[field.name] = specOf(field); });
    var groups = [];
    fields.forEach(function (field) {
      if (!field.when) { return; }
      var group = groups.filter(function (g) { return g.field === field.when.field && g.value === field.when.value; })[0];
      if (!group) {
        group = { field: field.when.field, value: field.when.value, shown: [], required: [] };
        groups.push(group);
      }
      group.shown.push(field.name);
      if (field.required) { group.required.push(field.name); }
    });
    var ours = groups.map(function (g) {
      var props = {};
      props[g.field] = { const: g.value };
      var then = { properties: {} };
      g.shown.forEach(function (name) { then.properties[name] = true; });
      if (g.required.length) { then.required = g.required; }
      return { if: { properties: props, required: [g.field] }, then: then };
    });
    if (theirs.length || ours.length) { schema.allOf = theirs.concat(ours); }
    return schema;
  }

  function start(modeler) {
    var root = modeler.root;
    var editor = el("form-editor");
    var preview = el("form-preview");
    if (!editor) { return; }
    var api = modeler.api;
    var W = modeler.words;
    var state = { name: "", original: null, fields: [], previewLanguage: "zh" };

    function write() {
      var schema = serialize(state.fields, state.original);
      state.original = schema;
      api.setFile("forms/" + state.name, JSON.stringify(schema, null, 2) + "\n");
      showPreview();
    }

    function load(name) {
      state.name = name;
      editor.textContent = "";
      preview.textContent = "";
      var text = name ? api.files()["forms/" + name] : "";
      if (!name) { return; }
      try {
        state.original = JSON.parse(text);
      } catch (error) {
        editor.appendChild(make("p", { className: "flash-error", text: W.form_not_json + " " + error.message }));
        return;
      }
      state.fields = parse(state.original);
      render();
    }

    function choiceFields(except) {
      return state.fields.filter(function (f) { return f !== except && (f.type === "choice" || f.type === "yesno"); });
    }

    function valuesOf(field) {
      if (field.type === "yesno") {
        return [{ value: true, label: W.yes }, { value: false, label: W.no }];
      }
      return field.options.map(function (o) { return { value: o.value, label: joinLabel(o.zh, o.en) || o.value }; });
    }

    function input(field, key, label, attrs) {
      var node = make("input", Object.assign({ type: "text", value: field[key] || "", "aria-label": label, "data-part": key }, attrs || {}));
      node.addEventListener("change", function () { field[key] = node.value; write(); });
      return node;
    }

    function fieldRow(field, index) {
      var row = make("li", { className: "form-field", "data-name": field.name });
      var name = make("input", { type: "text", value: field.name, size: 16, "data-part": "name", "aria-label": W.field_name });
      name.addEventListener("change", function () {
        var wanted = name.value.trim();
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(wanted) || state.fields.some(function (f) { return f !== field && f.name === wanted; })) {
          name.value = field.name;
          return;
        }
        state.fields.forEach(function (f) { if (f.when && f.when.field === field.name) { f.when.field = wanted; } });
        field.name = wanted;
        row.dataset.name = wanted;
        write();
      });
      var type = make("select", { "data-part": "type", "aria-label": W.field_type });
      TYPES.concat(field.type === "other" ? ["other"] : []).forEach(function (t) {
        type.appendChild(new Option(W["type_" + t] || t, t, false, t === field.type));
      });
      type.addEventListener("change", function () { field.type = type.value; write(); render(); });
      var required = make("input", { type: "checkbox", checked: field.required, "data-part": "required" });
      required.addEventListener("change", function () { field.required = required.checked; write(); });

      var buttons = make("span", { className: "field-buttons" });
      [["up", -1], ["down", 1]].forEach(function (pair) {
        var button = make("button", { type: "button", text: W["move_" + pair[0]], "data-action": pair[0],
                                      disabled: index + pair[1] < 0 || index + pair[1] >= state.fields.length });
        button.addEventListener("click", function () {
          var other = index + pair[1];
          state.fields.splice(other, 0, state.fields.splice(index, 1)[0]);
          write();
          render();
        });
        buttons.appendChild(button);
      });
      var remove = make("button", { type: "button", text: W.remove, "data-action": "remove" });
      remove.addEventListener("click", function () {
        state.fields.splice(index, 1);
        state.fields.forEach(function (f) { if (f.when && f.when.field === field.name) { f.when = null; } });
        write();
        render();
      });
      buttons.appendChild(remove);

      row.appendChild(make("div", { className: "field-head" }, [name, type, make("label", { className: "check" }, [required, document.createTextNode(" " + W.required)]), buttons]));
      row.appendChild(make("div", { className: "field-labels" }, [
        make("label", { text: W.label_zh }, [input(field, "zh", W.label_zh)]),
        make("label", { text: W.label_en }, [input(field, "en", W.label_en)]),
        make("label", { text: W.help }, [input(field, "help", W.help)])]));

      if (field.type === "choice") {
        var list = make("ul", { className: "field-options" });
        field.options.forEach(function (option, at) {
          var value = make("input", { type: "text", value: option.value, size: 12, "data-part": "option-value", "aria-label": W.option_value });
          value.addEventListener("change", function () { option.value = value.value.trim(); write(); });
          var zh = make("input", { type: "text", value: option.zh, "data-part": "option-zh", "aria-label": W.label_zh });
          zh.addEventListener("change", function () { option.zh = zh.value; write(); });
          var en = make("input", { type: "text", value: option.en, "data-part": "option-en", "aria-label": W.label_en });
          en.addEventListener("change", function () { option.en = en.value; write(); });
          var drop = make("button", { type: "button", text: W.remove, "data-action": "remove-option" });
          drop.addEventListener("click", function () { field.options.splice(at, 1); write(); render(); });
          list.appendChild(make("li", { "data-value": option.value }, [value, zh, en, drop]));
        });
        var add = make("button", { type: "button", text: W.add_option, "data-action": "add-option" });
        add.addEventListener("click", function () {
          field.options.push({ value: "option_" + (field.options.length + 1), zh: "", en: "" });
          write();
          render();
        });
        row.appendChild(make("div", { className: "field-choices" }, [make("span", { className: "muted", text: W.options }), list, add]));
      }

      var whenField = make("select", { "data-part": "when-field", "aria-label": W.shows_when });
      whenField.appendChild(new Option(W.always, ""));
      choiceFields(field).forEach(function (f) {
        whenField.appendChild(new Option(joinLabel(f.zh, f.en) || f.name, f.name, false, !!field.when && field.when.field === f.name));
      });
      var whenValue = make("select", { "data-part": "when-value", "aria-label": W.shows_when_value });
      var source = field.when && state.fields.filter(function (f) { return f.name === field.when.field; })[0];
      if (source) {
        valuesOf(source).forEach(function (v) {
          whenValue.appendChild(new Option(v.label, JSON.stringify(v.value), false, v.value === field.when.value));
        });
      } else {
        whenValue.hidden = true;
      }
      whenField.addEventListener("change", function () {
        var chosen = state.fields.filter(function (f) { return f.name === whenField.value; })[0];
        var first = chosen && valuesOf(chosen)[0];
        field.when = first ? { field: chosen.name, value: first.value } : null;
        write();
        render();
      });
      whenValue.addEventListener("change", function () {
        field.when.value = JSON.parse(whenValue.value);
        write();
      });
      row.appendChild(make("div", { className: "field-when" }, [make("span", { text: W.shows_when + " " }), whenField, whenValue]));
      return row;
    }

    // The server's problems with this form (e.g. a field its task's validator reads is gone),
    // each pinned to the field it names.
    function formProblems() {
      var list = make("ul", { id: "form-problems", className: "form-problems" });
      (api.problems() || []).forEach(function (problem) {
        if (problem.file !== "forms/" + state.name) { return; }
        var named = /^field '([^']+)'/.exec(problem.message);
        var item = make("li", { text: problem.message });
        if (named) {
          item.dataset.field = named[1];
          var row = editor.querySelector('li.form-field[data-name="' + named[1] + '"]');
          if (row) { row.classList.add("field-error"); }
        }
        list.appendChild(item);
      });
      return list;
    }

    function render() {
      editor.textContent = "";
      var list = make("ol", { className: "form-fields", id: "form-fields" });
      state.fields.forEach(function (field, index) { list.appendChild(fieldRow(field, index)); });
      editor.appendChild(list);
      var add = make("button", { type: "button", id: "add-field", text: W.add_field });
      add.addEventListener("click", function () {
        var number = state.fields.length + 1;
        while (state.fields.some(function (f) { return f.name === "field_" + number; })) { number += 1; }
        state.fields.push({ name: "field_" + number, type: "text", zh: "", en: "", help: "", required: false, options: [], when: null, spec: {} });
        write();
        render();
      });
      editor.appendChild(add);
      editor.insertBefore(formProblems(), list);
      if (!api.editable()) {
        Array.prototype.forEach.call(editor.querySelectorAll("input, select, button"), function (node) { node.disabled = true; });
      }
      showPreview();
    }

    // ------------------------------------------------------------------ preview

    function previewValue(field) {
      var node = preview.querySelector('[name="' + field.name + '"]');
      if (!node) { return undefined; }
      if (node.type === "checkbox") { return node.checked; }
      return node.value;
    }

    function shown(field) {
      if (!field.when) { return true; }
      var source = state.fields.filter(function (f) { return f.name === field.when.field; })[0];
      return !!source && shown(source) && previewValue(source) === field.when.value;
    }

    function label(field) {
      var parts = state.previewLanguage === "zh" ? [field.zh || field.en] : [field.en || field.zh];
      return parts[0] || field.name;
    }

    function control(field) {
      var id = "preview-" + field.name;
      if (field.type === "yesno") {
        return make("label", { className: "check" }, [make("input", { type: "checkbox", id: id, name: field.name }), document.createTextNode(" " + label(field))]);
      }
      var widget;
      if (field.type === "choice") {
        widget = make("select", { id: id, name: field.name }, [new Option("—", "")]);
        field.options.forEach(function (o) {
          widget.appendChild(new Option(state.previewLanguage === "zh" ? (o.zh || o.en || o.value) : (o.en || o.zh || o.value), o.value));
        });
      } else if (field.type === "longtext") {
        widget = make("textarea", { id: id, name: field.name, rows: 2 });
      } else if (field.type === "evidence") {
        widget = make("input", { type: "file", id: id, name: field.name, multiple: true });
      } else {
        widget = make("input", { id: id, name: field.name, type: { number: "number", datetime: "datetime-local" }[field.type] || "text" });
      }
      return make("div", {}, [make("label", { htmlFor: id, text: label(field) + (field.required ? " *" : "") }), widget]);
    }

    function showPreview() {
      var values = {};
      state.fields.forEach(function (f) { values[f.name] = previewValue(f); });
      preview.textContent = "";
      var language = make("select", { id: "preview-language", "aria-label": W.preview_language }, [
        new Option("中文", "zh", false, state.previewLanguage === "zh"),
        new Option("English", "en", false, state.previewLanguage === "en")]);
      language.addEventListener("change", function () { state.previewLanguage = language.value; showPreview(); });
      preview.appendChild(make("h3", { text: W.preview + " " }, [language]));
      state.fields.forEach(function (field) {
        var box = make("div", { className: "field preview-field", "data-name": field.name }, [control(field)]);
        if (field.help) { box.appendChild(make("p", { className: "help", text: field.help })); }
        preview.appendChild(box);
        var node = box.querySelector('[name="' + field.name + '"]');
        if (node && values[field.name] !== undefined && node.type !== "file") {
          if (node.type === "checkbox") { node.checked = values[field.name]; } else { node.value = values[field.name]; }
        }
        if (node) { node.addEventListener("change", applyConditions); }
      });
      applyConditions();
    }

    function applyConditions() {
      state.fields.forEach(function (field) {
        var box = preview.querySelector('.preview-field[data-name="' + field.name + '"]');
        if (box) { box.hidden = !shown(field); }
      });
    }

    root.addEventListener("modeler:form", function (event) { load(event.detail.name); });
    root.addEventListener("modeler:saved", function () { if (state.name && state.original) { render(); } });
    load(el("form-file").value);
  }

  // For the tests of the conversion (tests/browser): the same functions the editor uses.
  window.ComplaintForms = { parse: parse, serialize: serialize, splitLabel: splitLabel };
  ModelerPanel.onModelerLoaded(start);
})();
