// The campaign form shows only the fields of the chosen kind (articles for
// bulletins, the button for alerts and appeals, donors for appeals).
// admin-campaign.css does it with :has() alone; this names the kind on the
// page for browsers without :has(). Without either, every field shows, each
// fieldset saying which kinds it is for.
(function () {
  "use strict";
  function follow(select) {
    document.documentElement.setAttribute("data-tocsin-kind", select.value);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var select = document.getElementById("id_kind");
    if (!select || select.tagName !== "SELECT") return;
    follow(select);
    select.addEventListener("change", function () { follow(select); });
  });
})();
