// The endpoint page's "Send a test event" form: fill the payload box with the chosen type's
// example, so it can be edited from there. Without this script an empty box sends the
// example, so the form works the same; this only saves copying it from the Webhooks page.
(function () {
  "use strict";
  var form = document.getElementById("send-test-form");
  var data = document.getElementById("test-examples");
  if (!form || !data) {
    return;
  }
  var examples = JSON.parse(data.textContent);
  var select = form.querySelector("select[name=event_type]");
  var box = form.querySelector("textarea[name=payload]");
  if (!select || !box) {
    return;
  }
  var filled = "";

  function exampleOf(name) {
    return Object.prototype.hasOwnProperty.call(examples, name)
      ? JSON.stringify(examples[name], null, 2)
      : "";
  }

  function fill() {
    // Never overwrite what someone typed: only an empty box or our own last example.
    if (box.value.trim() !== "" && box.value !== filled) {
      return;
    }
    filled = exampleOf(select.value);
    box.value = filled;
  }

  select.addEventListener("change", fill);
  fill();
})();
