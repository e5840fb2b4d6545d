// Runs before the page paints (loaded without defer), so the chosen theme shows from the first
// frame. The choice is kept in this browser; until one is made, the OS preference applies.
(function () {
  var stored = null;
  try { stored = localStorage.getItem("rapport.theme"); } catch (e) {}
  var dark = stored ? stored === "dark" : window.matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.setAttribute("data-theme", dark ? "dark" : "light");
  // Parts drawn differently when script runs (properties edited in place) know it before paint.
  document.documentElement.classList.add("js");
  try {
    if (localStorage.getItem("rapport.density") === "compact") {
      document.documentElement.setAttribute("data-density", "compact");
    }
    if (localStorage.getItem("rapport.sidebar") === "collapsed") {
      document.documentElement.setAttribute("data-sidebar", "collapsed");
    }
  } catch (e) {}
})();
