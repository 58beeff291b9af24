// EventMate's service worker, served at /sw.js so its scope is the whole site.
// Today: show the morning prompt and open the page it is about. The offline work extends
// this same file (one handler per concern, each small).
"use strict";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

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
