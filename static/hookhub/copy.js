// A "Copy" button after each element marked data-copy="what it holds" (a secret, a URL, a
// payload). Progressive enhancement: without this script the text is still there to select.
(function () {
  "use strict";

  function fallbackCopy(text) {
    // navigator.clipboard needs a secure context; plain-HTTP development servers lack one.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    area.remove();
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return fallbackCopy(text);
  }

  function addButton(source) {
    var what = source.getAttribute("data-copy") || "text";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = "Copy";
    button.setAttribute("aria-label", "Copy " + what);
    var status = document.createElement("span");
    status.className = "copy-status";
    status.setAttribute("role", "status");
    var timer = null;
    button.addEventListener("click", function () {
      copy(source.textContent.trim()).then(
        function () {
          status.textContent = "Copied";
        },
        function () {
          status.textContent = "Could not copy: select the text and copy it by hand";
        }
      );
      clearTimeout(timer);
      timer = setTimeout(function () {
        status.textContent = "";
      }, 3000);
    });
    var wrapper = document.createElement("span");
    wrapper.className = "copy-tools";
    wrapper.appendChild(button);
    wrapper.appendChild(status);
    source.insertAdjacentElement("afterend", wrapper);
  }

  document.querySelectorAll("[data-copy]").forEach(addButton);
})();
