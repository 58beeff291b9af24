// The outbox: changes to my three (choose, remove, swap) and notes (notes.js) kept on this
// phone (IndexedDB) until the server has answered them. Online with nothing waiting, a tap is
// the plain form with an id made here (kept here first, and by the service worker if the
// request dies on the way).
// Offline, or behind changes still waiting, it waits here, and the page says so; they are
// sent on `online`, on page load, after each save, with backoff, and by the service worker
// (Background Sync, asked for when there was no connection) where the browser has it. The
// server applies each id once however often it arrives, and answers a copy alike. Each round first asks for a fresh CSRF token, so a
// token rotated meanwhile never strands a change. A refusal (a fourth pick) is shown until
// OK, never dropped. Signing out or deleting my data waits until nothing is left unsent, or
// until I choose to discard it. The forms work without this file; the worker loads it too.
// A note entry holds the fields typed and `base_<field>` each was based on; notes.js rewrites
// its own entry while it is untried, never once it may have been sent (same id, same change).
(function (self) {
  "use strict";
  var TAG = "eventmate-outbox", STORE = "outbox", NOTES = "eventmate:notes:", BASE = "base_";

  function noop() {}

  function db() {
    return new Promise(function (ok, fail) {
      var open = indexedDB.open("eventmate", 1);
      open.onupgradeneeded = function () { open.result.createObjectStore(STORE, { keyPath: "id" }); };
      open.onsuccess = function () { ok(open.result); };
      open.onerror = function () { fail(open.error); };
    });
  }

  // One transaction; resolves with the request's result once it is on disk.
  function store(mode, work) {
    return db().then(function (conn) {
      return new Promise(function (ok, fail) {
        var t = conn.transaction(STORE, mode), request = work(t.objectStore(STORE));
        t.oncomplete = function () { conn.close(); ok(request && request.result); };
        t.onerror = t.onabort = function () { conn.close(); fail(t.error); };
      });
    });
  }

  function all() {
    return store("readonly", function (s) { return s.getAll(); }).then(function (list) {
      return (list || []).sort(function (a, b) { return a.at - b.at; });
    });
  }
  function put(change) { return store("readwrite", function (s) { s.put(change); }); }
  function drop(id) { return store("readwrite", function (s) { s.delete(id); }); }
  // Keep a change unless it is kept already (the page's copy knows the person's name).
  function keep(change) {
    return store("readwrite", function (s) {
      var known = s.get(change.id);
      known.onsuccess = function () { if (!known.result) s.put(change); };
    });
  }

  // A change as the outbox keeps it: its id, the form's path and fields, whom it is about.
  function entry(id, url, fields, name) {
    return { id: id, at: Date.now(), slug: url.split("/")[2], url: url, fields: fields, name: name || "them",
      kind: /\/remove$/.test(url) ? "unpick" : /\/swap$/.test(url) ? "swap" :
        /\/notes\//.test(url) ? "note" : "pick" };
  }

  // What goes on the wire: a note's fields held in a conflict stay on the phone until I choose.
  function wire(e) {
    var out = {}, hold = e.hold || [];
    Object.keys(e.fields).forEach(function (n) {
      if (hold.indexOf(n) < 0 && hold.indexOf(n.slice(BASE.length)) < 0) out[n] = e.fields[n];
    });
    return out;
  }
  // Waiting to be sent: not refused, and (a note) not all held.
  function waits(e) {
    return !e.refused && (e.kind !== "note" || Object.keys(wire(e)).length > 0);
  }
  // Marked tried (in one step with reading it) before it goes: notes.js then leaves it alone.
  function claim(id) {
    return store("readwrite", function (s) {
      var got = s.get(id);
      got.onsuccess = function () { if (got.result) { got.result.tried = 1; s.put(got.result); } };
      return got;
    });
  }
  // A note saved: later untried entries about it that were based on what it replaced are
  // based on what it saved now, so they don't meet it as "changed on another screen".
  function rebase(change, saved) {
    return store("readwrite", function (s) {
      var list = s.getAll();
      list.onsuccess = function () {
        list.result.forEach(function (e) {
          if (e.url !== change.url || e.tried || e.id === change.id) return;
          var moved = false;
          Object.keys(saved).forEach(function (n) {
            if (BASE + n in e.fields && e.fields[BASE + n] === change.fields[BASE + n]) {
              e.fields[BASE + n] = saved[n]; moved = true;
            }
          });
          if (moved) s.put(e);
        });
      };
    });
  }

  function answer(response) {
    return response.json().catch(function () { return {}; }).then(function (body) {
      return { status: response.status, body: body || {} };
    });
  }

  var api = self.eventmateOutbox = {
    TAG: TAG, all: all, put: put, keep: keep, drop: drop, entry: entry, flush: flush, store: store, waits: waits,
    wire: wire, answer: answer, live: {}, settled: noop, note: noop,
    send: function (id, via) { return send({ id: id }, {}, via); }
  };

  // A fresh token per event and round (only a phone checked in there gets one).
  function token(slug, round) {
    if (!round[slug]) {
      round[slug] = fetch("/e/" + slug + "/csrf", {
        credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" }
      }).then(answer).then(function (a) {
        if (a.status === 200) api.token = a.body.csrf_token;
        return a;
      });
    }
    return round[slug];
  }

  function post(url, body, csrf) {
    body.set("csrf_token", csrf);
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrf }
    }).then(answer);
  }

  // One change: claimed, sent (by `via`, or with a fresh token), its answer kept or acted on.
  function send(queued, round, via) {
    var change;
    return claim(queued.id).then(function (now) {
      change = now;
      if (!change || !waits(change)) return null;  // answered meanwhile, or all held now
      var body = new URLSearchParams(wire(change));
      body.set("client_id", change.id);
      if (api.live[change.id]) body.set("flash", "1");  // tapped on this page: say it on the next
      return (via ? via(change, body) : token(change.slug, round).then(function (t) {
        // Not checked in there any more, or the server is down: that is the answer.
        return t.status !== 200 ? t : post(change.url, body, t.body.csrf_token);
      })).then(null, function () { return { status: 0, body: {} }; });  // offline
    }).then(function (a) {
      if (!a) return;
      var code = a.status, b = a.body;
      // Told once the outbox holds the outcome (a notes page then writes its own entry).
      function told() {
        if (change.kind === "note") api.note(change, code, b);
        api.settled(change, b);
      }
      if (code === 200 && (b.done || b.saved)) {
        return (b.values ? rebase(change, b.values) : Promise.resolve()).then(function () {
          return drop(change.id);
        }).then(told);
      }
      // Not a "no" (offline, a server error, busy, a token refused after all): keep it, try later.
      if (!code || code >= 500 || code === 429 || b.error === "csrf_failed") {
        if (change.kind === "note") api.note(change, code, b);
        var later = new Error("not sent yet");
        later.offline = !code;
        throw later;
      }
      // A "no", or a note's conflict: kept (with both versions) until seen, never sent again.
      change.refused = b.message || "The server said no.";
      if (b.conflicts) change.conflicts = b.conflicts;
      return (b.values ? rebase(change, b.values) : Promise.resolve()).then(function () {
        return put(change);
      }).then(told);
    });
  }

  // One round at a time; a round asked for meanwhile runs after it (it may have a new change).
  var running = null, next = null;
  function flush() {
    if (running) {
      return next || (next = running.then(null, noop).then(function () { next = null; return flush(); }));
    }
    function round() {
      var tokens = {};
      return all().then(function (list) {
        return list.filter(waits).reduce(function (done, e) {
          return done.then(function () { return send(e, tokens); });
        }, Promise.resolve());
      });
    }
    var locks = self.navigator && navigator.locks;  // the page and the worker: one sender at once
    running = (locks ? locks.request(TAG, round) : round());
    running.then(function () { running = null; }, function () { running = null; });
    return running;
  }

  if (typeof document === "undefined") return;  // the service worker stops here

  // --- the page ---------------------------------------------------------------------------
  var box = document.querySelector("[data-outbox-status]");
  var slug = box && box.getAttribute("data-slug");
  if (!slug || !window.indexedDB) return;
  var pending = 0, sent = false, retryIn = 0, retryTimer = null;

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function path(form) { return new URL(form.action, location.href).pathname; }
  function key(url, fields) { return url + "|" + (fields.person || "") + "|" + (fields.drop || ""); }
  function fieldsOf(form) {
    var fields = {};
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrf_token" && name !== "client_id") fields[name] = value;
    });
    return fields;
  }

  function line(text, kind) {
    var p = document.createElement("p");
    p.textContent = text;
    if (kind) p.className = kind;
    box.appendChild(p);
    return p;
  }
  function button(p, label, then) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "button secondary small";
    b.textContent = label;
    b.addEventListener("click", then);
    p.appendChild(document.createTextNode(" "));
    p.appendChild(b);
  }
  function refusal(e) {
    var what = e.kind === "unpick" ? "remove " : e.kind === "swap" ? "swap in " : e.kind === "note" ?
      "save your notes about " : "add ";
    return "Couldn't " + what + e.name + ": " + e.refused;
  }

  // The tapped button says where its change is.
  function mark(form, text) {
    var b = form.querySelector("button");
    if (!b) return;
    b.disabled = text !== "Not sent";
    b.textContent = text;
    if (b.hasAttribute("aria-label")) b.setAttribute("aria-label", text + ": " + form.getAttribute("data-outbox"));
    form.setAttribute("data-outbox-state", text);
  }

  function show() {
    return all().then(function (list) {
      list = list.filter(function (e) { return e.slug === slug; });
      var waiting = list.filter(waits), byKey = {};
      list.forEach(function (e) { byKey[key(e.url, e.fields)] = e; });
      Array.prototype.slice.call(box.children).forEach(function (c) {
        if (!c.hasAttribute("data-held")) box.removeChild(c);  // the sign-out question stays
      });
      if (waiting.length) {
        sent = false;
        line(waiting.length === 1 ? "Saved on this phone — I'll send it when you're back online." :
          waiting.length + " changes saved on this phone — I'll send them when you're back online.");
      } else if (pending || sent) {
        sent = true;  // said until something new waits
        line("Sent — everything from this phone is saved.", "sent");
      }
      pending = waiting.length;
      list.forEach(function (e) {
        if (!e.refused || e.url === location.pathname) return;  // a notes page shows its own
        var p = line(refusal(e));
        if (e.kind === "note") {  // what I typed is on that page, with both versions
          var a = document.createElement("a");
          a.href = e.url;
          a.textContent = "Open my notes";
          p.appendChild(document.createTextNode(" "));
          p.appendChild(a);
        }
        button(p, "OK", function () { drop(e.id).then(show); });
      });
      document.querySelectorAll("form[data-outbox]").forEach(function (form) {
        var e = byKey[key(path(form), fieldsOf(form))];
        if (e) mark(form, e.refused ? "Not sent" : "Waiting to send");
        else if (form.getAttribute("data-outbox-state") === "Waiting to send") mark(form, "Sent");
      });
    }, noop);
  }

  function kick() {
    return flush().then(function () { retryIn = 0; return show(); }, later);
  }
  // Not sent: tried again with backoff (1, 2, 4 … 30 s).
  function later(error) {
    retryIn = Math.min(retryIn ? retryIn * 2 : 1, 30);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(kick, retryIn * 1000);
    api.retry(retryIn);
    // No connection: the worker sends it once there is one, even with this page closed. (A
    // server error is this page's to retry: a sync asked for online would run at once.)
    if (error && error.offline && "serviceWorker" in navigator) {
      navigator.serviceWorker.ready.then(function (r) { return r.sync && r.sync.register(TAG); }).catch(noop);
    }
    return show();
  }

  // Like the form would have: to where it redirects (a reload when only the #anchor differs).
  function go(to) {
    var url = new URL(to || location.href, location.href);
    if (url.pathname + url.search === location.pathname + location.search) {
      history.replaceState(history.state, "", url.href);
      location.reload();
    } else {
      location.assign(url.href);
    }
  }

  // The plain form: online, without the outbox (no IndexedDB, say), or to show a refusal.
  function add(form, name, value) {
    var input = form.querySelector('input[name="' + name + '"]') || document.createElement("input");
    input.type = "hidden"; input.name = name; input.value = value;
    form.appendChild(input);
  }
  function submit(form, clientId) {
    if (clientId) add(form, "client_id", clientId);
    if (api.token && form.elements.csrf_token) form.elements.csrf_token.value = api.token;
    form.submit();
  }

  api.settled = function (change, body) {
    var form = api.live[change.id];
    if (!form) return;
    delete api.live[change.id];
    if (body.done) return go(body.next);
    // Tapped here and refused: the server's page says it best (the swap chooser for a fourth
    // pick). The same id: the server answers with the refusal it stored.
    drop(change.id).then(function () { submit(form, change.id); });
  };

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-outbox-guard")) return guard(event, form);
    if (!form.hasAttribute("data-outbox") || event.defaultPrevented) return;
    var change = entry(uuid(), path(form), fieldsOf(form), form.getAttribute("data-outbox"));
    if (navigator.onLine !== false && !pending) {
      // Online with nothing waiting: the plain form goes, with the change's id, as without
      // this file; its page says how it went (and that it arrived: the kept copy goes then).
      // Kept first all the same, in case the request dies on the way.
      add(form, "client_id", change.id);
      keep(change).catch(noop);
      return;
    }
    event.preventDefault();  // offline, or after the changes still waiting
    mark(form, "Sending…");
    keep(change).then(function () {
      api.live[change.id] = form;
      // Not answered on this try: from now on it is sent in the background.
      return kick().then(function () { delete api.live[change.id]; });
    }, function () { submit(form); });
  });

  // --- signing out, deleting my data: only once nothing is left unsent, or I said discard ---
  // Refusals don't count: the server has answered them (and the page said so). A note's text
  // held in a conflict does: it is on this phone only.
  function unsent() {
    return all().catch(function () { return []; }).then(function (list) {
      return list.filter(function (e) {
        return e.slug === slug && (!e.refused || e.conflicts || (e.hold || []).length);
      }).length;
    });
  }

  function discard() {
    return all().catch(function () { return []; }).then(function (list) {
      return Promise.all(list.filter(function (e) { return e.slug === slug; }).map(function (e) { return drop(e.id); }));
    });
  }

  function guard(event, form) {
    event.preventDefault();
    var held = box.querySelector("[data-held]");
    if (held) box.removeChild(held);
    flush().catch(noop).then(unsent).then(function (n) {
      if (!n) return discard().then(function () { submit(form); });  // all sent: clear what's left
      show().then(function () {
        var p = line((n === 1 ? "1 change on this phone hasn't" : n + " changes on this phone haven't") +
          " been sent yet, so I've held off. Try again when you're back online, or discard " +
          (n === 1 ? "it." : "them."));
        p.setAttribute("data-held", "");
        button(p, "Try again", function () { guard(event, form); });
        button(p, "Discard unsent changes", function () { discard().then(function () { submit(form); }); });
      });
    });
  }

  // Notes typed before the outbox kept them (localStorage, an earlier notes.js): moved here,
  // each as a change of its own, before anything reads the outbox.
  function migrate() {
    var moved = [];
    try {
      for (var i = 0; i < localStorage.length; i++) {
        var k = localStorage.key(i);
        if (k.indexOf(NOTES + "/e/") === 0) moved.push(k);
      }
    } catch (e) { return Promise.resolve(); }
    return Promise.all(moved.map(function (k) {
      var kept = null, fields = {};
      try { kept = JSON.parse(localStorage.getItem(k)); } catch (e) { kept = null; }
      Object.keys(kept || {}).forEach(function (n) {
        var f = kept[n];
        if (f && typeof f.value === "string") { fields[n] = f.value; fields[BASE + n] = String(f.base || ""); }
      });
      var done = function () { localStorage.removeItem(k); };
      return Object.keys(fields).length ? put(entry(uuid(), k.slice(NOTES.length), fields)).then(done) : done();
    })).catch(noop);
  }

  api.uuid = uuid; api.show = show; api.kick = kick; api.later = later; api.retry = noop;
  window.addEventListener("online", kick);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (!event.data || event.data.type !== TAG) return;
      (event.data.notes || []).forEach(function (a) { api.note(a.change, a.code, a.body); });
      show();
    });
  }
  // Changes the server answered as plain forms: its page names them.
  var answered = (box.getAttribute("data-answered") || "").split(" ").filter(Boolean);
  api.ready = migrate().then(function () { return Promise.all(answered.map(drop)); }).catch(noop);
  api.ready.then(show).then(kick);
})(self);
