/* The campaign admin's behaviour, from a static file: the admin's
   Content-Security-Policy allows no inline script (config/csp.py). */
(function () {
  "use strict";

  // A form or button with data-confirm asks before it posts (send, cancel).
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = (button && button.dataset.confirm) || event.target.dataset.confirm;
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  // Picking a time on the send page means "later".
  document.addEventListener("focusin", function (event) {
    var id = event.target.dataset && event.target.dataset.checks;
    var radio = id && document.getElementById(id);
    if (radio) {
      radio.checked = true;
    }
  });

  // While a campaign is sending, its counts refresh every few seconds; a
  // change of status (sent, paused…) reloads the page with its new buttons.
  document.addEventListener("DOMContentLoaded", function () {
    var panel = document.getElementById("tocsin-panel");
    if (!panel || panel.dataset.live !== "1") {
      return;
    }
    var bar = document.getElementById("tocsin-progress");
    var text = document.getElementById("tocsin-counts");
    var template = panel.dataset.progressTemplate || "";
    window.setInterval(function () {
      fetch(panel.dataset.progressUrl, {credentials: "same-origin"})
        .then(function (response) { return response.json(); })
        .then(function (data) {
          if (data.status !== panel.dataset.status) {
            window.location.reload();
            return;
          }
          var c = data.counts;
          if (bar) {
            bar.max = c.recipients || 1;
            bar.value = c.sent + c.failed;
          }
          if (text) {
            text.textContent = template.replace("%(sent)s", c.sent).replace("%(total)s", c.recipients)
              .replace("%(failed)s", c.failed).replace("%(unknown)s", c.unknown).replace("%(pending)s", c.pending);
          }
        });
    }, 3000);
  });
})();
