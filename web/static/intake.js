// T2/T3 at intake: while the agent types the customer's phone on the intake task page, show
// that customer's open and recent complaints (GET /intake/lookup) and offer to link one.
// Buttons only fill in fields; the intake validator on the server stays the authority.
// No inline script (the CSP forbids it): texts and the URL come from this tag's data-*.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var text = script.dataset;
  var DELAY_MS = 350;

  function byId(id) { return document.getElementById(id); }

  function element(tag, className, content) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (content !== undefined && content !== null) { node.textContent = content; }
    return node;
  }

  function setup() {
    var phone = byId("f-customer_phone");
    if (!phone) { return; }
    var panel = element("section", "intake-lookup");
    panel.id = "intake-lookup";
    panel.setAttribute("aria-live", "polite");
    phone.closest(".field").appendChild(panel);
    var timer = null;
    var lastAsked = null;
    var pending = null;

    function ask() {
      var value = phone.value.trim();
      var digits = value.replace(/\D/g, "");
      if (digits.length < 5) { panel.replaceChildren(); lastAsked = null; return; }
      if (value === lastAsked) { return; }
      lastAsked = value;
      if (pending) { pending.abort(); }
      pending = new AbortController();
      fetch(text.lookupUrl + "?phone=" + encodeURIComponent(value), {
        credentials: "same-origin",
        headers: { "Accept": "application/json" },
        signal: pending.signal
      }).then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      }).then(function (found) {
        if (phone.value.trim() === value) { show(panel, found); }
      }).catch(function (error) {
        if (error.name === "AbortError") { return; }
        panel.replaceChildren(element("p", "muted", text.failed));
      });
    }

    phone.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, DELAY_MS);
    });
    phone.addEventListener("change", ask);
    if (phone.value.trim()) { ask(); }
  }

  function show(panel, found) {
    panel.replaceChildren(element("h3", null, text.title));
    if (!found.open.length && !found.recent.length) {
      panel.appendChild(element("p", "muted", text.none));
      return;
    }
    [[text.open, found.open], [text.recent, found.recent]].forEach(function (part) {
      if (!part[1].length) { return; }
      panel.appendChild(element("h4", null, part[0]));
      var list = element("ul", "intake-complaints");
      part[1].forEach(function (complaint) { list.appendChild(row(panel, complaint)); });
      panel.appendChild(list);
      if (part[1] === found.open) {
        var choice = element("p", "actions");
        choice.appendChild(button(text.separate, "separate", function () { separate(panel); }));
        panel.appendChild(choice);
      }
    });
  }

  function row(panel, complaint) {
    var item = element("li");
    item.dataset.number = complaint.number;
    var head = element("p");
    head.appendChild(element("strong", null, complaint.number));
    var when = complaint.accepted_at_text ? " · " + text.accepted + " " + complaint.accepted_at_text : "";
    head.appendChild(document.createTextNode(" · " + complaint.status + " · " + complaint.stage + when));
    item.appendChild(head);
    if (complaint.description) { item.appendChild(element("p", "muted", complaint.description)); }
    var actions = element("p", "actions");
    if (complaint.status === "open") {
      actions.appendChild(button(text.same, "t2", function () { link(panel, complaint.number, false); }));
    } else {
      actions.appendChild(button(text.dissatisfied, "t3", function () { link(panel, complaint.number, true); }));
    }
    item.appendChild(actions);
    return item;
  }

  function button(label, kind, action) {
    var node = element("button", null, label);
    node.type = "button";
    node.dataset.action = kind;
    node.addEventListener("click", action);
    return node;
  }

  function setChecked(name, value, checked) {
    var box = document.querySelector('input[type="checkbox"][name="' + name + '"][value="' + value + '"]');
    if (box) { box.checked = checked; }
  }

  function note(panel, message) {
    var old = panel.querySelector(".intake-note");
    if (old) { old.remove(); }
    var node = element("p", "flash flash-info intake-note", message);
    node.setAttribute("role", "status");
    panel.appendChild(node);
  }

  function link(panel, number, dissatisfied) {
    var repeatOf = byId("f-repeat_of");
    var separateBox = byId("f-separate_matter");
    if (repeatOf) { repeatOf.value = number; }
    if (separateBox) { separateBox.checked = false; }
    note(panel, text.linked.replace("{number}", number));
    if (dissatisfied) {
      // T3: a new, linked order of the repeat type; the reason is required.
      setChecked("complaint_types", "ordinary", false);
      setChecked("complaint_types", "repeat", true);
      var reason = byId("f-repeat_reason");
      if (reason) { reason.focus(); }
    }
  }

  function separate(panel) {
    var repeatOf = byId("f-repeat_of");
    var separateBox = byId("f-separate_matter");
    if (repeatOf) { repeatOf.value = ""; }
    if (separateBox) { separateBox.checked = true; }
    note(panel, text.markedSeparate);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
