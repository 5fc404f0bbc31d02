// Scanner niceties. The pages work without this file; with it, the scan input stays on the page and scans go
// through a queue: each gets the device's next sequence number and is sent only after the one before it has been
// answered, so back-to-back scans are never cut, merged, lost or reordered, and a resent scan is applied once.
(function () {
  "use strict";
  var login = document.getElementById("login");
  if (login && window.caches) window.caches.delete("cangku-screens-v1");  // signed out: no screen kept for the next
  if (login) {
    login.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && e.target.name === "badge" && !login.elements.pin.value) {
        e.preventDefault();
        login.elements.pin.focus();
      }
    });
    return;
  }
  var form = document.getElementById("scan");
  if (!form || !window.fetch) return;
  var input = form.elements.value, msg = document.getElementById("msg"), panel = document.getElementById("panel");
  var queueNote = document.getElementById("queue");
  var screen = form.elements.screen.value, seq = parseInt(form.elements.seq.value, 10);
  // The queue is kept in the browser, so scans typed with no connection, before a reload or while the session
  // ran out wait there (with their numbers) and are sent, in order, once the server can be reached again. Each
  // person's scans are kept apart: they are sent only when that person is signed in.
  var PREFIX = "cangku-scans:", KEY = PREFIX + form.getAttribute("data-staff") + ":" + screen;
  var queue = stored(), busy = false, audio = null, answers = 0, offline = false;
  if (queue.length) seq = Math.max(seq, queue[queue.length - 1].seq + 1);

  function stored() {
    try { return JSON.parse(window.localStorage.getItem(KEY) || "[]"); } catch (err) { return []; }
  }
  function keep() {
    try { window.localStorage.setItem(KEY, JSON.stringify(queue)); } catch (err) { /* private mode: memory only */ }
  }

  function focusInput() { if (document.activeElement !== input) input.focus(); }
  input.addEventListener("blur", function () { setTimeout(focusInput, 0); });
  document.addEventListener("click", focusInput);

  function tone(freqs) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var t = audio.currentTime;
      freqs.forEach(function (f, i) {
        var o = audio.createOscillator(), g = audio.createGain();
        o.type = "square"; o.frequency.value = f; g.gain.value = 0.15;
        o.connect(g); g.connect(audio.destination);
        o.start(t + i * 0.16); o.stop(t + i * 0.16 + 0.13);
      });
    } catch (err) { /* no sound on this device */ }
  }

  function others() {
    var waiting = [];
    try {
      for (var i = 0; i < window.localStorage.length; i++) {
        var key = window.localStorage.key(i);
        if (key.indexOf(PREFIX) !== 0 || key === KEY) continue;
        var n = JSON.parse(window.localStorage.getItem(key) || "[]").length;
        if (n) waiting.push(key.slice(PREFIX.length).split(":")[0] + " " + n);
      }
    } catch (err) { /* nothing kept */ }
    return waiting.length ? queueNote.getAttribute("data-others") + " " + waiting.join(", ") : "";
  }
  var othersWaiting = others();

  function note() {
    var text = queue.length ? queueNote.getAttribute("data-waiting") + " " + queue.length : "";
    if (offline) text = queueNote.getAttribute("data-offline") + (queue.length ? " · " + text : "");
    if (othersWaiting) text = text ? text + " · " + othersWaiting : othersWaiting;
    queueNote.textContent = text;
    document.body.setAttribute("data-queued", String(queue.length));
    document.body.setAttribute("data-offline", offline ? "1" : "0");
  }

  // A scanner types a whole code in a few milliseconds; a person takes far longer per key. How the value came is
  // sent with it, so a screen can refuse codes typed by hand and the supervisor sees who types them.
  var keys = [], pasted = false;
  input.addEventListener("keydown", function (e) { if (e.key !== "Enter") keys.push(e.timeStamp); });
  input.addEventListener("paste", function () { pasted = true; });
  function entryOf() {
    var n = keys.length, keyed = pasted || n === 1 || (n > 1 && (keys[n - 1] - keys[0]) / (n - 1) > 50);
    keys = []; pasted = false;
    return keyed ? "keyed" : "scanned";
  }

  function enqueue(kind, value, entry) {
    queue.push({kind: kind, value: value, seq: seq++, entry: entry || ""});
    keep();
    note();
    pump();
  }

  function answered(status, body) {
    if (body.error && body.error.code === "stale_sequence") {
      seq = body.next_sequence;
      queue.forEach(function (item) { item.seq = seq++; });
      keep();
      return;
    }
    queue.shift();
    keep();
    document.body.setAttribute("data-answers", String(++answers));
    if (body.panel !== undefined) panel.innerHTML = body.panel;
    msg.textContent = body.message || (body.error && body.error.message) || "";
    var ok = status < 400;
    document.body.className = ok ? "ok" : "refused";
    tone(ok ? [1320] : [220, 180, 220]);
    if (body.next_sequence && !queue.length) seq = Math.max(seq, body.next_sequence);
  }

  function signIn() {
    // The session ended: the scans stay queued, and the login brings the person back to this screen to send them.
    keep();
    window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname);
  }

  function pump() {
    if (busy || !queue.length) return;
    busy = true;
    var item = queue[0];
    fetch(form.action, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json"},
      body: JSON.stringify({screen: screen, seq: item.seq, kind: item.kind, value: item.value, entry: item.entry || ""})
    }).then(function (r) {
      offline = false;
      if (r.status === 401) { signIn(); throw new Error("signed out"); }
      if (r.status >= 500) throw new Error("server " + r.status);
      return r.json().then(function (body) { answered(r.status, body); });
    }).then(function () {
      busy = false; note(); pump();
    }, function (err) {
      busy = false;
      if (err && err.message === "signed out") return;
      if (!(err && /^server /.test(err.message))) offline = true;
      note();
      setTimeout(pump, offline ? 1000 : 500);  // same number again: the server applies it at most once
    });
  }

  window.addEventListener("online", pump);
  if (navigator.serviceWorker) navigator.serviceWorker.register("/sw.js").catch(function () { /* pages still work */ });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var value = input.value, entry = entryOf();
    input.value = "";
    if (value.trim()) enqueue("scan", value, entry);
  });
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (!f.classList || !f.classList.contains("act")) return;
    e.preventDefault();
    enqueue(f.elements.kind.value, f.elements.value.value);
    focusInput();
  });
  note();
  pump();
  focusInput();
})();
