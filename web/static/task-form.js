// The task form follows its JSON Schema's conditionals (web/form_conditions.py does the same on
// the server): a field whose condition does not hold is hidden and disabled, so it is not sent.
// Each field's conditions are in data-when; values of the complaint they read are in the form's
// data-context. The first field in error gets the focus (the server marks it autofocus too).
(function () {
  "use strict";
  var form = document.querySelector("form.task-fields");
  if (!form) { return; }
  var context = JSON.parse(form.getAttribute("data-context") || "{}");
  var boxes = Array.prototype.slice.call(form.querySelectorAll(".field[data-field]"));

  function valueOf(box) {
    var widget = box.getAttribute("data-widget");
    var name = box.getAttribute("data-field");
    if (widget === "checkbox") {
      return box.querySelector('input[name="' + name + '"]').checked;
    }
    if (widget === "checkboxes") {
      return Array.prototype.map.call(
        box.querySelectorAll('input[name="' + name + '"]:checked'), function (input) { return input.value; });
    }
    var input = box.querySelector('[name="' + name + '"]');
    var text = input ? input.value.trim() : "";
    if (text === "") { return undefined; }
    if (widget === "integer" || widget === "number") { return Number(text); }
    return text;
  }

  function equal(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

  // The part of JSON Schema the forms' conditions use.
  function valid(schema, value) {
    if (schema === true || schema === undefined) { return true; }
    if (schema === false) { return false; }
    if ("const" in schema && !equal(schema["const"], value)) { return false; }
    if (schema["enum"] && !schema["enum"].some(function (item) { return equal(item, value); })) { return false; }
    if (schema.type === "string" && typeof value !== "string") { return false; }
    if (schema.minLength !== undefined && (typeof value !== "string" || value.length < schema.minLength)) { return false; }
    if (schema.not && valid(schema.not, value)) { return false; }
    if (schema.allOf && !schema.allOf.every(function (part) { return valid(part, value); })) { return false; }
    if (schema.anyOf && !schema.anyOf.some(function (part) { return valid(part, value); })) { return false; }
    if (schema.contains && !(Array.isArray(value) && value.some(function (item) { return valid(schema.contains, item); }))) { return false; }
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      var required = schema.required || [];
      for (var i = 0; i < required.length; i++) { if (!(required[i] in value)) { return false; } }
      var properties = schema.properties || {};
      for (var key in properties) {
        if (key in value && !valid(properties[key], value[key])) { return false; }
      }
    }
    return true;
  }

  function holds(condition, seen) {
    if ("present" in condition) { return condition.present in seen; }
    return valid(condition["if"], seen) === condition.expect;
  }

  function settle() {
    var shown = {};
    boxes.forEach(function (box) { shown[box.getAttribute("data-field")] = true; });
    for (var round = 0; round <= boxes.length; round++) {
      var seen = Object.assign({}, context);
      boxes.forEach(function (box) {
        var name = box.getAttribute("data-field");
        var value = valueOf(box);
        if (shown[name] && value !== undefined) { seen[name] = value; }
      });
      var changed = false;
      boxes.forEach(function (box) {
        var when = JSON.parse(box.getAttribute("data-when") || "[]");
        var name = box.getAttribute("data-field");
        var now = when.length === 0 || when.some(function (condition) { return holds(condition, seen); });
        if (now !== shown[name]) { shown[name] = now; changed = true; }
      });
      if (!changed) { break; }
    }
    boxes.forEach(function (box) {
      var show = shown[box.getAttribute("data-field")];
      box.hidden = !show;
      Array.prototype.forEach.call(box.querySelectorAll("input, select, textarea"), function (input) {
        input.disabled = !show;
      });
    });
  }

  form.addEventListener("change", settle);
  form.addEventListener("input", settle);
  settle();
  var first = form.querySelector(".has-error input:not([disabled]), .has-error select, .has-error textarea");
  if (first) { first.focus(); }
})();
