// Reloads a page that is waiting for something (a delivery, a bulk replay, the demo inbox)
// every N seconds, from <meta name="hookhub-refresh" content="N"> (templates/partials/
// auto_refresh.html), with a button that stops and restarts it: a timed reload must be
// something the reader can turn off (WCAG 2.2.1), and <meta http-equiv="refresh"> cannot be.
// Without JavaScript the partial's <noscript> meta refresh reloads the page instead.
(function () {
  "use strict";

  var meta = document.querySelector("meta[name='hookhub-refresh']");
  var seconds = meta ? parseInt(meta.getAttribute("content"), 10) : 0;
  var main = document.getElementById("main");
  if (!(seconds > 0) || !main) {
    return;
  }
  var timer = null;
  var bar = document.createElement("p");
  bar.className = "refresh-bar";
  var text = document.createElement("span");
  var button = document.createElement("button");
  button.type = "button";
  bar.appendChild(text);
  bar.appendChild(document.createTextNode(" "));
  bar.appendChild(button);

  function start() {
    timer = window.setTimeout(function () {
      window.location.reload();
    }, seconds * 1000);
    text.textContent = "This page reloads every " + seconds + " s.";
    button.textContent = "Stop reloading";
  }

  function stop() {
    window.clearTimeout(timer);
    timer = null;
    text.textContent = "Reloading is stopped.";
    button.textContent = "Reload every " + seconds + " s";
  }

  button.addEventListener("click", function () {
    if (timer === null) {
      start();
    } else {
      stop();
    }
  });
  // After the page's heading, where the reader looks first.
  var heading = main.querySelector("h1");
  var anchor = heading ? heading.closest(".page-head") || heading : null;
  if (anchor && anchor.parentNode) {
    anchor.parentNode.insertBefore(bar, anchor.nextSibling);
  } else {
    main.insertBefore(bar, main.firstChild);
  }
  start();
})();
