// Live preview of an article's Markdown body in the admin: the server renders
// it with the same sanitiser the site uses, so what staff see is what readers get.
(function () {
  "use strict";
  function csrfToken(form) {
    var input = form && form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  function setup(textarea) {
    var url = textarea.getAttribute("data-preview-url");
    if (!url) return;
    var wrapper = document.createElement("div");
    wrapper.className = "markdown-preview-wrapper";
    var heading = document.createElement("p");
    heading.className = "markdown-preview-label";
    heading.textContent = textarea.getAttribute("data-preview-label") || "Preview";
    var preview = document.createElement("div");
    preview.className = "markdown-preview prose";
    preview.setAttribute("aria-live", "polite");
    wrapper.appendChild(heading);
    wrapper.appendChild(preview);
    textarea.parentNode.insertBefore(wrapper, textarea.nextSibling);
    var timer = null;
    var latest = 0;
    function render() {
      var body = new FormData();
      body.append("body_markdown", textarea.value);
      var request = ++latest;
      fetch(url, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(textarea.form) },
      })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          // Out-of-order answers: only the newest request may paint.
          if (request !== latest) return;
          // The server returns HTML already sanitised by nh3.
          preview.innerHTML = data.html || "";
        })
        .catch(function () { /* keep the last good preview */ });
    }
    textarea.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(render, 400);
    });
    render();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("textarea[data-preview-url]").forEach(setup);
  });
})();
