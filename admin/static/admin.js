// Small progressive enhancement for the panel; every page works without it.
// Buttons with data-confirm ask before submitting their form.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});
