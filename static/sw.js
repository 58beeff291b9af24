// EventMate's service worker, served at /sw.js so its scope is the whole site. /sw.js fills
// in VERSION and SHELL (content-hashed URLs) when it serves this file.
// Pages: network first, the last copy (or the offline page) without a connection.
// Static files: from the cache first (their URLs change when they do).
// The outbox (changes to my three and notes kept on the phone) is sent from here too:
// Background Sync.
"use strict";

var VERSION = "__VERSION__";
var SHELL = ["__SHELL__"];
var SHELL_CACHE = "eventmate-shell-" + VERSION;
var PAGES_CACHE = "eventmate-pages";
var OFFLINE_URL = SHELL[SHELL.length - 1];
var OUTBOX_URL = SHELL.filter(function (url) { return url.indexOf("/static/js/outbox.js") === 0; })[0];
if (OUTBOX_URL) importScripts(OUTBOX_URL);

self.addEventListener("install", function (event) {
  // Precache; a new version then waits until the attendee taps "Updated — tap to reload".
  event.waitUntil(caches.open(SHELL_CACHE).then(function (cache) { return cache.addAll(SHELL); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("eventmate-shell-") === 0 && name !== SHELL_CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("message", function (event) {
  var type = event.data && event.data.type;
  if (type === "skip-waiting") self.skipWaiting();
  // Signed out or deleted: the pages kept for offline reading hold personal data.
  if (type === "forget-pages") event.waitUntil(caches.delete(PAGES_CACHE));
});

// An attendee's own pages are kept for offline reading; organiser pages and forms are not.
function keepsForOffline(url, response) {
  return url.pathname.indexOf("/e/") === 0 &&
    (response.headers.get("Content-Type") || "").indexOf("text/html") === 0;
}

function fromNetworkFirst(request, url) {
  return fetch(request).then(function (response) {
    if (response.ok && response.type === "basic" && keepsForOffline(url, response)) {
      var copy = response.clone();
      caches.open(PAGES_CACHE).then(function (cache) { return cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(request, { cacheName: PAGES_CACHE }).then(function (hit) {
      return hit || caches.match(OFFLINE_URL);
    });
  });
}

function fromCacheFirst(request) {
  return caches.match(request).then(function (hit) {
    return hit || fetch(request).then(function (response) {
      if (response.ok && response.type === "basic") {
        var copy = response.clone();
        caches.open(SHELL_CACHE).then(function (cache) { return cache.put(request, copy); });
      }
      return response;
    });
  });
}

// A change to my three sent as a plain form, with the id the page gave it. When the network
// fails on the way, it is kept in the outbox (the page kept it too, if it had time) and the
// attendee is back on the page it came from, which says it waits there.
function fromNetworkOrBack(request) {
  var copy = request.clone();
  return fetch(request).catch(function () {
    return copy.formData().then(function (form) {
      var fields = {}, id = form.get("client_id"), outbox = self.eventmateOutbox;
      form.forEach(function (value, name) {
        if (name !== "csrf_token" && name !== "client_id") fields[name] = value;
      });
      if (id && outbox) return outbox.keep(outbox.entry(id, new URL(request.url).pathname, fields));
    }).catch(function () {}).then(function () { return Response.redirect(request.referrer, 303); });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && request.mode === "navigate" && request.referrer &&
      /^\/e\/[^/]+\/picks(\/|$)/.test(url.pathname)) {
    event.respondWith(fromNetworkOrBack(request));
    return;
  }
  if (request.method !== "GET") return;
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(fromCacheFirst(request));
  } else if (request.mode === "navigate") {
    event.respondWith(fromNetworkFirst(request, url));
  }
});

// --- Background Sync: the page registers it when a change couldn't be sent -----------------
// A failed round rejects, so the browser tries again later; open pages are told either way,
// with the server's answers to notes (an open notes page takes its new base or conflict).
var noteAnswers = [];
if (self.eventmateOutbox) {
  self.eventmateOutbox.note = function (change, code, body) {
    noteAnswers.push({ change: change, code: code, body: body });
  };
}

self.addEventListener("sync", function (event) {
  var outbox = self.eventmateOutbox;
  if (!outbox || event.tag !== outbox.TAG) return;
  function tell() {
    var told = noteAnswers.splice(0);
    return self.clients.matchAll({ type: "window" }).then(function (list) {
      list.forEach(function (client) { client.postMessage({ type: outbox.TAG, notes: told }); });
    });
  }
  event.waitUntil(outbox.flush().then(tell, function (error) {
    return tell().then(function () { throw error; });
  }));
});

// --- push: every push shows a notification (iOS requires it) --------------------------------
function readPush(event) {
  var fallback = { title: "EventMate", body: "Something new for you.", url: "/" };
  if (!event.data) return fallback;
  try {
    var data = event.data.json();
    return {
      title: data.title || fallback.title,
      body: data.body || "",
      url: sameOriginUrl(data.url) || fallback.url,
      tag: data.tag
    };
  } catch (e) {
    return fallback;
  }
}

// Only ever open our own pages, whatever a payload says.
function sameOriginUrl(url) {
  try {
    var parsed = new URL(url, self.location.origin);
    return parsed.origin === self.location.origin ? parsed.href : null;
  } catch (e) {
    return null;
  }
}

self.addEventListener("push", function (event) {
  var message = readPush(event);
  event.waitUntil(self.registration.showNotification(message.title, {
    body: message.body,
    icon: "/static/icons/icon-192.png",
    badge: "/static/icons/icon-192.png",
    tag: message.tag || message.url,
    data: { url: message.url }
  }));
});

// --- click: focus an open EventMate window (on that page if possible), else open one --------
function windowFor(clientList, url) {
  var exact = null, any = null;
  clientList.forEach(function (client) {
    if (client.url === url) exact = exact || client;
    else any = any || client;
  });
  return { exact: exact, any: any };
}

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = sameOriginUrl(event.notification.data && event.notification.data.url) || self.location.origin + "/";
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (list) {
    var found = windowFor(list, url);
    if (found.exact) return found.exact.focus();
    if (found.any && "navigate" in found.any) {
      // navigate() fails for a window this worker doesn't control: open a new one then.
      return found.any.focus()
        .then(function (client) { return client.navigate(url); })
        .then(function (client) { return client || self.clients.openWindow(url); })
        .catch(function () { return self.clients.openWindow(url); });
    }
    return self.clients.openWindow(url);
  }));
});

// --- the push service replaced our subscription: hand the new one to the server -------------
self.addEventListener("pushsubscriptionchange", function (event) {
  var old = event.oldSubscription;
  var options = old ? old.options : null;
  event.waitUntil(
    (event.newSubscription ? Promise.resolve(event.newSubscription)
      : options ? self.registration.pushManager.subscribe(options) : Promise.resolve(null))
      .then(function (fresh) {
        if (!fresh || !old) return; // the page re-sends its subscription on the next visit
        var oldJson = old.toJSON();
        return fetch("/api/push/subscriptions/renew", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ old: { endpoint: oldJson.endpoint, auth: oldJson.keys.auth },
                                 new: fresh.toJSON() })
        });
      })
  );
});
