// Overview live updates: new events, zone counts and camera availability from /api/live; the
// "waiting now" board's timers tick every second.
(function () {
  "use strict";
  function tick() {
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var s = Math.max(0, Math.floor(Date.now() / 1000 - parseFloat(el.dataset.since)));
      el.textContent = s < 60 ? s + " s" : Math.floor(s / 60) + " min " + String(s % 60).padStart(2, "0") + " s";
    });
  }
  tick();
  setInterval(tick, 1000);
  var body = document.getElementById("events");
  var live = document.getElementById("live");
  if (!body) return;
  var zones = JSON.parse(body.dataset.tz || "{}");
  var fallbackZone = body.dataset.defaultTz || "UTC";
  var onlySite = body.dataset.site || "";
  var max = parseInt(body.dataset.max || "50", 10);
  var labels = {
    track_start: "Person seen", track_end: "Person gone", zone_enter: "Entered zone",
    zone_exit: "Left zone", cue: "Staff cued", ack: "Acknowledged",
    left_unacknowledged: "Left unacknowledged"
  };
  var formats = {};
  var seen = new Set();

  function seconds(v) { return v == null ? "-" : Number(v).toFixed(1) + " s"; }
  function feet(v) { return v == null ? "-" : Number(v).toFixed(1) + " ft"; }
  function localTime(iso, site) {  // time of day; the date too when it is not today there
    var zone = zones[site] || fallbackZone;
    if (!formats[zone]) {
      var options = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
        minute: "2-digit", second: "2-digit", hourCycle: "h23" };
      try { formats[zone] = new Intl.DateTimeFormat("sv-SE", Object.assign({ timeZone: zone }, options)); }
      catch (e) { formats[zone] = new Intl.DateTimeFormat("sv-SE", Object.assign({ timeZone: "UTC" }, options)); }
    }
    if (!iso) return "-";
    var at = formats[zone].format(new Date(iso)).split(" ");
    return at[0] === formats[zone].format(new Date()).split(" ")[0] ? at[1] : at.join(" ");
  }
  function cell(text, cls) {
    var td = document.createElement("td");
    if (cls) td.className = cls;
    td.textContent = text;
    return td;
  }
  function detail(ev) {
    var td = document.createElement("td");
    if (ev.type === "ack") {
      td.append("acknowledged in ");
      var b = document.createElement("strong");
      b.textContent = seconds(ev.latency_s);
      td.append(b, ev.staff ? " by " + ev.staff : "");
    } else if (ev.type === "zone_enter" && ev.lead_s != null) {
      td.textContent = "cued " + seconds(ev.lead_s) + " ahead";
    } else if (ev.type === "cue") {
      td.textContent = ev.device + " (" + ev.reason + (ev.escalation ? ", escalation " + ev.escalation : "") + ")";
    } else if (ev.type === "left_unacknowledged") {
      td.textContent = "left after " + seconds(ev.open_s) + " unacknowledged";
    } else if (ev.type === "zone_exit") {
      td.textContent = seconds(ev.dwell_s) + " inside";
    } else if (ev.type === "track_end") {
      td.textContent = "tracked " + seconds(ev.duration_s);
    }
    return td;
  }
  body.querySelectorAll("tr[data-event-id]").forEach(function (tr) {
    seen.add(tr.dataset.eventId);
    var when = tr.querySelector("time[datetime]");
    if (when) when.textContent = localTime(when.getAttribute("datetime"), tr.dataset.site);
  });
  function addEvent(ev) {
    if (!ev || !ev.id || seen.has(ev.id)) return;  // at-least-once delivery: drop repeats
    if (onlySite && ev.site !== onlySite) return;
    seen.add(ev.id);
    var tr = document.createElement("tr");
    tr.dataset.eventId = ev.id;
    tr.dataset.site = ev.site;
    tr.className = "fresh";
    tr.append(
      cell(localTime(ev.captured_at, ev.site), "when"),
      cell(labels[ev.type] || ev.type, "type type-" + ev.type),
      cell(ev.site + " / " + ev.camera),
      cell(ev.track_id == null ? "-" : String(ev.track_id), "num"),
      cell(ev.zone || "-"),
      cell(feet(ev.distance_ft), "num"),
      detail(ev)
    );
    var none = body.querySelector("tr.noevents");
    if (none) none.remove();
    body.insertBefore(tr, body.firstChild);
    var rows = body.querySelectorAll("tr[data-event-id]");
    for (var i = rows.length - 1; i >= max; i--) {
      seen.delete(rows[i].dataset.eventId);
      rows[i].remove();
    }
  }
  function card(site, camera) {
    var cards = document.querySelectorAll(".camera");
    for (var i = 0; i < cards.length; i++) {
      if (cards[i].dataset.site === site && cards[i].dataset.camera === camera) return cards[i];
    }
    return null;
  }
  var reloading = false;
  function newCamera(site) {  // a camera this page has no card for: draw the page again
    var filter = document.getElementById("site");
    if (reloading || (filter && filter.value && filter.value !== site)) return;
    reloading = true;
    setTimeout(function () { location.reload(); }, 1000);
  }
  function updateZone(z) {
    var c = z && card(z.site, z.camera);
    if (!c) { if (z) newCamera(z.site); return; }
    var tbody = c.querySelector("tbody.zones");
    var row = null;
    tbody.querySelectorAll("tr[data-zone]").forEach(function (tr) { if (tr.dataset.zone === z.zone) row = tr; });
    if (!row) {
      row = document.createElement("tr");
      row.dataset.zone = z.zone;
      row.dataset.radius = z.radius_ft;
      row.append(cell(z.zone), cell("", "num count"), cell("", "num nearest"));
      var after = null;  // outermost ring first
      tbody.querySelectorAll("tr[data-zone]").forEach(function (tr) {
        if (!after && parseFloat(tr.dataset.radius) < z.radius_ft) after = tr;
      });
      tbody.insertBefore(row, after);
      var none = tbody.querySelector("tr.nozones");
      if (none) none.remove();
    }
    row.querySelector(".count").textContent = z.count;
    row.querySelector(".nearest").textContent = feet(z.nearest_ft);
  }
  function updateCamera(m) {
    var c = m && card(m.site, m.camera);
    if (!c) { if (m) newCamera(m.site); return; }
    c.dataset.online = m.online ? "true" : "false";
    var badge = c.querySelector(".badge");
    badge.className = "badge " + (m.online ? "online" : "offline");
    badge.textContent = m.online ? "Online" : "Offline";
    var since = c.querySelector(".since");
    if (since) since.textContent = (m.online ? "Online" : "Offline") + " since " + localTime(new Date().toISOString(), m.site);
  }
  function status(text, cls) {
    if (!live) return;
    live.textContent = text;
    live.className = "badge live " + cls;
  }
  // Today's figures and the waiting-now board follow cues, acks and customers leaving.
  var refreshTimer = 0;
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refreshToday, 500);
  }
  function shown(key, v) {
    if (v == null) return "-";
    return key === "within_goal" ? Math.round(v * 100) + " %" : key.slice(-2) === "_s" ? seconds(v) : String(v);
  }
  function refreshToday() {
    var query = onlySite ? "?site=" + encodeURIComponent(onlySite) : "";
    fetch("/api/overview" + query, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data || !data.today) return;
        document.querySelectorAll("[data-today]").forEach(function (el) {
          el.textContent = shown(el.dataset.today, data.today.overall[el.dataset.today]);
        });
        var tiles = document.getElementById("today");
        if (tiles) tiles.classList.toggle("none", data.today.overall.customers === 0);
        var board = document.getElementById("waiting-now"), count = document.getElementById("waiting-count");
        if (!board) return;
        var waiting = data.today.waiting_now || [];
        if (count) count.textContent = String(waiting.length);
        board.replaceChildren.apply(board, waiting.length ? waiting.map(function (c) {
          var li = document.createElement("li"), since = document.createElement("span");
          li.dataset.site = c.site;
          since.className = "elapsed";
          since.dataset.since = String(c.cued_s);
          li.append(since, (c.reason === "waiting" ? "Waiting at the counter" : "Coming") + " · " + c.site + " / " + c.camera);
          return li;
        }) : [Object.assign(document.createElement("li"), { className: "muted", id: "nobody-waiting", textContent: "Nobody is waiting." })]);
        tick();
      })
      .catch(function () { /* the next update tries again */ });
  }
  function parse(handler) {
    return function (message) {
      try { handler(JSON.parse(message.data)); } catch (e) { /* a malformed update is skipped */ }
    };
  }
  if (!window.EventSource) { status("Live updates unavailable", "closed"); return; }
  var source = new EventSource("/api/live");
  source.addEventListener("open", function () { status("Live", "online"); });
  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) status("Offline: reload the page", "closed");
    else status("Reconnecting…", "reconnecting");
  });
  source.addEventListener("event", parse(function (ev) {
    addEvent(ev);
    if (ev.type === "cue" || ev.type === "ack" || ev.type === "left_unacknowledged") refreshSoon();
  }));
  source.addEventListener("zone", parse(updateZone));
  source.addEventListener("camera", parse(updateCamera));

  var select = document.getElementById("site");
  if (select) select.addEventListener("change", function () { select.form.submit(); });
})();
