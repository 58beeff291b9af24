// Autosave listening notes while typing. The form still works without this file.
// What I type is kept on this phone at once, in the outbox with the picks (outbox.js): an
// entry of this page's holding the fields changed since the server last had them, each with
// the value it was based on. It is rewritten as I type until it is first sent, then a new one
// (a new client id) takes over: the server applies each id once. After a pause it is sent from
// here when online with nothing else waiting, else by the outbox (in order, on `online`, on
// page load, with backoff 1, 2, 4 … 30 s, and by the service worker); on leaving the page at
// once (`keepalive`). The server merges per field; a field changed on another screen comes
// back with both versions, side by side, mine kept on the phone until I choose. "Refused" is
// told apart from "offline" or a server error. A reload (online or not) puts back what waits.
(function () {
  "use strict";
  var form = document.querySelector("form[data-notes]");
  var outbox = window.eventmateOutbox;
  if (!form || !window.fetch || !window.eventmateSend || !outbox || !outbox.ready) return;
  var status = form.querySelector("[data-save-status]");
  var path = new URL(form.action || location.href, location.href).pathname;
  var who = (document.querySelector("h1") || {}).textContent || "them";
  var names = Array.prototype.map.call(form.querySelectorAll("textarea"), function (t) { return t.name; });
  // Per field: the server's value; the value the server has or will have from an entry of
  // mine already on its way; an unresolved conflict (not sent until I choose).
  var base = {}, synced = {}, held = {};
  var mine = {}, draft = null, last = null;  // my entries' ids; the one I rewrite; what it holds
  var absorbed = [], left = null;  // entries taken into mine on load; what was sent on leaving
  var writing = Promise.resolve(), timer = null, submitting = false, failed = null, sending = null, stale = false;
  var slug = path.split("/")[2];
  var OFFLINE = "Couldn't save — you seem to be offline. It's kept on this phone and will save when you're back.";
  var KEPT = " What you typed stays here and on this phone.";

  function noop() {}
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

  // What the server doesn't have yet, each field with what it was based on; held ones apart.
  function content() {
    var fields = {}, hold = [];
    names.forEach(function (n) {
      if (box(n).value === synced[n]) return;
      fields[n] = box(n).value;
      fields["base_" + n] = base[n];
      if (held[n]) hold.push(n);
    });
    return { fields: fields, hold: hold };
  }

  // On the phone at once, one write after another: my untried entry rewritten, or a new one
  // (an id once used is never reused). Refusals about this page and the entries taken in on
  // load go in the same step: what they held is in the boxes, so in my entry now.
  function write() {
    var c = content(), json = JSON.stringify(c), id = draft || (draft = outbox.uuid()), gone = absorbed;
    absorbed = [];
    writing = writing.then(function () {
      return outbox.store("readwrite", function (s) {
        var list = s.getAll();
        list.onsuccess = function () {
          var kept = null;
          list.result.forEach(function (e) {
            if (e.id === id && !e.tried && !e.refused) kept = e;
            else if ((e.url === path && e.refused) || gone.indexOf(e.id) >= 0) s.delete(e.id);
          });
          if (!kept && mine[id]) {
            if (draft === id) draft = outbox.uuid();
            id = draft || outbox.uuid();
          }
          if (!Object.keys(c.fields).length) {
            if (kept) s.delete(kept.id);
            last = null;
            return;
          }
          kept = kept || outbox.entry(id, path, {}, who);
          kept.fields = c.fields;
          kept.hold = c.hold;
          mine[kept.id] = true;
          s.put(kept);
          last = { id: kept.id, json: json };
        };
      });
    }).catch(noop);
    return writing;
  }

  // After a pause. Online with nothing else waiting, my entry goes from here at once, through
  // send.js (a token refused is fetched afresh and sent once more); otherwise, or when that
  // fails, the outbox sends it, after what waits before it, with backoff.
  function save() {
    clearTimeout(timer); timer = null;
    var c = content(), json = JSON.stringify(c);
    if (!Object.keys(outbox.wire(c)).length) return write();
    say("Saving…");
    return write().then(outbox.all).then(function (list) {
      var id = last && last.json === json ? last.id : null;
      var ahead = list.some(function (e) { return e.id !== id && e.slug === slug && outbox.waits(e); });
      if (!id || ahead || navigator.onLine === false) return outbox.kick();
      sending = id;
      stale = false;
      return outbox.send(id, direct).then(function () {
        sending = null;
        return outbox.kick();  // anything else waiting goes too
      }, function (error) {
        sending = null;
        if (!stale) return outbox.later(error);
      });
    });
  }

  function direct(change, body) {
    var data = new FormData();
    body.forEach(function (value, name) { data.set(name, value); });
    data.set("csrf_token", "");  // send.js fills in the current token
    return eventmateSend(path, {
      method: "POST", body: data, headers: { "Accept": "application/json" }
    }).then(outbox.answer);
  }

  // The server's answer to one of my entries (sent from this page or by the service worker).
  outbox.note = function (change, code, data) {
    if (change.url !== path || !mine[change.id]) return;  // another tab's: it meets mine on the server
    var sent = outbox.wire(change);
    failed = null;
    Object.keys(data.values || {}).forEach(function (n) {
      if (n in sent) { synced[n] = sent[n]; setBase(n, data.values[n]); }
    });
    if (code === 200 && data.saved) {
      names.forEach(function (n) { if (n in sent) synced[n] = sent[n]; });  // unchanged after cleaning
      say("Saved " + data.saved_at + ".");
      write();
    } else if (code === 409 && data.error === "note_conflict") {
      Object.keys(data.conflicts || {}).forEach(function (n) { conflict(n, data.conflicts[n].theirs); });
      write();  // what I wrote in those fields stays on the phone, held, until I choose
      say(data.message);
    } else if (!code || code >= 500 || code === 429 || data.error === "csrf_failed") {
      // Not a "no": it waits in the outbox, which sends it again (what I type next is a new entry).
      names.forEach(function (n) { if (n in sent) synced[n] = sent[n]; });
      if (data.error === "csrf_failed" && change.id === sending) {
        stale = true;  // the fresh token too: it waits until the page is reloaded
        say("We couldn't accept that save: this page's session has ended. " +
          "What you typed stays here and on this phone — reload the page and it will save.");
      } else {
        failed = !code ? OFFLINE : code === 429 && data.message ? data.message :
          "Couldn't save just now — something went wrong on our side. It's kept on this phone.";
      }
    } else {
      // A "no": the text goes again (a new id) with what I type next, or after a reload.
      names.forEach(function (n) { if (n in sent) synced[n] = change.fields["base_" + n]; });
      if (last && last.id === change.id) last = null;
      say((data.message || "Couldn't save that.") + KEPT);
    }
  };
  // The outbox tries again later: say so when it was my entry that couldn't go.
  outbox.retry = function (seconds) {
    if (failed) say(failed + " Trying again in " + seconds + " s.");
    failed = null;
  };

  // Both versions, side by side: mine stays in the box (and on the phone) until I choose.
  function conflict(n, theirs) {
    held[n] = true;
    setBase(n, theirs);  // "Keep mine" then saves mine over it, knowingly
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
        save();
      });
      panel.appendChild(b);
    }
    choice("Keep mine", function () {});
    choice(theirs ? "Use that version" : "Leave it empty", function () { box(n).value = theirs; synced[n] = theirs; });
  }

  // What waits on this phone for this page (typed offline, before a reload, refused, or in a
  // conflict): back in the boxes. An entry that may be on its way stays as it is (its answer
  // comes here); the others (never sent, or answered with a "no") become part of mine.
  outbox.ready.then(outbox.all).then(function (list) {
    var restored = false;
    list.forEach(function (e) {
      if (e.url !== path || e.kind !== "note") return;
      var onItsWay = e.tried && !e.refused;
      if (onItsWay) mine[e.id] = true; else absorbed.push(e.id);
      Object.keys(e.fields).forEach(function (n) {
        var b = e.fields["base_" + n], theirs = e.conflicts && e.conflicts[n];
        if (names.indexOf(n) < 0 || typeof e.fields[n] !== "string" || typeof b !== "string") return;
        if (e.fields[n] !== box(n).value) {
          box(n).value = e.fields[n];
          setBase(n, b);
          restored = true;
        }
        if (onItsWay && (e.hold || []).indexOf(n) < 0) synced[n] = e.fields[n];
        if (theirs || (e.hold || []).indexOf(n) >= 0) conflict(n, theirs ? theirs.theirs : b);
      });
    });
    if (restored) say("Put back what you typed on this phone earlier — saving it now.");
    if (restored || absorbed.length) save();
  }, noop);

  form.addEventListener("input", function () {
    left = null;
    write();
    say("");
    clearTimeout(timer);
    timer = setTimeout(save, 1200);
  });
  // A plain "Save notes" carries everything itself; offline it waits here instead.
  form.addEventListener("submit", function (event) {
    if (navigator.onLine !== false) { submitting = true; return; }
    event.preventDefault();
    save();
  });
  // Leaving (a link, the back button, the app switcher): kept on the phone, and sent now, the
  // request outliving the page. Under my entry's id when that holds the same change (the
  // outbox may send it too: applied once), else a fresh one (the same text twice is no change).
  function leave() {
    if (submitting) return;
    clearTimeout(timer); timer = null;
    var c = content(), json = JSON.stringify(c), sent = outbox.wire(c);
    if (json === left) return;  // hidden, then gone: once is enough
    left = json;
    write();
    if (!Object.keys(sent).length) return;
    var body = new FormData();
    body.set("csrf_token", "");  // send.js fills in the current token
    body.set("client_id", last && last.json === json ? last.id : outbox.uuid());
    Object.keys(sent).forEach(function (n) { body.set(n, sent[n]); });
    draft = null;  // what I type from now on goes under a new id
    eventmateSend(path, {
      method: "POST", body: body, keepalive: true, headers: { "Accept": "application/json" }
    }).then(function () { outbox.kick(); }, noop);  // still here (the app switcher): the answer
  }
  window.addEventListener("pagehide", leave);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") leave();
  });
})();
