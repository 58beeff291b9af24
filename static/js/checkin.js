// Check-in: Enter in a one-line field goes to the next field instead of sending a
// half-filled form (phones show "Next" on the key: enterkeyhint). Without JavaScript,
// Enter submits and the server says what is missing, keeping what was typed.
(function () {
  "use strict";
  var form = document.querySelector("[data-next-on-enter]");
  if (!form) return;
  form.addEventListener("keydown", function (event) {
    var field = event.target;
    if (event.key !== "Enter" || field.tagName !== "INPUT" || field.type === "checkbox") return;
    var fields = Array.prototype.filter.call(form.elements, function (el) {
      return (el.tagName === "INPUT" || el.tagName === "TEXTAREA") && el.type !== "hidden" && el.type !== "checkbox";
    });
    var next = fields[fields.indexOf(field) + 1];
    if (!next) return; // the last field: Enter sends the form
    event.preventDefault();
    next.focus();
  });
})();
