// A version's diagrams in one bpmn-js NavigatedViewer: the map first, a call activity opens the
// process it calls (click, or the "open path" buttons under the diagram for keyboard users), a
// breadcrumb leads back, and zoom in / zoom out / fit / show current move the view.
//
// Shared by the complaint page (marks per call chain: done, now, overdue) and the report's heat
// map (a diagram picker and badges per element). The diagrams come from
// /versions/<n>/diagrams.json (one immutable document per version, cached by the browser).
//
// Readable first view: a diagram is fitted only if that keeps it at MIN_SCALE or more; otherwise,
// and always on a path diagram, it opens at MIN_SCALE or more with the current element centred.
(function () {
  "use strict";

  var MIN_SCALE = 0.6; // labels stay legible (issue 10: at least 0.6 on a 1600 x 900 window)
  var STEP = 1.25;
  var SCALE_RANGE = [0.1, 4];

  function DiagramViewer(wrapper, options) {
    this.wrapper = wrapper;
    this.options = options;
    this.container = wrapper.querySelector(".diagram");
    this.labels = options.labels || {};
    this.viewer = new BpmnJS({ container: this.container });
    this.container.bpmnViewer = this.viewer; // for tests and the console
    this.views = 0;
    this.chain = [];
    this.process = null;
    this.scopes = {};
    (options.scopes || []).forEach(function (marks) { this.scopes[marks.scope.join("/")] = marks; }, this);
    this._wire();
  }

  DiagramViewer.prototype.load = function () {
    var self = this;
    return fetch(this.options.diagramsUrl, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (bundle) {
        self.bundle = bundle;
        self.byProcess = {};
        bundle.diagrams.forEach(function (diagram) { self.byProcess[diagram.process] = diagram; });
        self.wrapper.dataset.diagrams = String(bundle.diagrams.length);
        var hint = self.wrapper.querySelector(".diagram-hint");
        if (hint) { hint.hidden = bundle.diagrams.length < 2; } // one flat diagram: nothing to open
        self._fillPicker();
        var start = self.options.start || [];
        return self.openChain(self._validChain(start));
      })
      .catch(function (error) { self._failed(error); });
  };

  // A chain of call-activity ids from the map; the process shown is what the last one calls.
  DiagramViewer.prototype.openChain = function (chain) {
    var process = this.bundle.main;
    for (var i = 0; i < chain.length; i += 1) {
      process = this.byProcess[process].calls[chain[i]];
    }
    return this._show(chain, process);
  };

  // The heat map's picker: any diagram, reached by its first call chain (or alone).
  DiagramViewer.prototype.openProcess = function (process) {
    return this._show(this._chainTo(process) || [], process);
  };

  DiagramViewer.prototype._show = function (chain, process) {
    var self = this;
    var diagram = this.byProcess[process];
    if (!diagram) { return Promise.reject(new Error("no diagram draws " + process)); }
    var xml = this.bundle.files[diagram.file];
    var asked = this.asked = (this.asked || 0) + 1; // two quick clicks: the last one wins
    var imported = diagram.diagram ? this.viewer.importXML(xml, diagram.diagram) : this.viewer.importXML(xml);
    return imported.then(function (result) {
      if (asked !== self.asked) { return; }
      self.chain = chain;
      self.process = process;
      self.container.dataset.warnings = String(result.warnings.length);
      self._mark();
      if (self.options.onShown) { self.options.onShown(self, diagram); }
      self._crumbs();
      self._pathButtons();
      self._initialView();
      self.views += 1;
      self.container.dataset.process = process;
      self.container.dataset.scope = chain.join("/");
      self.container.dataset.views = String(self.views);
      self.container.dataset.rendered = "true";
      if (self.picker) { self.picker.value = process; }
    }).catch(function (error) { self._failed(error); });
  };

  DiagramViewer.prototype.marks = function () {
    return this.scopes[this.chain.join("/")] || { completed: [], current: [], focus: [], flagged: [] };
  };

  DiagramViewer.prototype.calls = function () {
    return this.byProcess[this.process].calls;
  };

  DiagramViewer.prototype._mark = function () {
    var canvas = this.viewer.get("canvas");
    var registry = this.viewer.get("elementRegistry");
    var marks = this.marks();
    [["completed", "done"], ["current", "current"], ["flagged", "overdue"]].forEach(function (pair) {
      (marks[pair[0]] || []).forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, pair[1]); }
      });
    });
    Object.keys(this.calls()).forEach(function (id) {
      if (registry.get(id)) { canvas.addMarker(id, "drillable"); }
    });
  };

  // What "show current" centres on: the caller's choice, else the ready tasks, else anything current.
  DiagramViewer.prototype.focusIds = function () {
    if (this.options.focus) { return this.options.focus(this); }
    var marks = this.marks();
    return (marks.focus && marks.focus.length) ? marks.focus : (marks.current || []);
  };

  DiagramViewer.prototype._focusElements = function () {
    var registry = this.viewer.get("elementRegistry");
    return this.focusIds().map(function (id) { return registry.get(id); }).filter(Boolean);
  };

  DiagramViewer.prototype._initialView = function () {
    var canvas = this.viewer.get("canvas");
    var fitted = canvas.zoom("fit-viewport", "auto");
    var focus = this._focusElements();
    if (focus.length && (this.chain.length || fitted < MIN_SCALE)) {
      this.centreOn(focus, Math.min(1, Math.max(fitted, MIN_SCALE)));
    } else if (fitted < MIN_SCALE) {
      this._readableStart();
    }
  };

  // Nothing current on a large diagram: its left edge (flows run left to right) at MIN_SCALE.
  DiagramViewer.prototype._readableStart = function () {
    var canvas = this.viewer.get("canvas");
    var box = canvas.viewbox();
    var width = box.outer.width / MIN_SCALE;
    var height = box.outer.height / MIN_SCALE;
    canvas.viewbox({
      x: box.inner.x - 20,
      y: box.inner.y + box.inner.height / 2 - height / 2,
      width: width,
      height: height
    });
  };

  DiagramViewer.prototype.centreOn = function (elements, scale) {
    var canvas = this.viewer.get("canvas");
    var root = canvas.findRoot(elements[0]);
    if (root && root !== canvas.getRootElement()) { canvas.setRootElement(root); } // a collapsed subprocess
    elements = elements.filter(function (element) { return canvas.findRoot(element) === canvas.getRootElement(); });
    var left = Infinity, top = Infinity, right = -Infinity, bottom = -Infinity;
    elements.forEach(function (element) {
      var points = element.waypoints || [{ x: element.x, y: element.y }, { x: element.x + element.width, y: element.y + element.height }];
      points.forEach(function (point) {
        left = Math.min(left, point.x); right = Math.max(right, point.x);
        top = Math.min(top, point.y); bottom = Math.max(bottom, point.y);
      });
    });
    var outer = canvas.viewbox().outer;
    var width = outer.width / scale, height = outer.height / scale;
    canvas.viewbox({
      x: (left + right) / 2 - width / 2,
      y: (top + bottom) / 2 - height / 2,
      width: width,
      height: height
    });
  };

  DiagramViewer.prototype.act = function (action) {
    var canvas = this.viewer.get("canvas");
    var scale = canvas.zoom();
    if (action === "zoom-in") {
      canvas.zoom(Math.min(SCALE_RANGE[1], scale * STEP));
    } else if (action === "zoom-out") {
      canvas.zoom(Math.max(SCALE_RANGE[0], scale / STEP));
    } else if (action === "fit") {
      canvas.zoom("fit-viewport", "auto");
    } else if (action === "current") {
      var focus = this._focusElements();
      if (focus.length) {
        this.centreOn(focus, Math.min(SCALE_RANGE[1], Math.max(scale, MIN_SCALE)));
      } else {
        this._announce(this.labels.nothingCurrent || "");
      }
    }
  };

  DiagramViewer.prototype._wire = function () {
    var self = this;
    this.wrapper.querySelectorAll("[data-action]").forEach(function (button) {
      button.addEventListener("click", function () { if (self.process) { self.act(button.dataset.action); } });
    });
    this.viewer.on("element.click", function (event) {
      var id = event.element && event.element.businessObject && event.element.businessObject.id;
      if (id && self.process && self.calls()[id]) { self.openChain(self.chain.concat([id])); }
    });
    this.picker = this.wrapper.querySelector(".diagram-picker");
    if (this.picker) {
      this.picker.addEventListener("change", function () { self.openProcess(self.picker.value); });
    }
  };

  DiagramViewer.prototype._fillPicker = function () {
    if (!this.picker) { return; }
    this.picker.textContent = "";
    this.bundle.diagrams.forEach(function (diagram, position) {
      var option = document.createElement("option");
      option.value = diagram.process;
      option.textContent = (position === 0 && this.bundle.diagrams.length > 1 ? (this.labels.map || "") + ": " : "") + diagram.name;
      this.picker.appendChild(option);
    }, this);
    this.picker.disabled = this.bundle.diagrams.length < 2;
  };

  DiagramViewer.prototype._crumbs = function () {
    var list = this.wrapper.querySelector(".diagram-crumbs ol");
    if (!list) { return; }
    list.textContent = "";
    var self = this;
    var process = this.bundle.main;
    for (var depth = 0; depth <= this.chain.length; depth += 1) {
      if (depth > 0) { process = this.byProcess[process].calls[this.chain[depth - 1]]; }
      var item = document.createElement("li");
      var name = this.byProcess[process].name;
      if (depth === this.chain.length) {
        item.textContent = name;
        item.setAttribute("aria-current", "page");
      } else {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "link";
        button.textContent = name;
        button.dataset.depth = String(depth);
        button.addEventListener("click", (function (prefix) {
          return function () { self.openChain(prefix); };
        })(this.chain.slice(0, depth)));
        item.appendChild(button);
      }
      list.appendChild(item);
    }
  };

  DiagramViewer.prototype._pathButtons = function () {
    var list = this.wrapper.querySelector(".diagram-paths");
    if (!list) { return; }
    list.textContent = "";
    var self = this;
    var calls = this.calls();
    var registry = this.viewer.get("elementRegistry");
    var marks = this.marks();
    var ids = Object.keys(calls); // in reading order (the server sorts call activities left to right)
    ids.forEach(function (id) {
      var element = registry.get(id);
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.dataset.call = id;
      var label = (element && element.businessObject.name) || (self.byProcess[calls[id]] || {}).name || id;
      button.textContent = (self.labels.openPath || "{name}").replace("{name}", label);
      button.addEventListener("click", function () { self.openChain(self.chain.concat([id])); });
      item.appendChild(button);
      if ((marks.current || []).indexOf(id) >= 0) {
        item.className = "now";
        var now = document.createElement("span");
        now.className = "muted";
        now.textContent = " · " + (self.labels.now || "");
        item.appendChild(now);
      }
      list.appendChild(item);
    });
    list.hidden = ids.length === 0;
  };

  DiagramViewer.prototype._chainTo = function (process) {
    var queue = [[this.bundle.main, []]], seen = {};
    while (queue.length) {
      var next = queue.shift();
      if (next[0] === process) { return next[1]; }
      if (seen[next[0]] || !this.byProcess[next[0]]) { continue; }
      seen[next[0]] = true;
      var calls = this.byProcess[next[0]].calls;
      Object.keys(calls).forEach(function (id) { queue.push([calls[id], next[1].concat([id])]); });
    }
    return null;
  };

  // A start chain from the server (the current path) that this version can open.
  DiagramViewer.prototype._validChain = function (chain) {
    var process = this.bundle.main;
    for (var i = 0; i < chain.length; i += 1) {
      var called = this.byProcess[process] && this.byProcess[process].calls[chain[i]];
      if (!called || !this.byProcess[called]) { return chain.slice(0, i); }
      process = called;
    }
    return chain;
  };

  DiagramViewer.prototype._announce = function (text) {
    var status = this.wrapper.querySelector(".diagram-status");
    if (status) { status.textContent = text; }
  };

  DiagramViewer.prototype._failed = function (error) {
    this.container.dataset.rendered = "error";
    this.container.textContent = (this.labels.failed || "The diagram could not be drawn:") + " " + error.message;
  };

  window.DiagramViewer = DiagramViewer;
})();
