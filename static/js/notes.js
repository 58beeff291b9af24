// Autosave listening notes while typing. The form still works without this file.
// Each save carries a fresh client id, so a retried request is applied once.
(function () {
  "use strict";
  var form = document.querySelector("form[data-notes]");
  if (!form || !window.fetch || !window.eventmateSend) return;
  var status = form.querySelector("[data-save-status]");
  var timer = null;
  var dirty = false;

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function say(text) { if (status) status.textContent = text; }

  function save() {
    timer = null;
    if (!dirty) return;
    dirty = false;
    var body = new FormData(form);
    body.set("client_id", uuid());
    say("Saving…");
    eventmateSend(form.action || window.location.href, {
      method: "POST", body: body, headers: { "Accept": "application/json" }
    }).then(function (r) {
      return r.json().then(function (data) {
        if (r.ok) { say("Saved " + data.saved_at + "."); return; }
        dirty = true;  // what was typed is still here; the next edit or reconnect saves it
        say(data.message || "Not saved — please check your notes.");
      });
    }).catch(function () {
      dirty = true;
      say("Not saved yet — you seem to be offline. We'll try again when you're back.");
    });
  }

  form.addEventListener("input", function () {
    dirty = true;
    say("");
    if (timer) clearTimeout(timer);
    timer = setTimeout(save, 1200);
  });
  window.addEventListener("online", function () { if (dirty) save(); });
})();
