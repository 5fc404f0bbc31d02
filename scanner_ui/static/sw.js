// Keeps the scanner screens openable with no connection: a screen, its script and its style come from the network
// when it answers and from the copy kept last time when it does not. Scans never pass through here.
"use strict";
var CACHE = "cangku-screens-v1";
self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (e) { e.waitUntil(self.clients.claim()); });
self.addEventListener("fetch", function (e) {
  var request = e.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/s/") !== 0 && url.pathname.indexOf("/static/") !== 0) return;
  var key = url.origin + url.pathname;
  e.respondWith(fetch(request).then(function (response) {
    if (response.ok && response.type === "basic" && !response.redirected) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(key, copy); });
    }
    return response;
  }, function () {
    return caches.match(key).then(function (kept) { return kept || Response.error(); });
  }));
});
