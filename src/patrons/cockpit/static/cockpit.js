// Live progress: an element with data-poll="<url>" is replaced by the HTML that url returns,
// once a second, until the returned element no longer asks to be polled (the job ended).
(function () {
  "use strict";
  function poll(element) {
    var url = element.getAttribute("data-poll");
    if (!url) return;
    window.setTimeout(function () {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text();
        })
        .then(function (html) {
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.querySelector("#" + element.id) || holder.firstElementChild;
          if (!fresh) return;
          element.replaceWith(fresh);
          poll(fresh);
        })
        .catch(function () { window.setTimeout(function () { poll(element); }, 4000); });
    }, 1000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(poll);
  });
})();
