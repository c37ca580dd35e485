// Overview live updates: new events, zone counts and camera availability from /api/live, each
// camera's figures and warnings from /api/overview; the "waiting now" board's timers and the
// cameras' "offline for 12 min" tick every second.
(function () {
  "use strict";
  function span(s) {  // as dashboard/web/render.py's span says it
    s = Math.max(0, Math.floor(s));
    var m = Math.floor(s / 60), h = Math.floor(s / 3600), d = Math.floor(s / 86400);
    if (s < 60) return s + " s";
    if (m < 60) return m + " min";
    if (h < 24) return h + " h" + (m % 60 ? " " + (m % 60) + " min" : "");
    return d + (d === 1 ? " day" : " days") + (h % 24 ? " " + (h % 24) + " h" : "");
  }
  function tick() {
    var now = Date.now() / 1000;
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var s = Math.max(0, Math.floor(now - parseFloat(el.dataset.since)));
      el.textContent = s < 60 ? s + " s" : Math.floor(s / 60) + " min " + String(s % 60).padStart(2, "0") + " s";
    });
    document.querySelectorAll("[data-for]").forEach(function (el) {
      el.textContent = el.dataset.state + " for " + span(now - parseFloat(el.dataset.for));
    });
    document.querySelectorAll("[data-ago]").forEach(function (el) {
      el.textContent = span(now - parseFloat(el.dataset.ago));
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
  function line(site, camera) {
    var lines = document.querySelectorAll("#cameras .camera");
    for (var i = 0; i < lines.length; i++) {
      if (lines[i].dataset.site === site && lines[i].dataset.camera === camera) return lines[i];
    }
    return null;
  }
  var reloading = false;
  function newCamera(site) {  // a camera this page has no line for: draw the page again
    var filter = document.getElementById("site");
    if (reloading || (filter && filter.value && filter.value !== site)) return;
    reloading = true;
    setTimeout(function () { location.reload(); }, 1000);
  }
  function updateZone(z) {
    var c = z && line(z.site, z.camera);
    if (!c) { if (z) newCamera(z.site); return; }
    var people = c.querySelector(".people");
    var spot = null;
    people.querySelectorAll("[data-zone]").forEach(function (el) { if (el.dataset.zone === z.zone) spot = el; });
    if (!spot) {
      spot = document.createElement("span");
      spot.dataset.zone = z.zone;
      spot.dataset.radius = z.radius_ft;
      var count = document.createElement("b");
      count.className = "count";
      spot.append(z.zone + " ", count);
      var after = null;  // outermost ring first
      people.querySelectorAll("[data-zone]").forEach(function (el) {
        if (!after && parseFloat(el.dataset.radius) < z.radius_ft) after = el;
      });
      people.insertBefore(spot, after);
    }
    spot.querySelector(".count").textContent = z.count;
    c.querySelector("[data-ago]").dataset.ago = String(Date.now() / 1000);
  }
  function setState(c, online, changedS) {
    var state = online ? "Online" : "Offline";
    c.dataset.online = online ? "true" : "false";
    var badge = c.querySelector(".badge"), since = c.querySelector("[data-for]");
    badge.className = "badge " + state.toLowerCase();
    since.dataset.state = state;
    since.dataset.for = String(changedS);
  }
  function updateCamera(m) {  // an availability change, as it happens
    var c = m && line(m.site, m.camera);
    if (!c) { if (m) newCamera(m.site); return; }
    setState(c, m.online, Date.now() / 1000);
    c.querySelector("[data-ago]").dataset.ago = String(Date.now() / 1000);
    if (!m.online) {
      c.querySelector(".warnings").replaceChildren();
      c.querySelector(".fps").textContent = "- fps";
    }
    tick();
    refreshSoon();
  }
  function drawCamera(cam) {  // the stored figures: fps, last report, warnings
    var c = line(cam.site, cam.camera);
    if (!c) return;
    setState(c, cam.online, cam.changed_s);
    c.querySelector(".fps").textContent = (cam.online && cam.metrics ? Number(cam.metrics.fps).toFixed(1) : "-") + " fps";
    c.querySelector("[data-ago]").dataset.ago = String(cam.seen_s);
    c.querySelector(".warnings").replaceChildren.apply(c.querySelector(".warnings"), (cam.warnings || []).map(function (w) {
      return Object.assign(document.createElement("span"), { className: "warn", title: w.why, textContent: w.word });
    }));
  }
  function status(text, cls) {
    if (!live) return;
    live.textContent = text;
    live.className = "badge live " + cls;
  }
  // Today's figures and the waiting-now board follow cues, acks and customers leaving.
  var refreshTimer = 0, CAMERAS_S = 15;
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
        (data.cameras || []).forEach(drawCamera);
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
  setInterval(refreshToday, CAMERAS_S * 1000);  // fps, last report and warnings come with metrics

  var select = document.getElementById("site");
  if (select) select.addEventListener("change", function () { select.form.submit(); });
})();
