// Draws an instance's diagram with bpmn-js and marks what is done, current and overdue.
(function () {
  "use strict";
  function draw() {
    var container = document.getElementById("diagram");
    if (!container || typeof BpmnJS === "undefined") { return; }
    var marks = JSON.parse(container.dataset.marks);
    var viewer = new BpmnJS({ container: container });
    fetch(container.dataset.xmlUrl, { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function (result) {
        container.dataset.warnings = String(result.warnings.length);
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        [["completed", "done"], ["current", "current"], ["overdue", "overdue"]].forEach(function (pair) {
          marks[pair[0]].forEach(function (id) {
            if (registry.get(id)) { canvas.addMarker(id, pair[1]); }
          });
        });
        canvas.zoom("fit-viewport");
        container.dataset.rendered = "true";
      })
      .catch(function (error) {
        container.dataset.rendered = "error";
        container.textContent = "The diagram could not be drawn: " + error.message;
      });
  }
  document.addEventListener("DOMContentLoaded", draw);
})();
