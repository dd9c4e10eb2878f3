// Adds the viewer's local time after each <time class="utc">. The page already says the
// moment in UTC, so without this script (or for a viewer on UTC) nothing is missing.
(function () {
  "use strict";

  function pad(number) {
    return String(number).padStart(2, "0");
  }

  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    zone = "";
  }

  function show(element) {
    var moment = new Date(element.getAttribute("datetime"));
    if (isNaN(moment.getTime()) || moment.getTimezoneOffset() === 0) {
      return;
    }
    var text =
      moment.getFullYear() + "-" + pad(moment.getMonth() + 1) + "-" + pad(moment.getDate()) +
      " " + pad(moment.getHours()) + ":" + pad(moment.getMinutes());
    if (/\d\d:\d\d:\d\d/.test(element.textContent)) {
      text += ":" + pad(moment.getSeconds());
    }
    var local = document.createElement("span");
    local.className = "local-time";
    local.textContent = text + " " + (zone || "local time");
    element.insertAdjacentElement("afterend", local);
  }

  document.querySelectorAll("time.utc[datetime]").forEach(show);
})();
