// Dates come rendered in the time zone of the organiser's latest event (or UTC); here they
// are shown in this device's own time zone instead, in the same words, and the note says so.
(function () {
  "use strict";
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  if (!zone) return;
  var formats = {
    day: new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric" }),
    "day-time": new Intl.DateTimeFormat("en-GB", {
      weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23"
    })
  };
  var shown = false;
  document.querySelectorAll("time[data-local]").forEach(function (el) {
    var when = new Date(el.getAttribute("datetime"));
    var format = formats[el.getAttribute("data-local")];
    if (!format || isNaN(when.getTime())) return;
    el.textContent = format.format(when);
    shown = true;
  });
  var note = document.querySelector("[data-zone]");
  if (note && shown) note.textContent = "Times in " + zone + ", this device's time zone.";
})();
