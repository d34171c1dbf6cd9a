// Polls a migration run's progress (JSON) and updates the bar until the run is done.
(function () {
  "use strict";
  var root = document.getElementById("run");
  if (!root || root.dataset.status === "done") {
    return;
  }
  var bar = document.getElementById("run-progress");
  function show(progress) {
    bar.value = progress.percent;
    bar.textContent = progress.percent + "%";
    ["done", "total", "moved", "blocked", "skipped"].forEach(function (name) {
      var field = root.querySelector('[data-field="' + name + '"]');
      if (field) {
        field.textContent = progress[name];
      }
    });
    if (progress.status === "done") {
      var status = document.getElementById("run-status");
      status.textContent = status.dataset.done;
      var revert = document.getElementById("revert-form");
      if (revert) {
        revert.hidden = false;
      }
      return true;
    }
    return false;
  }
  function poll() {
    fetch(root.dataset.progressUrl, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (progress) {
        if (!show(progress)) {
          window.setTimeout(poll, 500);
        }
      });
  }
  poll();
})();
