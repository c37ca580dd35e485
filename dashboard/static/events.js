// Event log: add the local date to each time (the server renders the time of day in the
// store's zone).
(function () {
  "use strict";
  var formats = {};
  document.querySelectorAll("time[data-tz]").forEach(function (t) {
    var zone = t.dataset.tz;
    try {
      formats[zone] = formats[zone] || new Intl.DateTimeFormat("sv-SE", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
      t.textContent = formats[zone].format(new Date(t.getAttribute("datetime")));
    } catch (e) { /* keep the server's time of day */ }
  });
})();
