// SmartCity operator console, lighting page: while a lamp command is pending, fetch the commands'
// fragment again every few seconds so its confirmation state (confirmed, not followed) shows without a
// reload. The server renders the fragment; nothing is computed here.
(function () {
  "use strict";
  var target = document.getElementById("lighting-commands");
  if (!target) { return; }

  function pending() {
    var live = document.getElementById("lighting-live");
    return live && live.getAttribute("data-pending") === "true";
  }

  function refresh() {
    if (!pending()) { window.setTimeout(refresh, 5000); return; }
    var url = new URL(window.location.href);
    url.searchParams.set("handler", "Live");
    url.searchParams.delete("refused");
    fetch(url.toString(), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.text(); })
      .then(function (html) { target.innerHTML = html; })
      .catch(function () {})
      .then(function () { window.setTimeout(refresh, 2000); });
  }

  window.setTimeout(refresh, 2000);
})();
