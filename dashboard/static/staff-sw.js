// greetcue staff service worker, served at /staff/sw.js?v=<version>&s=<static prefix> (scope /staff/).
// Caches the page shell for an offline start. Never touches the SSE stream, the ack POST or any
// other request: only the shell files (cache first) and page navigations (network first).
// Shows pushed cues as notifications (one per cue: its tag) with an Acknowledge action that
// acknowledges without opening the page, and closes them when the cue is handled or expires.
const params = new URL(self.location.href).searchParams;
const VERSION = params.get("v") || "0";
const STATIC = params.get("s") || "/static";
const CACHE = `greetcue-staff-${VERSION}`;
const SHELL = [`${STATIC}/staff.css?v=${VERSION}`, `${STATIC}/staff.js?v=${VERSION}`,
  `${STATIC}/icons/icon-192.png`, `${STATIC}/icons/icon-512.png`, `${STATIC}/icons/icon-maskable-512.png`]
  .map((path) => new URL(path, self.location.origin).href);

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE)
    .then((cache) => Promise.all(SHELL.map((url) => cache.add(url).catch(() => null))))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("greetcue-staff-") && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {  // the page itself: network first, keyed without ?key=
    const page = url.origin + url.pathname;
    event.respondWith(fetch(request).then((response) => {
      const copy = response.clone();
      if (response.status === 200 && !response.redirected && response.type === "basic") {
        caches.open(CACHE).then((cache) => cache.put(page, copy));
      } else if (response.status === 401 || response.status === 403) {
        caches.open(CACHE).then((cache) => cache.delete(page));
      }
      return response;
    }).catch(() => caches.match(page).then((hit) => hit || Response.error())));
  } else if (SHELL.includes(url.href)) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
  }
});

const ACK_TIMEOUT_MS = 10000;

self.addEventListener("push", (event) => {
  let message = {};
  try { message = event.data ? event.data.json() : {}; } catch { return; }
  if (!message.cue_id) return;
  if (message.type === "close") {
    event.waitUntil(self.registration.getNotifications({ tag: message.cue_id })
      .then((shown) => shown.forEach((n) => n.close())));
    return;
  }
  const expires = Date.parse(message.expires_at);
  if (Number.isFinite(expires) && expires <= Date.now()) return;  // stale: never buzz for it
  event.waitUntil(self.registration.showNotification(message.title || "Customer coming", {
    body: message.body || "",
    tag: message.cue_id,  // a newer message about the same cue replaces this one
    renotify: true,
    requireInteraction: true,
    vibrate: [300, 150, 300],
    icon: `${STATIC}/icons/icon-192.png`,
    data: { cue_id: message.cue_id, ack_url: message.ack_url, expires },
    actions: [{ action: "ack", title: "Acknowledge" }],
  }));
  if (Number.isFinite(expires)) {  // take it back once the cue has expired
    setTimeout(() => self.registration.getNotifications({ tag: message.cue_id })
      .then((shown) => shown.forEach((n) => n.close())), Math.max(0, expires - Date.now()));
  }
});

async function acknowledge(data) {
  const stop = new AbortController(), timer = setTimeout(() => stop.abort(), ACK_TIMEOUT_MS);
  try {
    const response = await fetch(data.ack_url, {
      method: "POST", credentials: "same-origin", cache: "no-store", signal: stop.signal,
      headers: { "Content-Type": "application/json", "X-Requested-With": "greetcue" },
      body: JSON.stringify({ cue_id: data.cue_id }),
    });
    return response.ok || response.status === 409;  // 409: already handled, nothing to do
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

async function openPage(data) {
  const page = new URL(data.ack_url.replace(/\/ack$/, ""), self.location.origin).href;
  const open = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const found = open.find((c) => c.url.startsWith(page));
  return found ? found.focus() : self.clients.openWindow(page);
}

self.addEventListener("notificationclick", (event) => {
  const data = event.notification.data || {};
  event.notification.close();
  if (!data.cue_id) return;
  event.waitUntil(event.action === "ack"
    ? acknowledge(data).then((ok) => (ok ? undefined : openPage(data)))  // not sent: the page retries
    : openPage(data));
});
