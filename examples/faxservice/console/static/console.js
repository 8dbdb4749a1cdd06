// faxkit console: progressive enhancement only (every page works without
// it). Two jobs:
//  1. live status: while a fax in view is queued or sending, refresh the
//     status region from the server every 2 s (paused when the tab is
//     hidden or the user has been idle for 2 minutes, so polling never
//     keeps an unattended session alive);
//  2. idle sign-out: after the session's idle timeout without keyboard or
//     pointer activity, sign out (the server enforces the same timeout).
(function () {
  "use strict";
  var body = document.body;
  var idle = parseInt(body.getAttribute("data-idle") || "0", 10);
  if (!idle) return;
  var last = Date.now();
  ["keydown", "pointerdown", "pointermove", "wheel", "touchstart"].forEach(function (ev) {
    window.addEventListener(ev, function () { last = Date.now(); }, { passive: true });
  });

  var leaving = false;
  function signOut() {
    var f = document.querySelector("form.signout");
    if (!f || leaving) return;
    leaving = true;
    var why = document.createElement("input");
    why.type = "hidden"; why.name = "why"; why.value = "idle";
    f.appendChild(why);
    f.submit();
  }
  // Checked often enough to sign out within a quarter of the timeout
  // (at most 5 s late).
  setInterval(function () {
    if (Date.now() - last >= idle * 1000) signOut();
  }, Math.max(250, Math.min(5000, idle * 250)));

  var live = document.getElementById("live");
  if (!live) return;
  var url = live.getAttribute("data-fragment");
  function active() {
    return !!live.querySelector('[data-active="true"]');
  }
  function tick() {
    if (!active()) return;
    if (document.hidden || Date.now() - last > 120000) { setTimeout(tick, 2000); return; }
    fetch(url, { credentials: "same-origin", headers: { "X-Console-Fetch": "1" }, cache: "no-store" })
      .then(function (r) {
        if (r.status === 401) { window.location.assign("/console/signin?m=ended"); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== undefined) {
          var t = document.createElement("template");
          t.innerHTML = html;
          live.replaceChildren(t.content);
        }
        setTimeout(tick, 2000);
      })
      .catch(function () { setTimeout(tick, 5000); });
  }
  setTimeout(tick, 2000);
})();
