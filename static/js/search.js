// Who's here: results as you type (the form still works without JavaScript), keeping the
// page's address in step so Back and a reload show the same list.
(function () {
  "use strict";
  var form = document.querySelector("[data-live-search]");
  var results = document.querySelector("[data-results]");
  if (!form || !results || !window.fetch || !window.DOMParser) return;
  var input = form.querySelector("input[type=search]");
  var timer = null, latest = 0;

  function search() {
    var query = input.value.trim();
    var url = form.action.split("?")[0] + (query ? "?q=" + encodeURIComponent(query) : "");
    var ticket = ++latest;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.text();
    }).then(function (html) {
      if (ticket !== latest) return; // a newer search is on its way
      var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-results]");
      if (!fresh) return;
      results.innerHTML = fresh.innerHTML;
      history.replaceState(null, "", url);
    }).catch(function () { /* offline or refused: the Search button still works */ });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(search, 250);
  });
})();
