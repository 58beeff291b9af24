// On an attendee's pages (after check-in): the service worker (offline pages, reminders),
// "Updated — tap to reload" when a new version is ready, and a quiet install hint.
(function () {
  "use strict";
  var HINT_KEY = "eventmate-install-hint";
  var standalone = window.matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;
  var ios = /iPad|iPhone|iPod/.test(navigator.userAgent) ||
    (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
  var safari = ios && !/CriOS|FxiOS|EdgiOS/.test(navigator.userAgent);

  function $(selector) { return document.querySelector(selector); }

  // --- the service worker, and telling the attendee when a new version is waiting ----------
  function offerUpdate(worker) {
    var toast = $("[data-update]");
    if (!toast || !worker) return;
    toast.hidden = false;
    $("[data-update-reload]").addEventListener("click", function () {
      worker.postMessage({ type: "skip-waiting" });
    });
  }

  if ("serviceWorker" in navigator && document.body.hasAttribute("data-forget-offline")) {
    // Signed out or deleted: drop the pages kept for offline reading (they are personal).
    navigator.serviceWorker.getRegistration().then(function (registration) {
      if (registration && registration.active) registration.active.postMessage({ type: "forget-pages" });
    });
    return;
  }
  if ("serviceWorker" in navigator) {
    var reloading = false;
    navigator.serviceWorker.addEventListener("controllerchange", function () {
      if (reloading || !offerUpdate.asked) return;
      reloading = true;
      window.location.reload();
    });
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function (registration) {
      function ask(worker) { offerUpdate.asked = true; offerUpdate(worker); }
      if (registration.waiting && navigator.serviceWorker.controller) ask(registration.waiting);
      registration.addEventListener("updatefound", function () {
        var worker = registration.installing;
        if (!worker) return;
        worker.addEventListener("statechange", function () {
          // A worker installed while another controls the page is an update, not the first.
          if (worker.state === "installed" && navigator.serviceWorker.controller) ask(worker);
        });
      });
    }).catch(function () { /* no worker: the pages still work online */ });
  }

  // --- install hint: the browser's own prompt where there is one, steps on iOS Safari -------
  var box = $("[data-install]");
  if (!box || standalone) return;
  try {
    if (localStorage.getItem(HINT_KEY)) return;
  } catch (e) { return; }

  function remember(value) {
    try { localStorage.setItem(HINT_KEY, value); } catch (e) { /* private mode: ask again */ }
    box.hidden = true;
  }

  $("[data-install-dismiss]").addEventListener("click", function () { remember("dismissed"); });
  window.addEventListener("appinstalled", function () { remember("installed"); });

  var deferred = null;
  window.addEventListener("beforeinstallprompt", function (event) {
    event.preventDefault();
    deferred = event;
    box.hidden = false;
    $("[data-install-android]").hidden = false;
  });
  $("[data-install-prompt]").addEventListener("click", function () {
    if (!deferred) return;
    deferred.prompt();
    deferred.userChoice.then(function (choice) {
      remember(choice.outcome === "accepted" ? "installed" : "dismissed");
    });
    deferred = null;
  });
  if (safari) {
    box.hidden = false;
    $("[data-install-ios]").hidden = false;
  }
})();
