// floodlight console: what the pages do with JavaScript, all of it optional
// (every page works without it). Loaded from /assets/, never inline: the
// Content-Security-Policy allows no inline script.
(function () {
  "use strict";

  // <select data-autosubmit>: changing it submits its form.
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t && t.matches && t.matches("select[data-autosubmit]") && t.form) {
      t.form.requestSubmit ? t.form.requestSubmit() : t.form.submit();
    }
  });

  // Charts: <canvas data-chart="ID"> draws the JSON of <script type="application/json" id="ID">:
  // {"labels": [...], "datasets": [{"label": ..., "data": [...], "color": ...}], "stacked": true}
  function drawCharts() {
    if (typeof Chart === "undefined") { return; }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) { return; }
      var source = document.getElementById(canvas.dataset.chart);
      if (!source) { return; }
      var spec;
      try { spec = JSON.parse(source.textContent); } catch (err) { return; }
      canvas.dataset.drawn = "1";
      new Chart(canvas, {
        type: spec.type || "bar",
        data: {
          labels: spec.labels,
          datasets: spec.datasets.map(function (d) {
            return { label: d.label, data: d.data, backgroundColor: d.color, borderColor: d.color };
          })
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { position: "bottom" } },
          scales: {
            x: { stacked: !!spec.stacked },
            y: { stacked: !!spec.stacked, beginAtZero: true, ticks: { precision: 0 } }
          }
        }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", drawCharts);
  document.addEventListener("htmx:afterSettle", drawCharts);
})();
