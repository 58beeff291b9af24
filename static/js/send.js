// The one way our scripts send to the server: with the page's CSRF token, and one retry
// when the server refuses that token. The token changes when someone logs in or out on
// this phone; the retry fetches a fresh one from this page, so nothing typed is lost.
(function () {
  "use strict";
  var META = 'meta[name="csrf-token"]';

  function token() {
    return (document.querySelector(META) || {}).content || "";
  }

  function refusedToken(response) {
    if (response.status !== 400) return Promise.resolve(false);
    return response.clone().json().then(function (body) {
      return !!body && body.error === "csrf_failed";
    }, function () { return false; });
  }

  // Every HTML page carries a token; the page we are on is one that surely exists.
  function freshToken() {
    return fetch(window.location.href, {
      credentials: "same-origin", cache: "no-store", headers: { "Accept": "text/html" }
    }).then(function (r) { return r.text(); }).then(function (html) {
      var found = /<meta name="csrf-token" content="([^"]+)"/.exec(html);
      if (!found) throw new Error("no CSRF token on the page");
      var meta = document.querySelector(META);
      if (meta) meta.content = found[1];
      // The page's own forms too, so a plain submit works after the rotation.
      document.querySelectorAll('input[name="csrf_token"]').forEach(function (i) { i.value = found[1]; });
      return found[1];
    });
  }

  window.eventmateSend = function (url, options) {
    function attempt() {
      var headers = Object.assign({}, options.headers, { "X-CSRFToken": token() });
      var body = options.body;
      // A form field wins over the header on the server: keep it current as well.
      if (body instanceof FormData && body.has("csrf_token")) body.set("csrf_token", token());
      return fetch(url, Object.assign({}, options, {
        credentials: "same-origin", headers: headers, body: body
      }));
    }
    return attempt().then(function (response) {
      return refusedToken(response).then(function (refused) {
        return refused ? freshToken().then(attempt) : response;
      });
    });
  };
})();
