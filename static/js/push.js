// Morning reminders: ask for notification permission only after a tap that says why,
// keep this phone's subscription known to the server, and let people stop it any time.
(function () {
  "use strict";
  var box = document.querySelector("[data-reminders]");
  if (!box) return;
  var api = box.getAttribute("data-api");
  var ios = /iPad|iPhone|iPod/.test(navigator.userAgent) ||
    (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
  var standalone = window.matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;

  function show(state, message) {
    box.querySelectorAll("[data-state]").forEach(function (el) {
      el.hidden = el.getAttribute("data-state") !== state;
    });
    var note = box.querySelector("[data-push-message]");
    note.textContent = message || "";
    note.hidden = !message;
  }

  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded), bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function tell(method, subscription) {
    return eventmateSend(api, {
      method: method,
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(subscription.toJSON ? subscription.toJSON() : subscription)
    }).then(function (response) {
      if (!response.ok) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          throw new Error(body.message || "The server said no (" + response.status + ").");
        });
      }
      return response;
    });
  }

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    show(ios && !standalone ? "ios" : "unsupported");
    return;
  }
  if (Notification.permission === "denied") {
    show("blocked");
    return;
  }

  var ready = navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function () {
    return navigator.serviceWorker.ready;
  });

  ready.then(function (registration) {
    return registration.pushManager.getSubscription();
  }).then(function (subscription) {
    if (!subscription) return show("off");
    show("on");
    // Seen again: the server keeps it alive (and learns it if it moved).
    return tell("POST", subscription).catch(function () {});
  }).catch(function () { show("off"); });

  box.querySelector("[data-push-on]").addEventListener("click", function () {
    show("working");
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") {
        show(permission === "denied" ? "blocked" : "off");
        return;
      }
      return ready.then(function (registration) {
        return registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(box.getAttribute("data-key"))
        });
      }).then(function (subscription) {
        return tell("POST", subscription);
      }).then(function () { show("on"); });
    }).catch(function (error) {
      show("off", "We couldn't turn reminders on: " + (error && error.message ? error.message : error) +
        " Your follow-up will still wait for you here.");
    });
  });

  box.querySelector("[data-push-off]").addEventListener("click", function () {
    show("working");
    ready.then(function (registration) {
      return registration.pushManager.getSubscription();
    }).then(function (subscription) {
      if (!subscription) return;
      return tell("DELETE", subscription).then(function () { return subscription.unsubscribe(); });
    }).then(function () {
      show("off", "Reminders are off on this phone.");
    }).catch(function (error) {
      show("on", "We couldn't stop them just now: " + (error && error.message ? error.message : error));
    });
  });
})();
