// IT Hub console: small enhancements over pages that work without them. No inline script (the content security
// policy forbids it).
(function () {
  "use strict";
  // Times: rendered in UTC on the server, shown here in the admin's own time zone.
  function localTimes(root) {
    var format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var at = new Date(el.getAttribute("datetime"));
      if (!isNaN(at)) { el.textContent = format.format(at); el.title = el.getAttribute("datetime"); }
    });
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    document.querySelectorAll(".tz").forEach(function (el) { el.textContent = "your time zone (" + zone + ")"; });
  }
  // Setup: say how many people are selected and how many licenses setting them up adds.
  function setupSummary() {
    var form = document.getElementById("setup-form");
    if (!form) return;
    var button = document.getElementById("setup-button");
    var summary = document.getElementById("setup-summary");
    function update() {
      var n = form.querySelectorAll("input[name=employee_id]:checked").length;
      button.textContent = n ? "Set up " + n + (n === 1 ? " person" : " people") : "Set up selected";
      summary.textContent = n
        ? n + " selected: setting them up adds " + n + (n === 1 ? " license." : " licenses.")
        : "Select people who are not set up yet. Each person set up gets a paid license.";
    }
    form.addEventListener("change", update);
    update();
  }
  document.addEventListener("DOMContentLoaded", function () { localTimes(document); setupSummary(); });
  // After a checklist item changes in place, its buttons are new: the keyboard focus goes to the item itself.
  document.addEventListener("htmx:afterSettle", function (e) {
    localTimes(e.target);
    var updated = document.querySelector("[data-updated]");
    if (updated) { updated.focus(); updated.removeAttribute("data-updated"); }
  });
})();
