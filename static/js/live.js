// The organiser's event page: refresh the live numbers without reloading.
// Light polling with conditional requests: the server answers 304 (no body) while nothing
// changed. Paused while the tab is hidden; slower after the event.
(function () {
  "use strict";
  var box = document.querySelector("[data-live]");
  if (!box || !window.fetch) return;
  var url = box.getAttribute("data-live");
  var every = (parseInt(box.getAttribute("data-live-every"), 10) || 10) * 1000;
  var last = box.innerHTML;
  var timer = null;

  function schedule(delay) {
    clearTimeout(timer);
    if (!document.hidden) timer = setTimeout(poll, delay);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-cache", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.text();
      })
      .then(function (html) {
        if (html !== last) {
          var open = Array.prototype.map.call(box.querySelectorAll("details[open] summary"),
            function (s) { return s.textContent; });
          box.innerHTML = html;
          last = html;
          box.querySelectorAll("details summary").forEach(function (s) {
            if (open.indexOf(s.textContent) !== -1) s.parentNode.open = true;
          });
        }
        schedule(every);
      })
      .catch(function () { schedule(every * 3); }); // offline or logged out: try again later
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) clearTimeout(timer); else schedule(0);
  });
  schedule(every);
})();
