// "Copy the link" buttons: shown only where the browser can copy.
(function () {
  "use strict";
  if (!navigator.clipboard) return;
  document.querySelectorAll("[data-share]").forEach(function (el) { el.hidden = false; });
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
        button.textContent = "Copied";
      }, function () {
        button.textContent = "Couldn't copy — select the link above";
      });
    });
  });
})();
