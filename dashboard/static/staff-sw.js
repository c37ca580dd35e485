// greetcue staff service worker, served at /staff/sw.js?v=<version>&s=<static prefix> (scope /staff/).
// Caches the page shell for an offline start. Never touches the SSE stream, the ack POST or any
// other request: only the shell files (cache first) and page navigations (network first).
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
