// aiwatch pages: live updates from the event stream, without reloading the page.
// Each element marked data-live is fetched again (the same page, HTML) when an event the
// page listens to arrives; forms and what the user is typing stay untouched.
(function () {
  "use strict";
  var body = document.body;
  var names = (body.getAttribute("data-live-events") || "").split(/\s+/).filter(Boolean);
  if (!names.length || !window.EventSource || !document.querySelector("[data-live]")) return;
  var base = body.getAttribute("data-base") || "";
  var pending = null;
  var retry = 5000;

  function refresh() {
    pending = null;
    fetch(window.location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var next = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live][id]").forEach(function (el) {
          var fresh = next.getElementById(el.id);
          if (fresh && fresh.innerHTML !== el.innerHTML) el.innerHTML = fresh.innerHTML;
        });
        body.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () {});
  }

  function soon() {
    if (pending === null) pending = window.setTimeout(refresh, 250);
  }

  function connect() {
    var url = base + "/api/v1/events";
    // Probe results are sent only to who asks, for one target: a target's own page.
    var target = body.getAttribute("data-live-target");
    if (names.indexOf("probe") >= 0 && target) {
      url += "?probes=true&target=" + encodeURIComponent(target);
    }
    var source = new EventSource(url);
    source.onopen = function () { retry = 5000; body.setAttribute("data-live-connected", "true"); };
    source.onmessage = soon;
    names.forEach(function (name) { source.addEventListener(name, soon); });
    source.onerror = function () {
      body.setAttribute("data-live-connected", "false");
      if (source.readyState === EventSource.CLOSED) {
        // No stream here (an older daemon) or it refused us: try again later, slower.
        window.setTimeout(connect, retry);
        retry = Math.min(retry * 2, 300000);
      }
    };
  }
  connect();
})();
