// Small progressive enhancement for the panel; every page works without it.
// Buttons with data-confirm ask before submitting their form.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});

// The queue refreshes itself when new questions arrive (every 15 s, only while the tab is
// visible, never while staff are selecting rows): the rows are replaced in place, no reload.
(function () {
  var marker = document.querySelector("[data-live]");
  if (!marker || !window.fetch) {
    return;
  }
  var newest = parseInt(marker.getAttribute("data-newest"), 10) || 0;
  var interval = parseInt(marker.getAttribute("data-interval"), 10) || 15000;
  function busy() {
    return document.querySelector("input[form=bulk]:checked") !== null;
  }
  function replaceQueue() {
    return fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) {
          return;
        }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var next = fresh.querySelector("#queue-body");
        var current = document.querySelector("#queue-body");
        if (next && current) {
          current.replaceWith(next);
        }
      });
  }
  function poll() {
    if (document.hidden || busy()) {
      return;
    }
    fetch(marker.getAttribute("data-live"), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data || data.newest <= newest) {
          return;
        }
        var added = data.newest - newest;
        newest = data.newest;
        return replaceQueue().then(function () {
          marker.textContent = added === 1 ? "1 new question arrived; the queue is up to date." :
            added + " new questions arrived; the queue is up to date.";
          marker.hidden = false;
        });
      })
      .catch(function () { /* offline for a moment: try again next time */ });
  }
  window.setInterval(poll, interval);
})();
