// The poster's Print button (without JavaScript, the page says to use the browser's Print).
(function () {
  "use strict";
  var button = document.querySelector("[data-print]");
  if (!button) return;
  button.hidden = false;
  document.querySelector("[data-print-hint]").hidden = true;
  button.addEventListener("click", function () { window.print(); });
})();
