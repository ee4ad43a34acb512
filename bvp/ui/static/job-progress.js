// Follows the jobs a sensor page's buttons or upload queued: their status every 2 s,
// then the page again (new forecasts on the chart) once none waits or runs.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var list = document.querySelector("[data-progress]");
  if (!list) return;
  var url = list.dataset.progress;
  var pending = ["queued", "started", "scheduled", "deferred"];
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (body) {
        var waiting = false;
        (body.jobs || []).forEach(function (job) {
          var cell = list.querySelector('[data-job="' + job.id + '"]');
          if (cell) cell.textContent = job.status;
          if (pending.indexOf(job.status) >= 0) waiting = true;
        });
        if (waiting || body.error) {
          setTimeout(poll, 2000);
        } else if (!sessionStorage.getItem(url)) {
          sessionStorage.setItem(url, "shown");  // once: the reloaded page stops here
          window.location.reload();
        }
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  poll();
});
