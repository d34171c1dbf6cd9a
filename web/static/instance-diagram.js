// The complaint page: the version's map with this complaint's current path, drill-down into each path
// (web/static/diagram-viewer.js), marks per call chain computed by the server (engine/instance_path.py).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var wrapper = document.getElementById("diagram-viewer");
    if (!wrapper || typeof BpmnJS === "undefined" || typeof DiagramViewer === "undefined") { return; }
    var config = JSON.parse(wrapper.dataset.viewer);
    config.labels = JSON.parse(wrapper.dataset.labels);
    new DiagramViewer(wrapper, config).load();
  });
})();
