// Autosave listening notes while typing. The form still works without this file.
// A save sends only the fields changed since the last one, each with the value it was based
// on, under a fresh client id (a replay is applied once). The server merges per field; a
// field changed on another screen comes back with both versions, shown side by side.
// Unsent text stays in localStorage until the server has it, is sent on leaving the page,
// and is put back if the page is opened again first. "Refused" (the server said no) is told
// apart from "offline" or a server error (tried again, 1, 2, 4 … 30 s later).
(function () {
  "use strict";
  var form = document.querySelector("form[data-notes]");
  if (!form || !window.fetch || !window.eventmateSend) return;
  var status = form.querySelector("[data-save-status]");
  var url = form.action || window.location.href;
  var KEY = "eventmate:notes:" + window.location.pathname;
  var names = Array.prototype.map.call(form.querySelectorAll("textarea"), function (t) { return t.name; });
  var base = {}, synced = {}, held = {};  // per field: server's value; value last saved; unresolved conflict
  var timer = null, busy = false, again = false, retryIn = 0, retryTimer = null, submitting = false;
  var OFFLINE = "Couldn't save — you seem to be offline. It's kept on this phone and will save when you're back.";
  var KEPT = " What you typed stays here and on this phone.";

  function box(name) { return form.elements[name]; }
  function say(text) { if (status) status.textContent = text; }
  // The form's own base fields follow, so a plain "Save notes" merges against the same values.
  function setBase(n, value) {
    base[n] = value;
    if (form.elements["base_" + n]) form.elements["base_" + n].value = value;
  }
  names.forEach(function (n) {
    base[n] = form.elements["base_" + n] ? form.elements["base_" + n].value : box(n).value;
    synced[n] = box(n).value;
  });

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function changed() {
    var c = {};
    names.forEach(function (n) { if (box(n).value !== synced[n]) c[n] = box(n).value; });
    return c;
  }

  // What the server doesn't have yet, with what each field was based on.
  function keep() {
    var c = changed(), waiting = {}, any = false;
    Object.keys(c).forEach(function (n) { waiting[n] = { value: c[n], base: base[n] }; any = true; });
    try {
      if (any) localStorage.setItem(KEY, JSON.stringify(waiting)); else localStorage.removeItem(KEY);
    } catch (e) { /* private mode or full: the text is still on the page */ }
  }

  function body(c) {
    var b = new FormData();
    b.set("csrf_token", "");  // send.js fills in the current token
    b.set("client_id", uuid());
    Object.keys(c).forEach(function (n) { b.set(n, c[n]); b.set("base_" + n, base[n]); });
    return b;
  }

  function save(leaving) {
    clearTimeout(timer); timer = null;
    clearTimeout(retryTimer); retryTimer = null;
    var c = changed();
    names.forEach(function (n) { if (held[n]) delete c[n]; });
    if (!Object.keys(c).length) return;
    if (busy && !leaving) { again = true; return; }
    if (!leaving) { busy = true; say("Saving…"); }
    eventmateSend(url, {
      method: "POST", body: body(c), keepalive: !!leaving, headers: { "Accept": "application/json" }
    }).then(function (r) {
      return r.json().then(function (data) { answer(r.status, data || {}, c); },
        function () { answer(r.status, {}, c); });
    }, function () {
      retry(OFFLINE);
    }).then(function () {
      if (leaving) return;
      busy = false;
      if (again) { again = false; save(); }
    });
  }

  function answer(code, data, sent) {
    Object.keys(data.values || {}).forEach(function (n) {
      if (n in sent) { synced[n] = sent[n]; setBase(n, data.values[n]); }
    });
    if (code === 200 && data.saved) {
      Object.keys(sent).forEach(function (n) { synced[n] = sent[n]; });  // unchanged after cleaning
      retryIn = 0;
      keep();
      say("Saved " + data.saved_at + ".");
      window.dispatchEvent(new Event("eventmate:saved"));  // the outbox sends what waits too
    } else if (code === 409 && data.error === "note_conflict") {
      retryIn = 0;
      Object.keys(data.conflicts || {}).forEach(function (n) { conflict(n, data.conflicts[n].theirs); });
      Object.keys(sent).forEach(function (n) { if (!held[n]) synced[n] = sent[n]; });
      keep();
      say(data.message);
    } else if (code >= 500 || code === 429 || !code) {
      retry(code === 429 && data.message ? data.message :
        "Couldn't save just now — something went wrong on our side. It's kept on this phone.");
    } else if (data.error === "csrf_failed") {
      say("We couldn't accept that save: this page's session has ended. " +
        "What you typed stays here and on this phone — reload the page and it will save.");
    } else {
      say((data.message || "Couldn't save that.") + KEPT);
    }
  }

  // Offline or a server error: not a "no". Try again with backoff, and as soon as we're back.
  function retry(message) {
    retryIn = Math.min(retryIn ? retryIn * 2 : 1, 30);
    say(message + " Trying again in " + retryIn + " s.");
    clearTimeout(retryTimer);
    retryTimer = setTimeout(function () { save(); }, retryIn * 1000);
  }

  // Both versions, side by side: mine stays in the box until I choose.
  function conflict(n, theirs) {
    held[n] = true;
    var field = box(n).closest(".field") || box(n).parentNode;
    var panel = field.querySelector("[data-conflict]");
    if (!panel) {
      panel = document.createElement("div");
      panel.setAttribute("data-conflict", "");
      panel.className = "conflict";
      field.appendChild(panel);
    }
    panel.textContent = "";
    var p = document.createElement("p");
    p.textContent = theirs ? "Another screen changed this while you were writing. It says:" :
      "Another screen cleared this while you were writing.";
    panel.appendChild(p);
    if (theirs) {
      var q = document.createElement("blockquote");
      q.setAttribute("data-theirs", "");
      q.textContent = theirs;
      panel.appendChild(q);
    }
    function choice(label, then) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "button secondary";
      b.textContent = label;
      b.addEventListener("click", function () {
        then();
        held[n] = false;
        setBase(n, theirs);
        panel.remove();
        keep();
        save();
      });
      panel.appendChild(b);
    }
    choice("Keep mine", function () {});
    choice(theirs ? "Use that version" : "Leave it empty", function () { box(n).value = theirs; synced[n] = theirs; });
  }

  // Typed on this phone earlier and never saved (the page was left, or refused): put it back.
  var kept = null;
  try { kept = JSON.parse(localStorage.getItem(KEY) || "null"); } catch (e) { kept = null; }
  var restored = false;
  names.forEach(function (n) {
    var k = kept && kept[n];
    if (!k || typeof k.value !== "string" || typeof k.base !== "string" || k.value === box(n).value) return;
    box(n).value = k.value;
    setBase(n, k.base);
    restored = true;
  });
  if (restored) { say("Put back what you typed on this phone earlier — saving it now."); save(); } else keep();

  form.addEventListener("input", function () {
    keep();
    say("");
    clearTimeout(timer);
    timer = setTimeout(save, 1200);
  });
  window.addEventListener("online", function () { save(); });
  // Leaving (a link, the back button, the app switcher): send now, the request outlives the page.
  // A plain "Save notes" carries everything itself.
  form.addEventListener("submit", function () { submitting = true; });
  window.addEventListener("pagehide", function () { if (!submitting) save(true); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden" && !submitting) save(true);
  });
})();
