// Pre-fill the time zone with the organiser's own when the field is empty.
(function () {
  var input = document.getElementById("f-timezone");
  if (!input || input.value) return;
  try { input.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* keep empty */ }
})();
