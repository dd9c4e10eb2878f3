// A form that comes back with errors opens at its error summary (templates/partials/
// error_summary.html): focus moves there, so a screen reader reads the problems first and a
// keyboard user starts from them. Each link in the summary moves focus to its field.
// Progressive enhancement: without this script the summary and its links still work.
(function () {
  "use strict";

  var summary = document.querySelector("[data-error-summary]");
  if (!summary) {
    return;
  }
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    var field = link && document.getElementById(link.getAttribute("href").slice(1));
    if (!field) {
      return;
    }
    event.preventDefault();
    field.focus();
    field.scrollIntoView({ block: "center" });
  });
  summary.focus();
})();
