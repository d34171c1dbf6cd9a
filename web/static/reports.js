// Reports page: chart.js charts from the page's figures, and the heat map per diagram (bpmn-js overlays
// on the map or any path, web/static/diagram-viewer.js).
(function () {
  "use strict";
  var COLOURS = ["#0b5cad", "#1a7f37", "#b35c00", "#8a1c13", "#6639ba", "#1b7c83", "#555"];

  function charts() {
    var source = document.getElementById("chart-data");
    if (!source || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var percent = { y: { min: 0, max: 100 } };
    var drawn = 0;
    function draw(id, config) {
      var canvas = document.getElementById(id);
      if (!canvas) { return; }
      config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options);
      canvas.chart = new Chart(canvas, config);
      drawn += 1;
    }
    draw("chart-on-time", {
      type: "bar",
      data: { labels: data.onTime.labels, datasets: [{ label: data.onTime.label, data: data.onTime.values, backgroundColor: COLOURS[0] }] },
      options: { scales: percent }
    });
    draw("chart-months", {
      type: "line",
      data: {
        labels: data.months.labels,
        datasets: data.months.series.map(function (s, i) {
          return { label: s.label, data: s.values, borderColor: COLOURS[i % COLOURS.length], spanGaps: true };
        })
      },
      options: { scales: percent }
    });
    draw("chart-business", {
      type: "bar",
      data: { labels: data.business.labels, datasets: [{ label: data.business.label, data: data.business.values, backgroundColor: COLOURS[1] }] },
      options: { indexAxis: "y" }
    });
    document.body.dataset.charts = String(drawn);
  }

  function heatColour(share) {
    // from pale amber (little time) to deep red (most time of any element)
    var hue = 40 - 40 * share;
    return "hsl(" + hue + ", 85%, " + (55 - 20 * share) + "%)";
  }

  function weight(figures) { return figures.minutes * figures.tasks; }

  // Badges on whichever diagram is shown (map or a path): each element's average time and count.
  function placeBadges(viewer, heat, most) {
    var overlays = viewer.viewer.get("overlays");
    var registry = viewer.viewer.get("elementRegistry");
    var placed = 0;
    Object.keys(heat).forEach(function (id) {
      if (!registry.get(id)) { return; }
      var figures = heat[id];
      var badge = document.createElement("span");
      badge.className = "heat-badge";
      badge.dataset.element = id;
      badge.style.background = heatColour(most ? weight(figures) / most : 0);
      badge.textContent = figures.minutes + " min × " + figures.tasks;
      if (figures.late) {
        var late = document.createElement("span");
        late.className = "late";
        late.textContent = "⚠ " + figures.late;
        badge.appendChild(late);
      }
      overlays.add(id, { position: { bottom: 4, left: 0 }, html: badge });
      placed += 1;
    });
    viewer.container.dataset.overlays = String(placed);
  }

  // "Show the slowest": the element of the shown diagram where complaints spent the most time.
  function slowest(viewer, heat) {
    var registry = viewer.viewer.get("elementRegistry");
    var best = null;
    Object.keys(heat).forEach(function (id) {
      if (registry.get(id) && (best === null || weight(heat[id]) > weight(heat[best]))) { best = id; }
    });
    return best ? [best] : [];
  }

  function heatMap() {
    var wrapper = document.getElementById("heat-diagram-viewer");
    if (!wrapper || typeof BpmnJS === "undefined" || typeof DiagramViewer === "undefined") { return; }
    var config = JSON.parse(wrapper.dataset.viewer);
    var heat = config.heat || {};
    var most = 0; // one colour scale across all diagrams, so two paths compare
    Object.keys(heat).forEach(function (id) { most = Math.max(most, weight(heat[id])); });
    config.labels = JSON.parse(wrapper.dataset.labels);
    config.onShown = function (viewer) { placeBadges(viewer, heat, most); };
    config.focus = function (viewer) { return slowest(viewer, heat); };
    new DiagramViewer(wrapper, config).load();
  }

  document.addEventListener("DOMContentLoaded", function () { charts(); heatMap(); });
})();
