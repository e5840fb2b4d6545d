// Small behaviours of the app shell: menus, theme switch, sidebar collapse and mobile drawer.
"use strict";

function closeMenus(except) {
  document.querySelectorAll("[data-menu-button]").forEach(function (button) {
    var menu = document.getElementById(button.getAttribute("aria-controls"));
    if (menu && menu !== except) {
      menu.hidden = true;
      button.setAttribute("aria-expanded", "false");
    }
  });
}

document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-menu-button]");
  if (button) {
    var menu = document.getElementById(button.getAttribute("aria-controls"));
    var open = menu.hidden;
    closeMenus(menu);
    menu.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    if (open) {
      var first = menu.querySelector(".menu-item");
      if (first) first.focus();
    }
    return;
  }
  if (!event.target.closest(".dropdown-menu")) closeMenus(null);

  var theme = event.target.closest("[data-set-theme]");
  if (theme) {
    var value = theme.getAttribute("data-set-theme");
    document.documentElement.setAttribute("data-theme", value);
    try { localStorage.setItem("rapport.theme", value); } catch (e) {}
  }

  var shell = document.querySelector(".shell");
  if (event.target.closest("[data-collapse-sidebar]") && shell) {
    var collapsed = shell.getAttribute("data-sidebar") === "collapsed";
    shell.setAttribute("data-sidebar", collapsed ? "expanded" : "collapsed");
    try { localStorage.setItem("rapport.sidebar", collapsed ? "expanded" : "collapsed"); } catch (e) {}
  }
  if (event.target.closest("[data-open-drawer]") && shell) shell.setAttribute("data-drawer", "open");
  if ((event.target.closest("[data-close-drawer]") || event.target.classList.contains("scrim")) && shell) {
    shell.setAttribute("data-drawer", "closed");
  }
});

document.addEventListener("keydown", function (event) {
  if (event.key === "Escape") {
    closeMenus(null);
    var shell = document.querySelector(".shell");
    if (shell) shell.setAttribute("data-drawer", "closed");
  }
});

// Restore the remembered sidebar state on the shell itself.
(function () {
  var shell = document.querySelector(".shell");
  if (shell && document.documentElement.getAttribute("data-sidebar") === "collapsed") {
    shell.setAttribute("data-sidebar", "collapsed");
  }
})();

// Logo preview before upload, and the colour picker mirrored into its text field.
document.addEventListener("change", function (event) {
  var input = event.target;
  if (input.matches("input[type=file][data-preview]") && input.files && input.files[0]) {
    var preview = document.getElementById(input.getAttribute("data-preview"));
    var reader = new FileReader();
    reader.onload = function () {
      var img = document.createElement("img");
      img.src = reader.result;
      img.alt = "New logo preview";
      preview.replaceChildren(img);
    };
    reader.readAsDataURL(input.files[0]);
  }
});
document.addEventListener("input", function (event) {
  var input = event.target;
  if (input.matches("[data-mirror]")) {
    var target = document.getElementById(input.getAttribute("data-mirror"));
    if (target) target.value = input.value;
  }
});

// Forms that destroy something ask first.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.matches("form[data-confirm]") && !window.confirm(form.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});
