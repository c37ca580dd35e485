// Acknowledgement charts: latency histogram and p50/p90 trend, drawn with uPlot from the
// report embedded in the page (#report-data).
(function () {
  "use strict";
  var data = document.getElementById("report-data");
  if (!data || !window.uPlot) return;
  var report = JSON.parse(data.textContent);
  var goals = report.goals || [];
  var HEIGHT = 260;
  var charts = {};

  function seconds(v) { return v == null ? "-" : v.toFixed(1) + " s"; }
  function minutes(hhmm) { var p = hhmm.split(":"); return +p[0] * 60 + +p[1]; }
  function goalAt(minute) {
    for (var i = 0; i < goals.length; i++) {
      var s = minutes(goals[i].start), e = minutes(goals[i].end) || 1440;
      if (e > s ? minute >= s && minute < e : minute >= s || minute < e) return goals[i].goal_s;
    }
    return null;
  }
  var goalValues = goals.map(function (g) { return g.goal_s; })
    .filter(function (v, i, all) { return all.indexOf(v) === i; }).sort(function (a, b) { return a - b; });

  function width(el) { return Math.max(280, el.clientWidth); }
  function ticks(xs, el) {  // at most one label per ~70 px
    var step = Math.max(1, Math.ceil(xs.length / Math.max(1, Math.floor(width(el) / 70))));
    return function () { return xs.filter(function (_, i) { return i % step === 0; }); };
  }
  function dashed(u, y0, y1, x0, x1, text, row) {
    var ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = "#0a6b2d"; ctx.fillStyle = "#0a6b2d";
    ctx.lineWidth = 2 * devicePixelRatio; ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
    ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1, y1); ctx.stroke();
    ctx.font = 12 * devicePixelRatio + "px system-ui, sans-serif";
    ctx.textAlign = "left"; ctx.textBaseline = "alphabetic";
    if (text) ctx.fillText(text, x0 + 4 * devicePixelRatio, y0 + (14 + 14 * (row || 0)) * devicePixelRatio);
    ctx.restore();
  }
  function yAxis() {
    return { label: "seconds", values: function (u, vals) { return vals.map(function (v) { return v + " s"; }); } };
  }

  function histogram(el) {
    var bins = report.histogram || [];
    var xs = bins.map(function (_, i) { return i; });
    var labels = bins.map(function (b) { return b.to_s == null ? b.from_s + "+" : b.from_s + "–" + b.to_s; });
    var counts = bins.map(function (b) { return b.count; });
    function position(g) {  // goal seconds on the uneven bin axis
      for (var i = 0; i < bins.length; i++) {
        var b = bins[i];
        if (b.to_s == null || g < b.to_s) return i - 0.5 + (b.to_s == null ? 0 : (g - b.from_s) / (b.to_s - b.from_s));
      }
      return bins.length - 0.5;
    }
    return new uPlot({
      width: width(el), height: HEIGHT,
      scales: { x: { time: false, range: [-0.6, bins.length - 0.4] }, y: { range: function (u, lo, hi) { return [0, Math.max(1, hi * 1.1)]; } } },
      axes: [
        { label: "seconds from cue to acknowledgement", splits: ticks(xs, el), values: function (u, v) { return v.map(function (i) { return labels[i]; }); }, grid: { show: false } },
        { label: "customers" }
      ],
      series: [
        { label: "seconds", value: function (u, i) { return i == null ? "-" : labels[i] + " s"; } },
        { label: "customers", fill: "#0b57d0", stroke: "#0b57d0", width: 0, paths: uPlot.paths.bars({ size: [0.85, 80] }), points: { show: false } }
      ],
      hooks: { draw: [function (u) {
        goalValues.forEach(function (g, i) {
          var x = u.valToPos(position(g), "x", true);
          dashed(u, u.bbox.top, u.bbox.top + u.bbox.height, x, x, "goal " + g + " s", i);
        });
      }] }
    }, [xs, counts], el);
  }

  function trend(el, mode) {
    var rows = report[mode] || [];
    var xs, labels = {}, goal, goalLabel = "goal";
    if (mode === "by_hour") {
      xs = rows.map(function (r) { return parseInt(r.key, 10); });
      rows.forEach(function (r, i) { labels[xs[i]] = r.key; });
      goal = xs.map(function (h) { return goalAt(h * 60); });
    } else if (mode === "by_day") {
      xs = rows.map(function (r) { return Math.round(Date.parse(r.key + "T00:00:00Z") / 86400000); });
      rows.forEach(function (r, i) { labels[xs[i]] = r.key.slice(5); });
      goal = xs.map(function () { return goalValues[0]; });
      if (goalValues.length > 1) goalLabel = "goal (strictest daypart)";
    } else {
      xs = rows.map(function (_, i) { return i; });
      rows.forEach(function (r, i) { labels[i] = r.key; });
      goal = rows.map(function (r) {
        var g = goals.filter(function (p) { return p.name === r.key; })[0];
        return g ? g.goal_s : null;
      });
    }
    var lo = xs.length ? xs[0] : 0, hi = xs.length ? xs[xs.length - 1] : 1;
    function line(label, color, key) {
      return { label: label, stroke: color, width: 2.5, spanGaps: false, points: { show: true, size: 6, fill: color },
        value: function (u, v) { return seconds(v); } };
    }
    return new uPlot({
      width: width(el), height: HEIGHT,
      scales: { x: { time: false, range: [lo - 0.5, hi + 0.5] },
        y: { range: function (u, a, b) { return [0, Math.max(1, b * 1.15)]; } } },
      axes: [
        { splits: ticks(xs, el), values: function (u, v) { return v.map(function (x) { return labels[x] || ""; }); }, grid: { show: false } },
        yAxis()
      ],
      series: [
        { label: mode === "by_hour" ? "hour" : mode === "by_day" ? "day" : "daypart", value: function (u, x) { return x == null ? "-" : labels[x] || ""; } },
        line("p50", "#0b57d0"),
        line("p90", "#b45309"),
        { label: goalLabel, stroke: "#0a6b2d", width: 2, dash: [6, 4], points: { show: false },
          paths: mode === "by_daypart" ? function () { return null; } : mode === "by_hour" ? uPlot.paths.stepped({ align: 1 }) : undefined,
          value: function (u, v) { return seconds(v); } }
      ],
      hooks: { draw: [function (u) {  // a daypart's goal: a level mark across its slot
        if (mode !== "by_daypart") return;
        goal.forEach(function (g, i) {
          if (g == null) return;
          var y = u.valToPos(g, "y", true);
          dashed(u, y, y, u.valToPos(i - 0.4, "x", true), u.valToPos(i + 0.4, "x", true), "");
        });
      }] }
    }, [xs, rows.map(function (r) { return r.p50_s; }), rows.map(function (r) { return r.p90_s; }), goal], el);
  }

  var histEl = document.getElementById("histogram");
  var trendEl = document.getElementById("trend");
  var mode = "by_hour";
  function drawTrend() {
    if (!trendEl) return;
    if (charts.trend) charts.trend.destroy();
    trendEl.textContent = "";
    if (!(report[mode] || []).length) { trendEl.textContent = "No customers in this range."; return; }
    charts.trend = trend(trendEl, mode);
  }
  if (histEl) charts.histogram = histogram(histEl);
  drawTrend();
  document.querySelectorAll("[data-trend]").forEach(function (button) {
    button.addEventListener("click", function () {
      mode = button.dataset.trend;
      document.querySelectorAll("[data-trend]").forEach(function (b) { b.setAttribute("aria-pressed", String(b === button)); });
      drawTrend();
    });
  });
  var timer = null;
  window.addEventListener("resize", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      if (charts.histogram && histEl) { charts.histogram.destroy(); charts.histogram = histogram(histEl); }
      drawTrend();
    }, 150);
  });
})();
