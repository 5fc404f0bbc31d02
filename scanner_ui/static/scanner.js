// Scanner niceties. The pages work without this file; with it, the scan input stays on the page and scans go
// through a queue: each gets the device's next sequence number and is sent only after the one before it has been
// answered, so back-to-back scans are never cut, merged, lost or reordered, and a resent scan is applied once.
(function () {
  "use strict";
  var login = document.getElementById("login");
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
  var queue = [], busy = false, audio = null, answers = 0;

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

  function note() {
    queueNote.textContent = queue.length ? queueNote.getAttribute("data-waiting") + " " + queue.length : "";
  }

  function enqueue(kind, value) {
    queue.push({kind: kind, value: value, seq: seq++});
    note();
    pump();
  }

  function answered(status, body) {
    if (body.error && body.error.code === "stale_sequence") {
      seq = body.next_sequence;
      queue.forEach(function (item) { item.seq = seq++; });
      return;
    }
    queue.shift();
    document.body.setAttribute("data-answers", String(++answers));
    if (body.panel !== undefined) panel.innerHTML = body.panel;
    msg.textContent = body.message || (body.error && body.error.message) || "";
    var ok = status < 400;
    document.body.className = ok ? "ok" : "refused";
    tone(ok ? [1320] : [220, 180, 220]);
    if (body.next_sequence && !queue.length) seq = Math.max(seq, body.next_sequence);
  }

  function pump() {
    if (busy || !queue.length) return;
    busy = true;
    var item = queue[0];
    fetch(form.action, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json"},
      body: JSON.stringify({screen: screen, seq: item.seq, kind: item.kind, value: item.value})
    }).then(function (r) {
      if (r.status === 401) { window.location.href = "/login"; throw new Error("signed out"); }
      if (r.status >= 500) throw new Error("server " + r.status);
      return r.json().then(function (body) { answered(r.status, body); });
    }).then(function () {
      busy = false; note(); pump();
    }, function () {
      busy = false; setTimeout(pump, 500);  // same number again: the server applies it at most once
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var value = input.value;
    input.value = "";
    if (value.trim()) enqueue("scan", value);
  });
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (!f.classList || !f.classList.contains("act")) return;
    e.preventDefault();
    enqueue(f.elements.kind.value, f.elements.value.value);
    focusInput();
  });
  focusInput();
})();
