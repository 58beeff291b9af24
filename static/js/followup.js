// The follow-up page: the "other ways" links carry the edited note, Share and Copy where
// the browser can, and "Sent it?" once one of them was used. Works without it: the links
// carry the drafted note and "Sent it another way?" is always there.
(function () {
  "use strict";
  document.querySelectorAll("[data-follow-up]").forEach(function (card) {
    var draft = card.querySelector("[data-draft]");
    var sentIt = card.querySelector("[data-sent-it]");
    if (!draft || !sentIt) return;
    var text = function () { return draft.value; };
    var links = card.querySelectorAll("a[data-channel]");
    draft.addEventListener("input", function () {
      links.forEach(function (a) {
        a.href = a.href.replace(/([?&]body=)[^&]*/, "$1" + encodeURIComponent(text()));
      });
    });
    var ask = function (channel) {
      sentIt.querySelector("[name=channel]").value = channel;
      sentIt.querySelector("[data-sent-question]").textContent = "Sent it?";
      sentIt.classList.add("asking");
    };
    links.forEach(function (a) {
      a.addEventListener("click", function () { ask(a.dataset.channel); });
    });
    var share = card.querySelector("button[data-channel=share]");
    if (share && navigator.share) {
      share.hidden = false;
      share.addEventListener("click", function () {
        navigator.share({ text: text() }).then(function () { ask("share"); }, function () {});
      });
    }
    var copy = card.querySelector("button[data-channel=copy]");
    if (copy && navigator.clipboard && window.isSecureContext) {
      copy.hidden = false;
      copy.addEventListener("click", function () {
        navigator.clipboard.writeText(text()).then(function () {
          copy.textContent = "Copied";
          ask("copy");
        });
      });
    }
  });
  // One tap sends once: the button rests while the form is on its way.
  document.querySelectorAll("[data-note-form]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("[data-send]");
      setTimeout(function () { button.disabled = true; button.textContent = "Sending…"; }, 0);
    });
  });
})();
