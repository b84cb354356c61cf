// SmartCity operator console: live updates from the server's event stream (/console/events).
// No framework, no inline script (the CSP forbids it). The server renders every fragment; this file
// only fetches a fragment again when the stream says an alert changed, and offers an opt-in
// browser notification for new critical alerts.
(function () {
  "use strict";
  var body = document.body;
  var page = body.getAttribute("data-page");
  var lang = body.getAttribute("data-lang") || "en";

  function localTimes(root) {
    var format = new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "medium" });
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) { t.title = t.textContent; t.textContent = format.format(d); }
    });
  }

  function replace(target, url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.text(); })
      .then(function (html) {
        // A keyboard user keeps their place: the link that had the focus gets it back in the new rows.
        var focused = target.contains(document.activeElement) ? document.activeElement.getAttribute("href") : null;
        target.innerHTML = html;
        localTimes(target);
        if (focused) {
          var again = target.querySelector("a[href='" + focused.replace(/'/g, "") + "']");
          if (again) { again.focus(); }
        }
      })
      .catch(function () {});
  }

  function withHandler(handler) {
    var url = new URL(window.location.href);
    url.searchParams.set("handler", handler);
    url.searchParams.delete("refused");
    return url.toString();
  }

  // The state and history again; the action forms are kept while the operator is typing in one.
  function refreshLive(live) {
    fetch(withHandler("Live"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.text(); })
      .then(function (html) {
        var typing = Array.prototype.some.call(live.querySelectorAll("textarea"), function (t) { return t.value !== ""; });
        var kept = typing ? live.querySelector("#actions") : null;
        var fresh = document.createElement("div");
        fresh.innerHTML = html;
        live.textContent = "";
        Array.prototype.slice.call(fresh.children).forEach(function (child) {
          live.appendChild(child.id === "actions" && kept ? kept : child);
        });
        localTimes(live);
      })
      .catch(function () {});
  }

  var notifyKey = "smartcity-console-notify";
  function notifyWanted() {
    return "Notification" in window && Notification.permission === "granted" && localStorage.getItem(notifyKey) === "1";
  }

  function setupNotifyButton() {
    var button = document.getElementById("notify-toggle");
    if (!button || !("Notification" in window)) { return; }
    button.hidden = false;
    if (notifyWanted()) { button.textContent = button.getAttribute("data-on"); button.setAttribute("aria-pressed", "true"); }
    button.addEventListener("click", function () {
      Notification.requestPermission().then(function (permission) {
        if (permission === "granted") {
          localStorage.setItem(notifyKey, "1");
          button.textContent = button.getAttribute("data-on");
          button.setAttribute("aria-pressed", "true");
        }
      });
    });
  }

  function connect() {
    var status = document.getElementById("live-status");
    var rows = document.getElementById("alert-rows");
    var live = document.getElementById("alert-live");
    var detail = document.getElementById("alert-detail");
    if (!rows && !live) { return; }
    var source = new EventSource("/console/events");
    source.addEventListener("hello", function () {
      if (status) { status.textContent = body.getAttribute("data-live-on"); status.classList.add("on"); }
      // Whatever changed while the stream was down.
      if (rows) { replace(rows, withHandler("Rows")); }
    });
    source.addEventListener("alert", function (e) {
      var change = JSON.parse(e.data);
      if (rows) {
        replace(rows, withHandler("Rows"));
        if (change.kind === "raised" && change.severity === "critical" && notifyWanted()) {
          new Notification(body.getAttribute("data-new-critical"), { body: change.rule + " · " + change.deviceId + " · " + change.district, tag: change.id });
        }
      }
      if (live && detail && detail.getAttribute("data-alert-id") === change.id) {
        refreshLive(live);
      }
    });
    source.onerror = function () {
      if (status) { status.textContent = body.getAttribute("data-live-off"); status.classList.remove("on"); }
    };
  }

  localTimes(document);
  if (page === "alerts") { setupNotifyButton(); }
  if (page === "alerts" || page === "alert") { connect(); }
})();
