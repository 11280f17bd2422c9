// Live preview for the template editor. The form works without it (the Preview button);
// this only re-renders the preview as the admin types, through the same server check.
(function () {
  "use strict";
  var form = document.getElementById("template-form");
  var source = document.getElementById("source");
  if (!form || !source || !window.fetch) return;
  var timer = null;
  var latest = 0;
  function refresh() {
    var body = new FormData();
    body.append("source", source.value);
    body.append("csrf_token", form.elements["csrf_token"].value);
    var request = ++latest;
    fetch(form.dataset.previewUrl, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null || request !== latest) return;  // an older answer arriving late
        var holder = document.createElement("div");
        holder.innerHTML = html;  // rendered by our server, every value escaped there
        var fresh = holder.querySelector("#preview");
        var current = document.getElementById("preview");
        if (fresh && current) current.replaceWith(fresh);
      });
  }
  source.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
})();
