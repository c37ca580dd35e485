// greetcue staff page: cues arrive over Server-Sent Events; a new cue flashes the screen in its
// zone colour (once, however many come at once), vibrates and beeps; "Acknowledge" posts the
// shown cue, which is the customer waiting longest, with the time since their cue.
// <body data-state> is one of idle | cue | acked | offline (acked shows briefly; a shown cue
// wins over a lost connection). While on duty the screen is kept on where the browser allows.
(() => {
  "use strict";
  const config = JSON.parse(document.getElementById("staff-config").textContent);
  const $ = (id) => document.getElementById(id);
  const body = document.body, conn = $("connection"), text = $("cue-text"), detail = $("cue-detail");
  const more = $("cue-more"), escalation = $("cue-escalation"), age = $("cue-age"), button = $("ack-button"), notice = $("notice"), flash = $("flash");
  const theme = document.querySelector('meta[name="theme-color"]');
  const THEME = theme ? theme.content : "#0b1220";
  const ACKED_MS = 1500, NOTICE_MS = 5000, REMEMBER = 200, STALL_MS = 45000, ACK_TIMEOUT_MS = 10000;
  const FLASH_MS = 900, FLASH_GAP_MS = 5000;  // one flash per burst of cues, never a strobe

  const cues = new Map();  // open cues by cue_id
  let offsetMs = 0;        // server clock minus ours, from hello.server_time
  let source = null, connected = false, everConnected = false, revoked = false;
  let retryMs = 2000, retryTimer = 0, lastEvent = Date.now(), pings = false;
  let sending = null, ackedUntil = 0, noticeTimer = 0, flashTimer = 0, lastFlash = 0;
  let audio = null, wakeLock = null;

  // Cue ids remembered across reconnects and reloads, oldest dropped past REMEMBER.
  // seen: id -> highest escalation already alerted; done: id -> why it is closed (never shown again).
  function memory(name) {
    const key = `greetcue:${config.device}:${name}`;
    let map;
    try { map = new Map(JSON.parse(localStorage.getItem(key) || "[]")); } catch { map = new Map(); }
    return {
      get: (id) => map.get(id),
      has: (id) => map.has(id),
      set(id, value) {
        map.delete(id);
        map.set(id, value);
        while (map.size > REMEMBER) map.delete(map.keys().next().value);
        try { localStorage.setItem(key, JSON.stringify([...map])); } catch { /* storage off: memory only */ }
      },
    };
  }
  const seen = memory("seen"), done = memory("done");

  const now = () => Date.now() + offsetMs;
  const expired = (cue) => Date.parse(cue.expires_at) <= now();
  const issued = (cue) => Date.parse(cue.issued_at) || 0;
  // The customer waiting longest first: their cue is the oldest (an escalated one has waited longer still).
  const ordered = () => [...cues.values()].sort((a, b) => issued(a) - issued(b) || (b.escalation || 0) - (a.escalation || 0));
  const shown = () => ordered()[0];
  const put = (el, value) => { if (el.textContent !== value) el.textContent = value; };

  function colours(zone) {  // the zone colour and black or white text, whichever contrasts more
    const colour = (config.zone_colours || {})[zone] || "#f5f7fa";
    flash.style.color = colour;
    const rgb = (getComputedStyle(flash).color.match(/[\d.]+/g) || [255, 255, 255]).slice(0, 3).map((v) => {
      const c = v / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    const lum = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
    return [colour, (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) ? "#000" : "#fff"];
  }

  // Words for staff, not system names (the server's, as pushed notifications say them too).
  const WORDS = config.words;
  function headline(cue) {
    if (cue.reason === "waiting") return WORDS.waiting;
    return WORDS.by_zone[cue.zone] || WORDS.coming;
  }
  const distance = (cue) => (typeof cue.distance_ft === "number" ? `${Math.round(cue.distance_ft)} ft away` : "");
  function since(cue) {  // time since the cue, on the server's clock
    const s = Math.max(0, Math.floor((now() - issued(cue)) / 1000));
    return s < 60 ? `${s} s ago` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s ago`;
  }

  function connection() {
    if (revoked) return ["revoked", "Link revoked"];
    if (!navigator.onLine) return ["offline", "No Wi‑Fi — waiting…"];
    if (connected) return ["open", "Connected"];
    return everConnected ? ["reconnecting", "Reconnecting…"] : ["connecting", "Connecting…"];
  }

  function render() {
    const [connState, connText] = connection();
    conn.dataset.conn = connState;
    put(conn, connText);
    const list = ordered(), cue = list[0];
    let state = "idle";
    if (Date.now() < ackedUntil) state = "acked";
    else if (cue && !revoked) state = "cue";
    else if (connState !== "open") state = "offline";
    body.dataset.state = state;
    if (state === "cue") {
      const [colour, ink] = colours(cue.zone);
      body.style.setProperty("--zone", colour);
      body.style.setProperty("--zone-ink", ink);
      if (theme) theme.content = colour;
      put(text, headline(cue));
      put(escalation, cue.escalation > 0 ? `Escalation ${cue.escalation}` : "");
      put(detail, distance(cue));
      put(age, since(cue));
      const others = list.length - 1;
      put(more, others > 0 ? `+${others} more customer${others > 1 ? "s" : ""} waiting` : "");
      button.disabled = sending === cue.cue_id;
      put(button, sending === cue.cue_id ? "Sending…" : "Acknowledge");
      document.title = `(${list.length}) ${headline(cue)}`;
      return;
    }
    if (theme) theme.content = THEME;
    document.title = `greetcue · ${config.device}`;
    put(more, "");
    put(escalation, "");
    put(age, "");
    if (state === "acked") {
      put(text, "Acknowledged ✓");
      put(detail, "");
    } else if (state === "offline") {
      put(text, revoked ? "This link was revoked; ask your manager for a new one."
        : !navigator.onLine ? "No connection — waiting for Wi‑Fi…"
        : everConnected ? "Connection lost — reconnecting…" : "Connecting…");
      put(detail, "");
    } else {
      put(text, "No customers waiting");
      const ua = navigator.userActivation;  // browsers only vibrate after the page has been tapped once
      put(detail, navigator.vibrate && ua && !ua.hasBeenActive ? "Tap the screen once to allow vibration" : "");
    }
  }

  function say(message, ms = NOTICE_MS) {  // ms 0: stays until replaced
    clearTimeout(noticeTimer);
    put(notice, message);
    if (message && ms) noticeTimer = setTimeout(() => put(notice, ""), ms);
  }

  function beep() {  // a short tone; browsers allow sound only after the page was tapped once
    const ua = navigator.userActivation;
    if (!window.AudioContext || (ua && !ua.hasBeenActive)) return;
    try {
      audio = audio || new AudioContext();
      const tone = audio.createOscillator(), gain = audio.createGain(), t = audio.currentTime;
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.25, t);
      gain.gain.exponentialRampToValueAtTime(0.001, t + 0.25);
      tone.connect(gain).connect(audio.destination);
      tone.start(t);
      tone.stop(t + 0.25);
    } catch { /* no audio here */ }
  }

  function announce() {  // a flash in the shown cue's zone colour (once per burst), a buzz, a beep
    ackedUntil = 0;
    render();
    if (Date.now() - lastFlash >= FLASH_GAP_MS) {
      lastFlash = Date.now();
      body.classList.remove("flash");
      void body.offsetWidth;  // restart the animation
      body.classList.add("flash");
      clearTimeout(flashTimer);
      flashTimer = setTimeout(() => body.classList.remove("flash"), FLASH_MS);
    }
    if (typeof navigator.vibrate === "function") {
      try { navigator.vibrate([200, 100, 200]); } catch { /* not allowed yet */ }
    }
    beep();
  }

  async function keepScreenOn() {  // Wake Lock while the page is in front (released when hidden)
    if (!("wakeLock" in navigator) || document.visibilityState !== "visible" || wakeLock) return;
    try {
      wakeLock = await navigator.wakeLock.request("screen");
      wakeLock.addEventListener("release", () => { wakeLock = null; });
    } catch { /* refused: battery saver, or no tap yet */ }
  }

  // Keep an open cue; true when it deserves an alert (never seen, or escalated since).
  function take(cue) {
    if (!cue || !cue.cue_id || done.has(cue.cue_id)) return false;
    if (expired(cue)) { done.set(cue.cue_id, "expired"); return false; }
    cues.set(cue.cue_id, cue);
    const escalation = cue.escalation || 0, before = seen.get(cue.cue_id);
    if (before !== undefined && before >= escalation) return false;
    seen.set(cue.cue_id, escalation);
    return true;
  }
  function close(id, why) {
    done.set(id, why);
    return cues.delete(id);
  }

  function onHello(data) {  // every (re)connect: pending is the whole truth
    const t = Date.parse(data.server_time);
    if (Number.isFinite(t)) offsetMs = t - Date.now();
    const pending = Array.isArray(data.pending) ? data.pending : [];
    const ids = new Set(pending.map((c) => c && c.cue_id));
    for (const id of [...cues.keys()]) if (!ids.has(id)) close(id, "gone");
    let fresh = false;
    for (const cue of pending) fresh = take(cue) || fresh;
    fresh ? announce() : render();
  }
  function onCue(cue) {
    take(cue) ? announce() : render();
  }
  function onResolved(data) {
    const wasShown = shown()?.cue_id === data.cue_id;
    const closed = data.cue_id && close(data.cue_id, data.outcome || "resolved");
    // Said only when nothing else waits: the notice never covers a live cue.
    if (closed && wasShown && sending !== data.cue_id && cues.size === 0) {
      say(data.outcome === "left" ? "Customer left" : "Handled by a colleague");
    }
    render();
  }

  function revoke() {
    revoked = true;
    connected = false;
    clearTimeout(retryTimer);
    if (source) source.close();
    source = null;
    cues.clear();
    body.classList.remove("flash");
    say("");
    render();
  }

  function connect() {
    if (revoked) return;
    clearTimeout(retryTimer);
    if (source) source.close();
    connected = false;
    const es = new EventSource(config.stream_url);
    source = es;
    const on = (name, handler) => es.addEventListener(name, (event) => {
      if (source !== es) return;
      lastEvent = Date.now();
      let data;
      try { data = JSON.parse(event.data); } catch { return; }
      connected = everConnected = true;
      handler(data);
    });
    es.onopen = () => {
      if (source !== es) return;
      connected = everConnected = true;
      retryMs = 2000;
      lastEvent = Date.now();
      render();
    };
    es.onerror = () => {
      if (source !== es) return;
      connected = false;
      if (es.readyState === EventSource.CLOSED) { source = null; probe(); }  // the browser gave up
      render();
    };
    on("hello", onHello);
    on("cue", onCue);
    on("resolved", onResolved);
    es.addEventListener("ping", () => { pings = true; lastEvent = Date.now(); });  // if sent as an event
    render();
  }

  async function probe() {  // why did the stream fail for good? 401/403: the link was revoked
    const stop = new AbortController(), timer = setTimeout(() => stop.abort(), ACK_TIMEOUT_MS);
    let status = 0;
    try {
      status = (await fetch(config.stream_url, { cache: "no-store", signal: stop.signal, headers: { Accept: "text/event-stream" } })).status;
    } catch { /* offline */ }
    clearTimeout(timer);
    stop.abort();
    if (status === 401 || status === 403) return revoke();
    retryTimer = setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 30000);
  }

  async function acknowledge() {
    const cue = shown();
    if (!cue || sending) return;
    const id = cue.cue_id;
    sending = id;
    say("");
    render();
    let status = 0;
    const stop = new AbortController(), timer = setTimeout(() => stop.abort(), ACK_TIMEOUT_MS);
    try {
      const response = await fetch(config.ack_url, {
        method: "POST", credentials: "same-origin", cache: "no-store", signal: stop.signal,
        headers: { "Content-Type": "application/json", "X-Requested-With": "greetcue" },
        body: JSON.stringify({ cue_id: id }),
      });
      status = response.status;
    } catch { /* offline or timed out */ }
    clearTimeout(timer);
    sending = null;
    if (status >= 200 && status < 300) {
      close(id, "acknowledged");
      ackedUntil = Date.now() + ACKED_MS;
      setTimeout(render, ACKED_MS + 20);
    } else if (status === 409) {
      close(id, "closed");
      say("Already handled — nothing to do");
    } else if (status === 403 && (config.roster || []).length) {
      whoIsOn = null;  // signed out (the list changed, or a new shift): sign in, then retry
      showSignIn(true);
      say("Sign in with your name, then tap Acknowledge again.", 0);
    } else if (status === 401 || status === 403) {
      return revoke();
    } else {
      say(status ? "Not sent, retry." : "Not sent, retry — no connection.", 0);
    }
    render();
  }

  function tick() {  // drop cues whose expires_at has passed; restart a silent stream
    let changed = false;
    for (const cue of [...cues.values()]) if (expired(cue)) changed = close(cue.cue_id, "expired") || changed;
    if (pings && connected && Date.now() - lastEvent > STALL_MS) connect();
    if (changed || cues.size) render();  // the time since the shown cue moves on
  }

  button.addEventListener("click", acknowledge);
  document.addEventListener("pointerdown", () => { setTimeout(render, 0); keepScreenOn(); }, { once: true });
  window.addEventListener("online", connect);  // a new network: the old stream is likely dead
  window.addEventListener("offline", render);
  window.addEventListener("pageshow", (event) => { if (event.persisted) connect(); });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState !== "visible") return;
    keepScreenOn();
    tick();
    if (!source || source.readyState === EventSource.CLOSED) connect();
  });
  setInterval(tick, 1000);
  connect();
  keepScreenOn();

  // Sign-in: where the store keeps a staff list, acknowledgements carry who gave them.
  const signin = $("signin"), signinName = $("signin-name"), signinCode = $("signin-code");
  const signinCodeLabel = $("signin-code-label"), onDuty = $("on-duty");
  let whoIsOn = config.on_duty;
  function showSignIn(open) {
    const roster = config.roster || [];
    if (!roster.length) return;
    put(onDuty, whoIsOn ? `On duty: ${whoIsOn} ·` : "");
    signin.hidden = !open;
    if (!open) return;
    signinName.replaceChildren(...roster.map((m) => new Option(m.name, m.name, false, m.name === whoIsOn)));
    const needsCode = () => Boolean(roster.find((m) => m.name === signinName.value)?.code);
    signinCodeLabel.hidden = !needsCode();
    signinName.onchange = () => { signinCodeLabel.hidden = !needsCode(); };
  }
  signin.addEventListener("submit", async (event) => {
    event.preventDefault();
    let status = 0;
    try {
      status = (await fetch(config.signin_url, {
        method: "POST", credentials: "same-origin", cache: "no-store",
        headers: { "Content-Type": "application/json", "X-Requested-With": "greetcue" },
        body: JSON.stringify({ staff: signinName.value, code: signinCode.value || null }),
      })).status;
    } catch { /* offline */ }
    signinCode.value = "";
    if (status === 200) {
      whoIsOn = signinName.value;
      say(`Signed in as ${whoIsOn}`);
      showSignIn(false);
    } else {
      say(status === 403 ? "Not signed in: check your name and code." : "Not signed in: no connection, try again.", 0);
    }
  });
  onDuty.addEventListener("click", () => showSignIn(true));
  showSignIn(!whoIsOn);

  // Web Push: "Alert me when my screen is off" subscribes this browser for the device's cues.
  const pushButton = $("push-button");
  const b64 = (text) => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  async function sendSubscription(subscription) {
    const response = await fetch(config.push_url, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "X-Requested-With": "greetcue" },
      body: JSON.stringify(subscription.toJSON()),
    });
    if (!response.ok) throw new Error(`the dashboard refused it (${response.status})`);
  }
  async function pushState(registration) {
    const subscription = await registration.pushManager.getSubscription();
    pushButton.hidden = false;
    pushButton.disabled = Boolean(subscription) && Notification.permission === "granted";
    pushButton.textContent = pushButton.disabled ? "Alerts on when the screen is off ✓" : "Alert me when my screen is off";
    if (subscription) sendSubscription(subscription).catch(() => {});  // keep the dashboard's copy fresh
  }
  async function turnOnPush(registration) {
    try {
      if (await Notification.requestPermission() !== "granted") {
        say("Notifications are blocked: allow them for this page in the browser's settings.", 0);
        return;
      }
      const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64(config.push_key) });
      await sendSubscription(subscription);
      say("Alerts are on: a cue now reaches this phone with the screen off.");
    } catch (error) {
      say(`Alerts could not be turned on: ${error.message || error}`, 0);
    }
    pushState(registration);
  }

  if ("serviceWorker" in navigator && window.isSecureContext) {
    const query = new URLSearchParams({ v: config.version || "", s: config.static || "/static" });
    window.addEventListener("load", () => {
      navigator.serviceWorker.register(`/staff/sw.js?${query}`, { scope: "/staff/" }).then((registration) => {
        if (!config.push_key || !("PushManager" in window) || !("Notification" in window)) return;
        pushButton.addEventListener("click", () => navigator.serviceWorker.ready.then(turnOnPush));
        navigator.serviceWorker.ready.then(pushState).catch(() => {});
        return registration;
      }).catch(() => {});
    });
  }
})();
