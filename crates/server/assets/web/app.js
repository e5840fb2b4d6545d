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
    if (value === "toggle") value = document.documentElement.getAttribute("data-theme") === "dark" ? "light" : "dark";
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
  // A button may ask for itself (one form, several actions).
  var button = event.submitter;
  var question = button && button.getAttribute("data-confirm") || form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// The command palette: Ctrl/⌘-K opens it; typing finds records (server search, after two
// letters) and filters pages; arrows choose, Enter goes. Records opened lately come first: open,
// the palette lists them; typing, those that match lead, then titles starting with the text.
(function () {
  // Each member's own, on a browser people may share.
  var who = document.querySelector("[data-user]");
  var KEY = "rapport.recent." + (who ? who.getAttribute("data-user") : "");
  function recent() {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]").filter(function (r) { return r && r.href && r.title; }); }
    catch (e) { return []; }
  }
  // A record's page notes its visit.
  var head = document.querySelector(".record-head[data-recent]");
  var title = head && head.querySelector("h1");
  if (title) {
    var visit = { href: window.location.pathname, title: title.textContent.trim(), kind: head.getAttribute("data-recent") };
    var list = [visit].concat(recent().filter(function (r) { return r.href !== visit.href; })).slice(0, 20);
    try { localStorage.setItem(KEY, JSON.stringify(list)); } catch (e) {}
  }
  window.rapportRecent = recent;
})();
(function () {
  var palette = document.getElementById("palette");
  if (!palette) return;
  var input = palette.querySelector(".palette-input");
  var records = document.getElementById("palette-records");
  var pages = Array.prototype.slice.call(palette.querySelectorAll("#palette-list li"));
  var empty = palette.querySelector(".palette-empty");
  var searchUrl = palette.getAttribute("data-search");
  var active = 0;
  var timer = null;
  var asked = 0;
  function items() {
    return Array.prototype.slice.call(records.querySelectorAll("li")).concat(pages);
  }
  function visible() { return items().filter(function (li) { return !li.hidden; }); }
  function highlight() {
    var shown = visible();
    items().forEach(function (li) { li.classList.remove("active"); li.removeAttribute("aria-selected"); });
    if (shown.length) {
      active = Math.max(0, Math.min(active, shown.length - 1));
      shown[active].classList.add("active");
      shown[active].setAttribute("aria-selected", "true");
      shown[active].scrollIntoView({ block: "nearest" });
    }
    empty.hidden = shown.length > 0;
  }
  function showRecords(hits) {
    records.replaceChildren();
    hits.forEach(function (hit) {
      var li = document.createElement("li");
      li.setAttribute("role", "option");
      var a = document.createElement("a");
      a.href = hit.href;
      var kind = document.createElement("span");
      kind.className = "palette-kind";
      kind.textContent = hit.kind;
      var title = document.createElement("span");
      title.className = "palette-title";
      title.textContent = hit.title;
      a.appendChild(kind);
      a.appendChild(title);
      if (hit.detail) {
        var detail = document.createElement("span");
        detail.className = "palette-detail";
        detail.textContent = hit.detail;
        a.appendChild(detail);
      }
      li.appendChild(a);
      records.appendChild(li);
    });
    records.hidden = hits.length === 0;
    highlight();
  }
  // This organization's records opened lately (their addresses start with its own).
  var base = searchUrl ? searchUrl.replace(/\/search$/, "/") : "/";
  function mine() {
    return window.rapportRecent().filter(function (r) { return r.href.indexOf(base) === 0 && r.href !== window.location.pathname; });
  }
  // Recent matches first (most recent first), then titles starting with the text, then the rest
  // in the server's order.
  function ranked(q, hits) {
    var lower = q.toLowerCase();
    var recents = mine();
    var seen = {};
    var out = [];
    recents.forEach(function (r) {
      if (r.title.toLowerCase().indexOf(lower) >= 0) { seen[r.href] = true; out.push(r); }
    });
    var starts = [], rest = [];
    hits.forEach(function (h) {
      if (seen[h.href]) return;
      seen[h.href] = true;
      (h.title.toLowerCase().indexOf(lower) === 0 ? starts : rest).push(h);
    });
    return out.concat(starts, rest);
  }
  function find(q) {
    var ticket = ++asked;
    if (!searchUrl || q.length < 2) { showRecords(q.length ? ranked(q, []) : mine().slice(0, 5)); return; }
    fetch(searchUrl + "?q=" + encodeURIComponent(q), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (hits) { if (ticket === asked) showRecords(ranked(q, hits)); })
      .catch(function () { if (ticket === asked) showRecords(ranked(q, [])); });
  }
  function open() {
    input.value = "";
    pages.forEach(function (li) { li.hidden = false; });
    showRecords(mine().slice(0, 5));
    active = 0;
    highlight();
    palette.showModal();
    input.focus();
  }
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k") {
      event.preventDefault();
      if (palette.open) palette.close(); else open();
    }
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-open-palette]")) open();
    if (event.target === palette) palette.close();
  });
  input.addEventListener("input", function () {
    var q = input.value.trim();
    var lower = q.toLowerCase();
    pages.forEach(function (li) { li.hidden = lower !== "" && li.textContent.toLowerCase().indexOf(lower) === -1; });
    // At once, the records already known that match (the server's answer follows).
    showRecords(q ? ranked(q, []) : mine().slice(0, 5));
    active = 0;
    highlight();
    clearTimeout(timer);
    timer = setTimeout(function () { find(q); }, 150);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown") { active += 1; highlight(); event.preventDefault(); }
    if (event.key === "ArrowUp") { active -= 1; highlight(); event.preventDefault(); }
    if (event.key === "Enter") {
      var chosen = visible()[active];
      var target = chosen && chosen.querySelector("a, button");
      if (target && target.tagName === "A") window.location.href = target.href;
      else if (target) { palette.close(); target.click(); }
      event.preventDefault();
    }
  });
})();

// Dialogs and toasts, for any page: data-open-dialog="id", data-close-dialog, data-toast="text".
document.addEventListener("click", function (event) {
  var opener = event.target.closest("[data-open-dialog]");
  if (opener) document.getElementById(opener.getAttribute("data-open-dialog")).showModal();
  var closer = event.target.closest("[data-close-dialog]");
  if (closer) closer.closest("dialog").close();
  var toaster = event.target.closest("[data-toast]");
  if (toaster) rapportToast(toaster.getAttribute("data-toast"));
});

// A short message in the corner; with `action` ({label, run}) it offers one button (Undo).
function rapportToast(text, action) {
  var box = document.getElementById("toasts");
  if (!box) return;
  var toast = document.createElement("div");
  toast.className = "toast";
  toast.setAttribute("role", "status");
  toast.textContent = text;
  if (action) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "toast-action";
    button.textContent = action.label;
    button.addEventListener("click", function () { toast.remove(); action.run(); });
    toast.appendChild(button);
  }
  box.appendChild(toast);
  setTimeout(function () { toast.remove(); }, action ? 8000 : 4000);
}

// Relation menus that show only their first records: typing above one asks the server for the
// records whose title holds the text and offers them, keeping what is chosen (an empty menu takes
// the first record found).
(function () {
  var timers = new WeakMap();
  function refill(finder, hits) {
    var select = document.getElementById(finder.dataset.for);
    if (!select) return;
    var keep = Array.prototype.filter.call(select.options, function (o) { return o.selected || o.value === ""; });
    var kept = {};
    keep.forEach(function (o) { kept[o.value] = true; });
    select.replaceChildren.apply(select, keep);
    hits.forEach(function (hit) {
      if (kept[hit.id]) return;
      var option = document.createElement("option");
      option.value = hit.id;
      option.textContent = hit.title;
      select.appendChild(option);
    });
    // Nothing chosen yet: the first record found is, as a person typing its name expects.
    if (!select.multiple && select.value === "" && hits.length) select.value = hits[0].id;
  }
  document.addEventListener("input", function (event) {
    var finder = event.target.closest && event.target.closest("[data-choices]");
    if (!finder) return;
    clearTimeout(timers.get(finder));
    timers.set(finder, setTimeout(function () {
      var url = finder.dataset.choices + "?q=" + encodeURIComponent(finder.value.trim());
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (hits) { refill(finder, hits); })
        .catch(function () {});
    }, 150));
  });
})();

// Relation comboboxes: a menu marked `data-combo` (its server's finder) becomes a text box that
// asks the server for the records whose title holds what is typed, 150 ms after the last key.
// Arrows move through them, Enter or a click chooses, Esc closes; "Create …" adds a record named
// by the text when `data-combo-create` says where. The menu stays the form's field, holding the
// choice, so forms, in-place edits and pages without script read it as before.
(function () {
  var seq = 0;
  var timers = new WeakMap();
  function chosenLabel(select) {
    var o = select.selectedOptions[0];
    return o && o.value ? o.textContent : "";
  }
  function enhance(select) {
    if (select.dataset.comboReady) return;
    select.dataset.comboReady = "1";
    var id = select.id || ("combo-" + (++seq));
    var input = document.createElement("input");
    input.type = "text";
    input.className = "input combo-input";
    input.autocomplete = "off";
    input.placeholder = "Type to search…";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", id + "-options");
    ["aria-invalid", "aria-describedby", "aria-required"].forEach(function (a) {
      if (select.hasAttribute(a)) input.setAttribute(a, select.getAttribute(a));
    });
    // The label names the text box now; the menu keeps the value, out of sight and of the tab order.
    select.removeAttribute("id");
    input.id = id;
    select.dataset.comboFor = id;
    select.hidden = true;
    select.tabIndex = -1;
    input.value = chosenLabel(select);
    var list = document.createElement("ul");
    list.className = "combo-options";
    list.id = id + "-options";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    var wrap = document.createElement("div");
    wrap.className = "combo";
    select.parentNode.insertBefore(wrap, select);
    wrap.appendChild(input);
    wrap.appendChild(list);
    wrap.appendChild(select);
  }
  function parts(node) {
    var wrap = node.closest(".combo");
    if (!wrap) return null;
    return { wrap: wrap, input: wrap.querySelector(".combo-input"), list: wrap.querySelector(".combo-options"), select: wrap.querySelector("select[data-combo]") };
  }
  function closeList(c) {
    c.list.hidden = true;
    c.input.setAttribute("aria-expanded", "false");
    c.input.removeAttribute("aria-activedescendant");
  }
  function active(c) { return c.list.querySelector("[aria-selected=true]"); }
  function mark(c, item) {
    c.list.querySelectorAll("[role=option]").forEach(function (o) { o.setAttribute("aria-selected", o === item ? "true" : "false"); });
    if (item) { c.input.setAttribute("aria-activedescendant", item.id); item.scrollIntoView({ block: "nearest" }); }
  }
  function option(c, n, value, text, extra) {
    var li = document.createElement("li");
    li.id = c.input.id + "-option-" + n;
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", "false");
    li.dataset.value = value;
    li.textContent = text;
    if (extra) li.className = extra;
    return li;
  }
  function fill(c, hits, text) {
    var items = [];
    var n = 0;
    if (!text && !c.select.hasAttribute("aria-required")) items.push(option(c, n++, "", "— None", "combo-none"));
    hits.forEach(function (h) { items.push(option(c, n++, h.id, h.title)); });
    if (text && c.select.dataset.comboCreate && !hits.some(function (h) { return h.title.toLowerCase() === text.toLowerCase(); })) {
      var create = option(c, n++, "", "Create “" + text + "”", "combo-create");
      create.dataset.create = text;
      items.push(create);
    }
    if (!items.length) {
      var none = document.createElement("li");
      none.className = "combo-empty";
      none.setAttribute("role", "presentation");
      none.textContent = "Nothing found for “" + text + "”";
      items.push(none);
    }
    c.list.replaceChildren.apply(c.list, items);
    c.list.hidden = false;
    c.input.setAttribute("aria-expanded", "true");
    // With nothing typed nothing is chosen for the member: Enter then goes on as it would.
    if (text) mark(c, c.list.querySelector("[role=option]:not(.combo-none)") || c.list.querySelector("[role=option]"));
    else mark(c, null);
    delete c.wrap.dataset.pending;
  }
  function search(c) {
    var text = c.input.value.trim();
    if (text === chosenLabel(c.select)) text = "";
    var asked = ++seq;
    c.wrap.dataset.asked = asked;
    c.wrap.setAttribute("aria-busy", "true");
    fetch(c.select.dataset.combo + "?q=" + encodeURIComponent(text), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (hits) { if (String(asked) === c.wrap.dataset.asked && document.activeElement === c.input) fill(c, hits, text); })
      .catch(function () {})
      .then(function () { c.wrap.removeAttribute("aria-busy"); });
  }
  function choose(c, value, title) {
    // A search still waiting or on its way is of no use once a record is chosen.
    clearTimeout(timers.get(c.wrap));
    c.wrap.dataset.asked = "chosen";
    var keep = Array.prototype.filter.call(c.select.options, function (o) { return o.value === ""; });
    c.select.replaceChildren.apply(c.select, keep);
    if (value) {
      var o = document.createElement("option");
      o.value = value;
      o.textContent = title;
      c.select.appendChild(o);
    }
    c.select.value = value;
    c.input.value = value ? title : "";
    closeList(c);
    c.select.dispatchEvent(new Event("change", { bubbles: true }));
  }
  function pick(c, item) {
    if (!item) return;
    if (item.dataset.create === undefined) { choose(c, item.dataset.value, item.dataset.value ? item.textContent : ""); return; }
    if (item.dataset.creating) return;
    item.dataset.creating = "1";
    var form = c.select.form || document;
    var csrf = form.querySelector("input[name=_csrf]");
    var body = new URLSearchParams();
    body.append("_csrf", csrf ? csrf.value : "");
    body.append("title", item.dataset.create);
    item.textContent = "Creating “" + item.dataset.create + "”…";
    fetch(c.select.dataset.comboCreate, { method: "POST", body: body, credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
      .then(function (answer) {
        if (answer.ok) { choose(c, answer.body.id, answer.body.title); rapportToast("Created " + answer.body.title + "."); return; }
        var errors = answer.body.errors || [];
        delete item.dataset.creating;
        item.textContent = "Not created: " + (errors.length ? errors.map(function (e) { return e.field + " " + e.message; }).join("; ") : (answer.body.detail || "try the full form"));
      })
      .catch(function () { delete item.dataset.creating; item.textContent = "Not created: the server could not be reached."; });
  }
  document.addEventListener("input", function (event) {
    if (!event.target.classList || !event.target.classList.contains("combo-input")) return;
    var c = parts(event.target);
    clearTimeout(timers.get(c.wrap));
    // Until the new answer comes, the list shown is for other letters: Enter waits for it.
    c.wrap.dataset.pending = "1";
    mark(c, null);
    // Emptied: no record (when one may be none), at once, so a form sent now says so.
    if (c.input.value.trim() === "" && c.select.value !== "" && !c.select.hasAttribute("aria-required")) {
      var keep = Array.prototype.filter.call(c.select.options, function (o) { return o.value === ""; });
      if (keep.length) c.select.value = "";
    }
    timers.set(c.wrap, setTimeout(function () { search(c); }, 150));
  });
  document.addEventListener("keydown", function (event) {
    if (!event.target.classList || !event.target.classList.contains("combo-input")) return;
    var c = parts(event.target);
    var open = !c.list.hidden;
    var items = Array.prototype.slice.call(c.list.querySelectorAll("[role=option]"));
    var at = items.indexOf(active(c));
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!open) { search(c); return; }
      var next = event.key === "ArrowDown" ? Math.min(at + 1, items.length - 1) : Math.max(at - 1, 0);
      mark(c, items[next]);
    } else if (event.key === "Enter" && !event.isComposing && (c.wrap.dataset.pending || (open && active(c)))) {
      event.preventDefault();
      event.stopImmediatePropagation();
      if (!c.wrap.dataset.pending) pick(c, active(c));
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      event.stopImmediatePropagation();
      c.input.value = chosenLabel(c.select);
      closeList(c);
    }
  }, true);
  document.addEventListener("mousedown", function (event) {
    var item = event.target.closest && event.target.closest(".combo .combo-options [role=option]");
    if (!item) return;
    event.preventDefault();
    pick(parts(item), item);
  });
  document.addEventListener("focusin", function (event) {
    if (event.target.classList && event.target.classList.contains("combo-input") && event.target.value === "") search(parts(event.target));
  });
  document.addEventListener("focusout", function (event) {
    if (!event.target.classList || !event.target.classList.contains("combo-input")) return;
    var c = parts(event.target);
    setTimeout(function () {
      if (c.wrap.contains(document.activeElement)) return;
      closeList(c);
      // Emptied: no record (when one may be none); otherwise what is chosen shows again.
      if (c.input.value.trim() === "" && c.select.value !== "" && !c.select.hasAttribute("aria-required")) choose(c, "", "");
      else c.input.value = chosenLabel(c.select);
    }, 150);
  });
  function enhanceAll(root) { root.querySelectorAll("select[data-combo]").forEach(enhance); }
  window.rapportEnhanceCombos = enhanceAll;
  enhanceAll(document);
  // Parts of the page drawn again (live updates, in-place edits) bring new menus.
  new MutationObserver(function (changes) {
    changes.forEach(function (m) { m.addedNodes.forEach(function (n) { if (n.querySelectorAll) enhanceAll(n.matches && n.matches("select[data-combo]") ? n.parentNode : n); }); });
  }).observe(document.body, { childList: true, subtree: true });
})();

// Lists: rows chosen with their checkboxes (x on the current row; the header's box chooses the
// whole page) bring up the selection bar, whose actions post the chosen ids; "Export selection"
// saves those rows as shown, as CSV. j and k move through the rows, Enter opens the current one.
// Typing in the search box narrows the list as you type (the address keeps the search).
(function () {
  function table() { return document.querySelector("table[data-list-keys]"); }
  function boxes() { return Array.prototype.slice.call(document.querySelectorAll("input[data-select]")); }
  function sync() {
    var bar = document.getElementById("bulk-form");
    if (!bar) return;
    var chosen = boxes().filter(function (b) { return b.checked; });
    bar.hidden = chosen.length === 0;
    bar.querySelector("[data-selected-count]").textContent = chosen.length + " selected";
    boxes().forEach(function (b) { b.closest("tr").classList.toggle("row-selected", b.checked); });
    var all = document.querySelector("input[data-select-all]");
    if (all) {
      all.checked = chosen.length > 0 && chosen.length === boxes().length;
      all.indeterminate = chosen.length > 0 && chosen.length < boxes().length;
    }
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("input[data-select-all]")) {
      boxes().forEach(function (b) { b.checked = event.target.checked; });
      sync();
    } else if (event.target.matches("input[data-select]")) sync();
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-clear-selection]")) {
      boxes().forEach(function (b) { b.checked = false; });
      sync();
    }
    var exporter = event.target.closest("[data-export-selection]");
    if (exporter) {
      var t = table();
      var quote = function (text) {
        text = text.replace(/\s+/g, " ").trim();
        // A cell read as a formula by a spreadsheet is kept as text.
        if (/^[=+\-@]/.test(text)) text = "'" + text;
        return /[",\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
      };
      var cells = function (row) {
        return Array.prototype.slice.call(row.children).filter(function (c) { return !c.classList.contains("select-col"); })
          .map(function (c) { return quote(c.textContent); }).join(",");
      };
      var lines = [cells(t.tHead.rows[0])];
      boxes().filter(function (b) { return b.checked; }).forEach(function (b) { lines.push(cells(b.closest("tr"))); });
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv" }));
      link.download = exporter.dataset.exportSelection.replace(/\W+/g, "-") + "-selection.csv";
      document.body.appendChild(link);
      link.click();
      link.remove();
    }
  });
  document.addEventListener("submit", function (event) {
    var bar = event.target;
    if (bar.id !== "bulk-form") return;
    var button = event.submitter;
    if (button && button.value === "owner" && !bar.querySelector("[name=owner_id]").value) { event.preventDefault(); rapportToast("Choose whom to hand them to."); return; }
    if (button && button.value === "tag" && !bar.querySelector("[name=tag_id]").value) { event.preventDefault(); rapportToast("Choose the tag to add."); return; }
    if (button && button.value === "set" && !bar.querySelector("[name=set]").value) { event.preventDefault(); rapportToast("Choose the field and the value to set."); return; }
    if (button && button.dataset.confirmBulk && !window.confirm(button.dataset.confirmBulk)) event.preventDefault();
  });

  // Row density, kept in this browser.
  var density = document.querySelector("[data-density-toggle]");
  if (density) density.setAttribute("aria-pressed", document.documentElement.getAttribute("data-density") === "compact" ? "true" : "false");
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-density-toggle]");
    if (!toggle) return;
    var compact = document.documentElement.getAttribute("data-density") !== "compact";
    if (compact) document.documentElement.setAttribute("data-density", "compact");
    else document.documentElement.removeAttribute("data-density");
    toggle.setAttribute("aria-pressed", compact ? "true" : "false");
    try { localStorage.setItem("rapport.density", compact ? "compact" : "comfortable"); } catch (e) {}
  });

  // Keys: j/k move, x chooses, Enter opens.
  function rows() { var t = table(); return t ? Array.prototype.slice.call(t.tBodies[0].rows) : []; }
  function current() { return document.querySelector("tr.row-current"); }
  function move(to) {
    var list = rows();
    if (!list.length) return;
    var at = list.indexOf(current());
    var next = list[Math.max(0, Math.min(list.length - 1, at + to))] || list[0];
    list.forEach(function (r) { r.classList.remove("row-current"); });
    next.classList.add("row-current");
    next.scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (event) {
    if (!table() || event.ctrlKey || event.metaKey || event.altKey) return;
    var t = event.target;
    if (t.matches && t.matches("input, textarea, select, [contenteditable]")) return;
    if (t.closest && t.closest(".cell-editor")) return;
    if (document.querySelector("dialog[open]")) return;
    var row = current();
    if (event.key === "j") { move(1); event.preventDefault(); }
    else if (event.key === "k") { move(-1); event.preventDefault(); }
    else if (event.key === "e" && row) {
      // The current row's first cell that can be changed in place.
      var cell = row.querySelector("td[data-edit]");
      if (cell) { event.preventDefault(); window.rapportEditCell(cell); }
    } else if (event.key === "x" && row) {
      var box = row.querySelector("input[data-select]");
      if (box) { box.checked = !box.checked; sync(); }
      event.preventDefault();
    } else if (event.key === "Enter" && row && !(t.closest && t.closest("a, button, summary, td[data-edit]"))) {
      var link = row.querySelector("a[href]");
      if (link) { event.preventDefault(); link.click(); }
    }
  });

  // Search as you type: the list (and its count) are fetched for the new address and swapped in.
  var timer = null;
  var asked = 0;
  document.addEventListener("input", function (event) {
    var box = event.target;
    if (box.id !== "search" || !box.form || !box.form.matches("form.filters") || !table() && !document.getElementById("live-list")) return;
    clearTimeout(timer);
    timer = setTimeout(function () {
      var form = box.form;
      var cols = form.querySelector("[data-columns-value]");
      if (cols) cols.value = Array.prototype.filter.call(form.querySelectorAll("input[data-columns]"), function (c) { return c.checked; }).map(function (c) { return c.value; }).join(",");
      var params = new URLSearchParams(new FormData(form));
      Array.from(params.keys()).forEach(function (k) { if (params.get(k) === "" || k === "col") params.delete(k); });
      var url = form.action.split("?")[0] + (params.toString() ? "?" + params.toString() : "");
      var mine = ++asked;
      fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          if (mine !== asked) return;
          var doc = new DOMParser().parseFromString(html, "text/html");
          ["live-list", "list-total", "bulk-form", "list-export", "view-query"].forEach(function (id) {
            var now = document.getElementById(id);
            var fresh = doc.getElementById(id);
            if (now && fresh) now.replaceWith(fresh);
          });
          history.replaceState(null, "", url);
          sync();
        })
        .catch(function () {});
    }, 250);
  });
})();

// Lists: a cell marked `data-edit` changes in place, with the record page's own editor for that
// property (fetched from the record's page, saved as the page saves it: Enter saves, Esc
// cancels, a refusal says why under the field). Click a cell, or press e on the current row;
// arrows move between a row's cells, Enter opens the focused one. The list is then drawn again.
(function () {
  function cellOf(node) { return node && node.closest ? node.closest("td[data-edit]") : null; }
  function refresh(rowId, prop) {
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live-list");
        var now = document.getElementById("live-list");
        if (!fresh || !now || now.querySelector(".cell-editing")) return;
        // The rows chosen stay chosen, and the selection bar says so.
        var chosen = Array.prototype.map.call(now.querySelectorAll("input[data-select]:checked"), function (b) { return b.value; });
        var away = document.activeElement && document.activeElement !== document.body && !now.contains(document.activeElement);
        now.replaceWith(fresh);
        var boxes = fresh.querySelectorAll("input[data-select]");
        boxes.forEach(function (b) { b.checked = chosen.indexOf(b.value) >= 0; });
        if (boxes.length) boxes[0].dispatchEvent(new Event("change", { bubbles: true }));
        // The live update this save causes is already drawn here.
        fresh._drawnUntil = Date.now() + 3000;
        var row = fresh.querySelector("tr[data-id='" + CSS.escape(rowId) + "']");
        var cell = row && row.querySelector("td[data-edit='" + CSS.escape(prop) + "']");
        if (row) row.classList.add("row-current");
        // Focus comes back to the cell unless the member has gone on elsewhere.
        if (cell && !away) cell.focus();
      })
      .catch(function () {});
  }
  function restore(td) {
    if (!td._original) return;
    var active = document.activeElement;
    var here = !active || active === document.body || td.contains(active);
    td.replaceChildren.apply(td, td._original);
    td._original = null;
    td.classList.remove("cell-editing");
    if (here) td.focus();
  }
  function begin(td) {
    var row = td.closest("tr[data-href]");
    if (!row || td._original || td.hasAttribute("aria-busy")) return;
    td.setAttribute("aria-busy", "true");
    fetch(row.dataset.href, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        td.removeAttribute("aria-busy");
        var doc = new DOMParser().parseFromString(html, "text/html");
        var form = doc.querySelector("form[data-inline-edit]");
        var prop = form && form.querySelector(".prop[data-prop='" + CSS.escape(td.dataset.edit) + "']");
        if (!prop) { rapportToast("This can't be changed from the list: open the record."); return; }
        var mini = document.createElement("form");
        mini.method = "post";
        mini.action = form.getAttribute("action");
        mini.className = "cell-editor";
        mini.noValidate = true;
        mini.setAttribute("data-inline-edit", "");
        mini.appendChild(document.adoptNode(form.querySelector("input[name=_csrf]")));
        mini.appendChild(document.adoptNode(prop));
        td._original = Array.prototype.slice.call(td.childNodes);
        td.replaceChildren(mini);
        td.classList.add("cell-editing");
        // A relation's combobox is drawn before the editor opens, so it takes the focus.
        if (window.rapportEnhanceCombos) window.rapportEnhanceCombos(mini);
        mini.querySelector(".prop-value").click();
      })
      .catch(function () {
        td.removeAttribute("aria-busy");
        rapportToast("The editor could not be loaded; check your connection.");
      });
  }
  window.rapportEditCell = begin;
  document.addEventListener("click", function (event) {
    var td = cellOf(event.target);
    if (!td || td._original || event.target.closest("a, button, input, select, textarea, label")) return;
    begin(td);
  });
  document.addEventListener("keydown", function (event) {
    var td = event.target.matches && event.target.matches("td[data-edit]") ? event.target : null;
    if (!td) return;
    if (event.key === "Enter" || event.key === "F2") { event.preventDefault(); begin(td); return; }
    if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      var cells = Array.prototype.slice.call(td.parentNode.querySelectorAll("td[data-edit]"));
      var next = cells[cells.indexOf(td) + (event.key === "ArrowRight" ? 1 : -1)];
      if (next) { event.preventDefault(); next.focus(); }
    }
  });
  document.addEventListener("rapport:prop-closed", function (event) {
    var td = cellOf(event.target);
    if (!td) return;
    var prop = event.target;
    // Closed by a save: the answer decides; closed without one: the cell shows what it did.
    setTimeout(function () {
      if (!prop.isConnected || prop.hasAttribute("aria-busy") || prop.classList.contains("editing")) return;
      restore(td);
    }, 0);
  });
  document.addEventListener("rapport:prop-saved", function (event) {
    var td = cellOf(event.target);
    if (!td) return;
    var row = td.closest("tr");
    var prop = td.dataset.edit;
    var region = td.closest("[data-live-region]");
    if (region) region._drawnUntil = Date.now() + 3000;
    td._original = null;
    td.classList.remove("cell-editing");
    refresh(row.dataset.id, prop);
  });
})();

// @mentions: typing @ and a few letters in a comment box offers the teammates whose name or
// email holds them; arrows choose, Enter or Tab puts "@Full Name " in the text, Esc closes.
(function () {
  var asked = 0;
  function box(t) { return t && t.matches && t.matches("textarea[data-mentions]") ? t : null; }
  function list(t) { return t.parentNode.querySelector(".mention-options"); }
  function typed(t) {
    var before = t.value.slice(0, t.selectionStart);
    var m = before.match(/(^|\s)@([^\s@]{0,30})$/u);
    return m ? { query: m[2], from: before.length - m[2].length - 1 } : null;
  }
  function close(t) { asked++; var l = list(t); l.hidden = true; l.replaceChildren(); t.removeAttribute("aria-activedescendant"); }
  function mark(t, item) {
    list(t).querySelectorAll("[role=option]").forEach(function (o) { o.setAttribute("aria-selected", o === item ? "true" : "false"); });
    if (item) t.setAttribute("aria-activedescendant", item.id);
  }
  function insert(t, item) {
    var at = typed(t);
    if (!at || !item) return;
    var name = "@" + item.dataset.name + " ";
    t.value = t.value.slice(0, at.from) + name + t.value.slice(t.selectionStart);
    var caret = at.from + name.length;
    t.setSelectionRange(caret, caret);
    close(t);
    t.focus();
  }
  document.addEventListener("input", function (event) {
    var t = box(event.target);
    if (!t) return;
    var at = typed(t);
    if (!at) { close(t); return; }
    var mine = ++asked;
    fetch(t.dataset.mentions + "?q=" + encodeURIComponent(at.query), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (people) {
        if (mine !== asked || document.activeElement !== t || !typed(t)) return;
        var l = list(t);
        if (!people.length) { close(t); return; }
        l.replaceChildren.apply(l, people.map(function (p, i) {
          var li = document.createElement("li");
          li.id = "mention-" + i;
          li.setAttribute("role", "option");
          li.dataset.name = p.name;
          li.textContent = p.name;
          var email = document.createElement("span");
          email.className = "muted small mention-email";
          email.textContent = p.email;
          li.appendChild(email);
          return li;
        }));
        l.hidden = false;
        mark(t, l.querySelector("[role=option]"));
      })
      .catch(function () {});
  });
  document.addEventListener("keydown", function (event) {
    var t = box(event.target);
    if (!t || list(t).hidden) return;
    var items = Array.prototype.slice.call(list(t).querySelectorAll("[role=option]"));
    var at = items.indexOf(list(t).querySelector("[aria-selected=true]"));
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      mark(t, items[event.key === "ArrowDown" ? Math.min(at + 1, items.length - 1) : Math.max(at - 1, 0)]);
    } else if ((event.key === "Enter" || event.key === "Tab") && !event.isComposing && items[at]) {
      event.preventDefault();
      insert(t, items[at]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      close(t);
    }
  });
  document.addEventListener("mousedown", function (event) {
    var item = event.target.closest && event.target.closest(".mention-options [role=option]");
    if (!item) return;
    event.preventDefault();
    insert(item.closest(".mention-wrap").querySelector("textarea"), item);
  });
  document.addEventListener("focusout", function (event) {
    var t = box(event.target);
    if (t) setTimeout(function () { if (document.activeElement !== t) close(t); }, 150);
  });
})();

// Filter forms that apply as soon as a choice changes.
document.addEventListener("change", function (event) {
  var form = event.target.closest("form[data-autosubmit]");
  // requestSubmit, not submit: the submit handlers run (the chosen columns travel along).
  if (form && event.target.matches("select")) form.requestSubmit();
});

// Boards (deals by stage, custom records by a select field): drag a card to another column to
// move it there. The server
// decides; a refused move puts the card back and says why. The "Move" form on each card does the
// same without a pointer.
(function () {
  var board = document.querySelector("[data-board]");
  if (!board) return;
  var drag = null;
  var suppressClick = false;

  function columnAt(x, y) {
    var el = document.elementFromPoint(x, y);
    return el ? el.closest(".column") : null;
  }
  function markTarget(column) {
    board.querySelectorAll(".column.drop-target").forEach(function (c) { if (c !== column) c.classList.remove("drop-target"); });
    if (column) column.classList.add("drop-target");
  }
  // A column's count covers its cards not loaded yet too: a move shifts one from one to the other.
  function shift(from, to) {
    [[from, -1], [to, 1]].forEach(function (pair) {
      var count = pair[0] && pair[0].querySelector(".column-count");
      if (count) count.textContent = Math.max(0, (parseInt(count.textContent, 10) || 0) + pair[1]);
    });
  }
  // Each column shows its first cards; the next ones load when its end scrolls into view (or
  // its "Show more" is clicked), and so on to the last.
  function loadMore(link) {
    if (link.getAttribute("aria-busy")) return;
    link.setAttribute("aria-busy", "true");
    fetch(link.getAttribute("data-more"), { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString("<body>" + html + "</body>", "text/html");
        var list = link.closest(".column").querySelector(".column-cards");
        doc.querySelectorAll(".deal-card").forEach(function (card) {
          if (!board.querySelector('[data-deal="' + card.getAttribute("data-deal") + '"]')) list.appendChild(document.adoptNode(card));
        });
        var next = doc.querySelector("[data-more]");
        if (next) { link.replaceWith(document.adoptNode(next)); watch(); } else link.remove();
      })
      .catch(function () {
        link.removeAttribute("aria-busy");
        rapportToast("More cards could not be loaded; check your connection.");
      });
  }
  var observer = window.IntersectionObserver ? new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting) { observer.unobserve(entry.target); loadMore(entry.target); }
    });
  }, { rootMargin: "200px" }) : null;
  function watch() {
    if (!observer) return;
    board.querySelectorAll("[data-more]:not([aria-busy])").forEach(function (link) { observer.observe(link); });
  }
  watch();
  new MutationObserver(watch).observe(board, { childList: true });
  function refresh() {
    fetch(window.location.href, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("board");
        var summaryId = board.getAttribute("data-summary") || "deals-summary";
        var summary = doc.getElementById(summaryId);
        if (fresh) board.innerHTML = fresh.innerHTML;
        if (summary && document.getElementById(summaryId)) document.getElementById(summaryId).textContent = summary.textContent;
      });
  }
  // This member's own moves are drawn here as they happen: the live update each one causes is
  // not fetched again, nor announced as someone else's.
  function drawn() {
    var region = board.closest("[data-live-region]") || board;
    region._drawnUntil = Date.now() + 3000;
  }
  // A move that needs more (a stage's required fields, a won deal's amount) is answered with a
  // small form: it opens in a dialog, sends the move again with the fields, and puts the card
  // back if it is cancelled.
  function askMore(card, html, done, undo) {
    var dialog = document.getElementById("move-dialog");
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.id = "move-dialog";
      dialog.className = "move-dialog";
      dialog.setAttribute("aria-labelledby", "move-heading");
      document.body.appendChild(dialog);
    }
    var settled = false;
    function finish(ok) {
      if (settled) return;
      settled = true;
      card.removeAttribute("aria-busy");
      if (dialog.open) dialog.close();
      dialog.innerHTML = "";
      if (ok) done(); else undo();
    }
    function show(markup) {
      dialog.innerHTML = markup;
      var form = dialog.querySelector("form[data-move-form]");
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var submit = form.querySelector("button[type=submit]");
        submit.disabled = true;
        drawn();
        fetch(form.action, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Requested-With": "fetch" },
          body: new URLSearchParams(new FormData(form)).toString()
        }).then(function (r) {
          return r.json().catch(function () { return { ok: false, message: "The move could not be saved." }; });
        }).then(function (answer) {
          // Cancelled while this was on its way: the board shows what the server kept.
          if (answer.ok) drawn();
          if (settled) { if (answer.ok) refresh(); return; }
          if (answer.ok) { finish(true); return; }
          if (answer.dialog) { show(answer.dialog); return; }
          finish(false);
          rapportToast(answer.message || "The move was refused.");
        }).catch(function () {
          if (settled) return;
          submit.disabled = false;
          rapportToast("The move could not be saved; check your connection.");
        });
      });
      dialog.querySelector("[data-dialog-cancel]").addEventListener("click", function (event) {
        event.preventDefault();
        finish(false);
      });
      if (!dialog.open) dialog.showModal();
      // After the comboboxes are drawn (they replace their menus as the dialog fills).
      setTimeout(function () {
        var first = dialog.querySelector(".field [aria-invalid=true]:not([hidden]), .field input:not([type=hidden]):not([hidden]), .field select:not([hidden]), .field textarea");
        if (first) first.focus();
      }, 0);
    }
    show(html);
    dialog.addEventListener("close", function () { finish(false); }, { once: true });
  }
  function move(card, column, from, next, status) {
    var body = new URLSearchParams();
    body.set("_csrf", board.getAttribute("data-csrf"));
    if (status) body.set("status", status);
    else body.set("stage", column.getAttribute("data-stage"));
    // A custom object's board names the select field it sets.
    if (board.getAttribute("data-move-field")) body.set("field", board.getAttribute("data-move-field"));
    card.setAttribute("aria-busy", "true");
    drawn();
    var moveBase = board.getAttribute("data-move-base") || (board.getAttribute("data-base") + "/deals");
    function undo() {
      if (status) return;
      from.insertBefore(card, next);
      shift(column, from.closest(".column"));
    }
    fetch(moveBase + "/" + card.getAttribute("data-deal") + "/move", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Requested-With": "fetch" },
      body: body.toString()
    }).then(function (r) {
      return r.json().catch(function () { return { ok: false, message: "The move could not be saved." }; });
    }).then(function (answer) {
      if (answer.ok) {
        drawn();
        card.removeAttribute("aria-busy");
        if (!status) card.setAttribute("data-stage", column.getAttribute("data-stage"));
        refresh();
      } else if (answer.dialog) {
        askMore(card, answer.dialog, function () {
          if (!status) card.setAttribute("data-stage", column.getAttribute("data-stage"));
          refresh();
        }, undo);
      } else {
        card.removeAttribute("aria-busy");
        undo();
        rapportToast(answer.message || "The move was refused.");
      }
    }).catch(function () {
      card.removeAttribute("aria-busy");
      undo();
      rapportToast("The move could not be saved; check your connection.");
    });
  }
  // Won and lost: places to drop a deal on, shown while one is dragged.
  var zones = board.parentNode.querySelector("[data-drop-zones]");
  function zoneAt(x, y) {
    var el = document.elementFromPoint(x, y);
    return el && zones ? el.closest("[data-drop-status]") : null;
  }

  board.addEventListener("dragstart", function (event) { event.preventDefault(); });
  board.addEventListener("pointerdown", function (event) {
    var card = event.target.closest(".deal-card[data-draggable]");
    if (!card || event.button !== 0 || event.target.closest("button, select, summary, input, details")) return;
    drag = { card: card, x: event.clientX, y: event.clientY, from: card.parentNode, next: card.nextSibling, moving: false };
  });
  document.addEventListener("pointermove", function (event) {
    if (!drag) return;
    if (!drag.moving) {
      if (Math.abs(event.clientX - drag.x) + Math.abs(event.clientY - drag.y) < 6) return;
      var rect = drag.card.getBoundingClientRect();
      drag.dx = drag.x - rect.left;
      drag.dy = drag.y - rect.top;
      drag.card.style.width = rect.width + "px";
      drag.card.classList.add("dragging");
      drag.moving = true;
      if (zones) zones.hidden = false;
    }
    event.preventDefault();
    drag.card.style.left = (event.clientX - drag.dx) + "px";
    drag.card.style.top = (event.clientY - drag.dy) + "px";
    var zone = zoneAt(event.clientX, event.clientY);
    if (zones) zones.querySelectorAll("[data-drop-status]").forEach(function (z) { z.classList.toggle("drop-target", z === zone); });
    markTarget(zone ? null : columnAt(event.clientX, event.clientY));
  });
  document.addEventListener("pointerup", function (event) {
    if (!drag) return;
    var d = drag;
    drag = null;
    if (!d.moving) return;
    suppressClick = true;
    setTimeout(function () { suppressClick = false; }, 0);
    var zone = zoneAt(event.clientX, event.clientY);
    var column = columnAt(event.clientX, event.clientY);
    d.card.classList.remove("dragging");
    d.card.style.left = d.card.style.top = d.card.style.width = "";
    markTarget(null);
    if (zones) {
      zones.hidden = true;
      zones.querySelectorAll(".drop-target").forEach(function (z) { z.classList.remove("drop-target"); });
    }
    if (zone) { move(d.card, d.card.closest(".column"), d.from, d.next, zone.getAttribute("data-drop-status")); return; }
    if (!column || column.getAttribute("data-stage") === d.card.getAttribute("data-stage")) return;
    column.querySelector(".column-cards").prepend(d.card);
    shift(d.from.closest(".column"), column);
    move(d.card, column, d.from, d.next);
  });
  // A deal card's "Move" form (keyboards) moves it in place like a drop, dialog included; a
  // custom object's board keeps its own form.
  board.addEventListener("submit", function (event) {
    var form = event.target;
    var card = form.closest(".deal-card[data-deal]");
    var select = form.querySelector("select[name=stage]");
    if (!card || !select || board.getAttribute("data-move-field")) return;
    event.preventDefault();
    var column = board.querySelector(".column[data-stage='" + CSS.escape(select.value) + "']");
    if (!column || select.value === card.getAttribute("data-stage")) return;
    var from = card.parentNode, next = card.nextSibling;
    form.closest("details").open = false;
    column.querySelector(".column-cards").prepend(card);
    shift(from.closest(".column"), column);
    move(card, column, from, next);
    var title = card.querySelector(".deal-title");
    if (title) title.focus();
  });
  board.addEventListener("click", function (event) {
    if (suppressClick) { event.preventDefault(); event.stopPropagation(); return; }
    var more = event.target.closest("[data-more]");
    if (more) { event.preventDefault(); loadMore(more); }
  }, true);
})();

// The "Columns" checkboxes of a list fill its `cols` field before the form is sent.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var value = form.querySelector("[data-columns-value]");
  if (!value) return;
  var chosen = Array.prototype.slice.call(form.querySelectorAll("[data-columns]:checked")).map(function (box) { return box.value; });
  value.value = chosen.join(",");
  form.querySelectorAll("[data-columns]").forEach(function (box) { box.disabled = true; });
}, true);
document.addEventListener("change", function (event) {
  if (event.target.matches("[data-columns]")) event.target.form.requestSubmit();
});

// Live updates. Parts of a page marked `data-live-region` listen on the WebSocket (the `org`
// channel, or their `data-live-channel`) for events whose names start with one of their
// `data-live-events` prefixes, then are fetched again and swapped in place. A region the user is
// working in (a focused or edited field, a card being dragged) is not swapped under them: a
// banner offers to refresh instead. After a lost connection everything is refreshed once.
(function () {
  var shell = document.querySelector("[data-live-url]");
  if (!shell || !window.WebSocket || !document.querySelector("[data-live-region]")) return;
  var pending = {};
  var timer = null;
  var retry = 1000;
  var connectedBefore = false;

  function regions() { return Array.prototype.slice.call(document.querySelectorAll("[data-live-region]")); }
  function channels() {
    var set = { org: true };
    regions().forEach(function (r) { if (r.dataset.liveChannel) set[r.dataset.liveChannel] = true; });
    return Object.keys(set);
  }
  function concerns(region, message) {
    if (message.channel !== (region.dataset.liveChannel || "org")) return false;
    var prefixes = (region.dataset.liveEvents || "").split(" ").filter(Boolean);
    return prefixes.length === 0 || prefixes.some(function (p) { return message.event.indexOf(p) === 0; });
  }
  function busy(region) {
    var focused = document.activeElement;
    if (focused && region.contains(focused) && focused.matches("input:not([type=hidden]), textarea, select")) return true;
    return !!region.querySelector(".dragging, [aria-busy], form[data-dirty], details[open], .prop.editing, input[data-select]:checked");
  }
  function banner(show) {
    var existing = document.getElementById("live-banner");
    if (!show) { if (existing) existing.remove(); return; }
    if (existing) return;
    var bar = document.createElement("div");
    bar.id = "live-banner";
    bar.className = "live-banner";
    bar.setAttribute("role", "status");
    bar.innerHTML = "<span>Someone else changed what you are looking at.</span> ";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-sm";
    button.textContent = "Show the latest";
    button.addEventListener("click", function () { window.location.reload(); });
    bar.appendChild(button);
    document.getElementById("content").prepend(bar);
  }
  function refresh() {
    timer = null;
    var ids = Object.keys(pending);
    if (ids.length === 0) return;
    pending = {};
    fetch(window.location.href, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var stale = false;
        ids.forEach(function (id) {
          var region = document.getElementById(id);
          var fresh = doc.getElementById(id);
          if (!region || !fresh) return;
          if (busy(region)) { stale = true; return; }
          if (region.innerHTML !== fresh.innerHTML) {
            var focused = document.activeElement && region.contains(document.activeElement) ? document.activeElement.id : "";
            region.innerHTML = fresh.innerHTML;
            if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
            region.classList.remove("live-flash");
            void region.offsetWidth;
            region.classList.add("live-flash");
          }
        });
        banner(stale);
      })
      .catch(function () {});
  }
  function schedule(ids) {
    ids.forEach(function (id) { pending[id] = true; });
    if (!timer) timer = setTimeout(refresh, 250);
  }
  document.addEventListener("input", function (event) {
    var form = event.target.form;
    // A property edited in place is saved on its own; its form is never left half-typed.
    if (form && form.closest("[data-live-region]") && !form.hasAttribute("data-inline-edit")) form.setAttribute("data-dirty", "");
  });
  function connect() {
    var url = new URL(shell.dataset.liveUrl, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    var socket = new WebSocket(url.toString());
    socket.addEventListener("open", function () {
      retry = 1000;
      channels().forEach(function (channel) { socket.send(JSON.stringify({ type: "subscribe", channel: channel })); });
      if (connectedBefore) schedule(regions().map(function (r) { return r.id; }));
      connectedBefore = true;
      document.documentElement.setAttribute("data-live", "connected");
    });
    socket.addEventListener("message", function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message.type !== "event") return;
      var ids = regions().filter(function (r) { return concerns(r, message); }).map(function (r) { return r.id; });
      // What this member did is drawn where they did it; elsewhere it refreshes when idle.
      if (message.actor_id && message.actor_id === shell.dataset.user) {
        ids = ids.filter(function (id) {
          var r = document.getElementById(id);
          return r && !busy(r) && !(r._drawnUntil > Date.now());
        });
      }
      schedule(ids);
    });
    socket.addEventListener("close", function (event) {
      document.documentElement.setAttribute("data-live", "disconnected");
      // Signed out or no longer a member: stop; otherwise come back, waiting longer each time.
      if (event.code === 4401 || event.code === 4403) return;
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    });
  }
  connect();
})();

// The webhook event chooser: "Every event" hides the list of event types.
document.addEventListener("change", function (event) {
  if (!event.target.matches("[data-all-events]")) return;
  var grid = event.target.closest("fieldset").querySelector("[data-event-grid]");
  if (grid) grid.hidden = event.target.checked;
});

// Settings → Objects and fields: a field form shows the settings its type has (options for a
// select, limits for numbers and texts, a target for a relation), and the field being added
// appears at the end of the form preview as it is typed.
(function () {
  document.querySelectorAll("[data-field-form]").forEach(function (form) {
    var type = form.querySelector("[data-field-type]");
    function sync() {
      var t = type.value;
      form.querySelectorAll("[data-show-for]").forEach(function (part) {
        part.hidden = part.getAttribute("data-show-for").split(" ").indexOf(t) < 0;
      });
      preview();
    }
    function preview() {
      var id = form.getAttribute("data-preview-target");
      var box = id && document.getElementById(id);
      if (!box) return;
      var label = form.querySelector("[data-preview-label]").value.trim();
      var required = form.querySelector("[data-preview-required]").checked;
      box.hidden = !label;
      box.querySelector("[data-preview-new-label]").textContent = label + (required ? " *" : "");
      var menu = ["select", "multi_select", "member", "relation"].indexOf(type.value) >= 0;
      var input = box.querySelector("[data-preview-new-input]");
      input.textContent = menu ? "▾" : "";
      input.classList.toggle("textarea", type.value === "long_text");
      box.querySelector("[data-preview-new-help]").textContent = form.querySelector("[data-preview-help]").value;
    }
    // An option's colour dot follows its colour menu.
    form.addEventListener("change", function (event) {
      if (event.target.name !== "option_color") return;
      var dot = event.target.parentNode.querySelector(".tag");
      if (dot) dot.className = "tag tag-" + event.target.value;
    });
    type.addEventListener("change", sync);
    form.addEventListener("input", preview);
    form.addEventListener("change", preview);
    sync();
  });
})();

// Record pages: each property opens in place when clicked (or Enter on it). Enter saves (Ctrl or
// ⌘-Enter in a text area), Esc cancels, a menu chosen with the pointer saves at once, leaving the
// field saves what was typed. The value shows at once; the server's answer then redraws the page,
// or, when refused, the old value comes back and the editor stays open with the reason under it
// (leaving it then puts the stored value back).
(function () {
  var FIELD = ".prop-editor input:not([type=hidden]):not(.choice-finder), .prop-editor select, .prop-editor textarea";

  function propOf(node) { return node && node.closest ? node.closest("form[data-inline-edit] .prop") : null; }
  function formOf(prop) { return prop.closest("form"); }
  function controls(prop) {
    return Array.prototype.slice.call(prop.querySelectorAll(".prop-editor input[name], .prop-editor select[name], .prop-editor textarea[name]"))
      .filter(function (c) { return !c.classList.contains("choice-finder"); });
  }
  function entries(prop) {
    var out = [];
    controls(prop).forEach(function (c) {
      if (c.type === "checkbox") { if (c.checked) out.push([c.name, c.value]); return; }
      if (c.tagName === "SELECT" && c.multiple) {
        Array.prototype.forEach.call(c.selectedOptions, function (o) { out.push([c.name, o.value]); });
        return;
      }
      out.push([c.name, c.value]);
    });
    return out;
  }
  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }
  function label(prop) { return prop.querySelector(".prop-label").firstChild.textContent.trim(); }
  function shown(prop) {
    var kind = prop.dataset.kind;
    var main = prop.querySelector(".prop-editor [name='" + CSS.escape(prop.dataset.prop) + "']");
    if (!main) return "";
    if (kind === "checkbox") return main.checked ? "Yes" : "No";
    if (main.tagName === "SELECT") {
      return Array.prototype.filter.call(main.selectedOptions, function (o) { return o.value !== ""; })
        .map(function (o) { return o.textContent; }).join(", ");
    }
    if (kind === "money" && main.value.trim()) {
      var currency = prop.querySelector("[name='" + CSS.escape(prop.dataset.prop + ".currency") + "']");
      return main.value.trim() + (currency && currency.value ? " " + currency.value.toUpperCase() : "");
    }
    return main.value.trim();
  }
  function show(prop, text) {
    var button = prop.querySelector(".prop-value");
    button.textContent = text || "Empty";
    button.classList.toggle("prop-empty", !text);
    button.setAttribute("aria-label", label(prop) + ": " + (text || "empty") + ". Edit");
  }
  function error(prop, message) {
    var editor = prop.querySelector(".prop-editor");
    var p = editor.querySelector(".field-error");
    if (!message) {
      if (p) p.remove();
      prop.classList.remove("has-error");
      controls(prop).forEach(function (c) { c.removeAttribute("aria-invalid"); c.removeAttribute("aria-describedby"); });
      return;
    }
    if (!p) {
      p = document.createElement("p");
      p.className = "field-error";
      p.id = prop.dataset.prop + "-error";
      editor.appendChild(p);
    }
    p.textContent = message;
    prop.classList.add("has-error");
    controls(prop).forEach(function (c) { c.setAttribute("aria-invalid", "true"); c.setAttribute("aria-describedby", p.id); });
  }
  function open(prop) {
    if (prop.classList.contains("editing")) return;
    formOf(prop).querySelectorAll(".prop.editing, .prop.has-error").forEach(function (other) { if (other !== prop) leave(other); });
    if (!prop._before) prop._before = entries(prop);
    prop._shown = prop.querySelector(".prop-value").textContent;
    prop.classList.add("editing");
    var first = prop.querySelector(FIELD);
    if (first) { first.focus(); if (first.select && first.tagName === "INPUT" && /^(text|email|tel|url|search|number)$/.test(first.type)) first.select(); }
  }
  function close(prop, focus) {
    prop.classList.remove("editing");
    if (focus) prop.querySelector(".prop-value").focus();
    // A list cell holding this editor puts its own content back (unless a save follows).
    prop.dispatchEvent(new CustomEvent("rapport:prop-closed", { bubbles: true }));
  }
  // Puts the stored value back. A field drawn refused by the server (a whole form sent without
  // script) has no stored value here: the page is drawn again instead.
  function cancel(prop, focus) {
    var before = prop._before;
    prop._refused = null;
    error(prop, null);
    if (!before) { close(prop, false); redraw(prop.dataset.prop, true); return; }
    controls(prop).forEach(function (c) {
      var mine = before.filter(function (e) { return e[0] === c.name; }).map(function (e) { return e[1]; });
      if (c.dataset.comboFor) {
        // A combobox's menu holds only what was chosen: the stored record comes back into it.
        var keep = Array.prototype.filter.call(c.options, function (o) { return o.value === ""; });
        c.replaceChildren.apply(c, keep);
        if (mine[0]) {
          var o = document.createElement("option");
          o.value = mine[0];
          o.textContent = prop._shown;
          c.appendChild(o);
        }
        c.value = mine[0] || "";
        var text = document.getElementById(c.dataset.comboFor);
        if (text) text.value = mine[0] ? prop._shown : "";
        return;
      }
      if (c.type === "checkbox") c.checked = mine.indexOf(c.value) >= 0;
      else if (c.tagName === "SELECT") Array.prototype.forEach.call(c.options, function (o) { o.selected = mine.indexOf(o.value) >= 0; });
      else c.value = mine.length ? mine[0] : "";
    });
    if (prop._shown !== undefined) show(prop, prop._shown === "Empty" ? "" : prop._shown);
    close(prop, focus);
  }
  // Leaving a field: saves it, or, when it still holds the value just refused, puts the stored
  // value back rather than sending it again.
  function leave(prop) {
    if (prop._refused && same(entries(prop), prop._refused)) cancel(prop, false);
    else if (prop.classList.contains("editing") || prop.classList.contains("has-error")) save(prop);
  }
  // Whether the member is busy elsewhere on the page (typing a comment, a panel open): the page
  // is then drawn again once they are done.
  function blocked(region) {
    var focused = document.activeElement;
    if (focused && region.contains(focused) && !propOf(focused) && focused.matches("input:not([type=hidden]), textarea, select")) return true;
    return !!region.querySelector(".prop.editing, .prop.has-error, [aria-busy], form[data-dirty], details[open]");
  }
  var pending = null;
  function redraw(name, force) {
    var region = document.getElementById("live-record");
    if (!region) return;
    // Until the page is drawn again it is marked as waiting for it (tests wait on this).
    window.__rapportRedrawing = true;
    if (!force && blocked(region)) {
      clearTimeout(pending);
      pending = setTimeout(function () { redraw(name, false); }, 1000);
      return;
    }
    fetch(window.location.href, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live-record");
        if (!fresh) return;
        if (!force && blocked(region)) { pending = setTimeout(function () { redraw(name, false); }, 1000); return "later"; }
        var active = document.activeElement;
        var onIt = !active || active === document.body || (propOf(active) && propOf(active).dataset.prop === name);
        region.innerHTML = fresh.innerHTML;
        // The live update this save causes is already drawn here.
        region._drawnUntil = Date.now() + 3000;
        if (onIt && name) {
          var again = region.querySelector(".prop[data-prop='" + CSS.escape(name) + "'] .prop-value");
          if (again) again.focus();
        }
      })
      .catch(function () {})
      .then(function (later) { if (later !== "later") window.__rapportRedrawing = false; });
  }
  function save(prop) {
    var now = entries(prop);
    if (prop._before && same(now, prop._before)) { error(prop, null); close(prop, false); return; }
    var form = formOf(prop);
    var was = prop._shown;
    var name = prop.dataset.prop;
    var body = new URLSearchParams();
    body.append("_csrf", form.querySelector("input[name=_csrf]").value);
    body.append("_fields", name);
    now.forEach(function (e) { body.append(e[0], e[1]); });
    show(prop, shown(prop));
    error(prop, null);
    prop._refused = null;
    close(prop, prop.contains(document.activeElement));
    prop.classList.add("prop-saving");
    prop.setAttribute("aria-busy", "true");
    function refused(message) {
      prop.classList.remove("prop-saving");
      prop.removeAttribute("aria-busy");
      if (was !== undefined) show(prop, was === "Empty" ? "" : was);
      prop._refused = now;
      prop.classList.add("editing");
      error(prop, message);
      var first = prop.querySelector(FIELD);
      if (first) first.focus();
    }
    fetch(form.action, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "Accept": "application/problem+json" }
    }).then(function (r) {
      if (r.status === 204) {
        var region = document.getElementById("live-record");
        if (region) region._drawnUntil = Date.now() + 3000;
        prop.classList.remove("prop-saving");
        prop.removeAttribute("aria-busy");
        prop._before = now;
        prop.dispatchEvent(new CustomEvent("rapport:prop-saved", { bubbles: true }));
        redraw(name, false);
        return;
      }
      return r.json().catch(function () { return {}; }).then(function (problem) {
        var errors = problem.errors || [];
        var found = errors.filter(function (e) { return e.field === name || e.field.indexOf(name + ".") === 0; })[0] || errors[0];
        // An error about another property (a stage that needs a field) names that property.
        var about = found && found.field !== name && found.field.indexOf(name + ".") !== 0
          ? document.querySelector("form[data-inline-edit] .prop[data-prop='" + CSS.escape(found.field) + "']") : null;
        var named = about ? label(about) : label(prop);
        refused(found ? named + " " + found.message : (problem.detail || "This change was not saved. Try again."));
      });
    }).catch(function () { refused("Not saved: the server could not be reached. Try again."); });
  }

  var pointer = false;
  document.addEventListener("pointerdown", function (event) { pointer = !!propOf(event.target); }, true);
  document.addEventListener("click", function (event) {
    var prop = propOf(event.target);
    if (prop && (event.target.closest(".prop-value[data-edit]") || event.target.closest(".prop-label"))) {
      // A label would only toggle or focus the hidden control: it opens the property instead.
      if (event.target.closest(".prop-label")) event.preventDefault();
      open(prop);
      return;
    }
    // A status pill in the header opens the property it shows.
    var pill = event.target.closest("[data-open-prop]");
    if (!pill) return;
    var target = document.querySelector("form[data-inline-edit] .prop[data-prop='" + CSS.escape(pill.dataset.openProp) + "']");
    if (!target) return;
    target.scrollIntoView({ block: "nearest" });
    open(target);
  });
  document.addEventListener("keydown", function (event) {
    var prop = propOf(event.target);
    if (!prop || !(prop.classList.contains("editing") || prop.classList.contains("has-error"))) return;
    if (event.key === "Escape") { event.preventDefault(); cancel(prop, true); return; }
    if (event.key !== "Enter") return;
    // Enter in a relation's type-ahead only looks; it never sends the whole form.
    if (event.target.classList.contains("choice-finder")) { event.preventDefault(); return; }
    if (event.target.tagName === "TEXTAREA" && !(event.ctrlKey || event.metaKey)) return;
    if (event.target.tagName === "BUTTON") return;
    event.preventDefault();
    save(prop);
  });
  document.addEventListener("keydown", function () { pointer = false; }, true);
  document.addEventListener("change", function (event) {
    var prop = propOf(event.target);
    if (!prop || !prop.classList.contains("editing") || event.target.classList.contains("choice-finder")) return;
    // A menu chosen with the pointer, or a checkbox, is saved at once; arrows through a menu
    // are not (Enter or leaving it saves).
    if (event.target.type === "checkbox" || event.target.dataset.comboFor || (event.target.tagName === "SELECT" && !event.target.multiple && pointer)) save(prop);
  });
  document.addEventListener("focusout", function (event) {
    var prop = propOf(event.target);
    if (!prop || !(prop.classList.contains("editing") || prop.classList.contains("has-error"))) return;
    setTimeout(function () {
      if (prop.isConnected && !prop.hasAttribute("aria-busy") && !prop.contains(document.activeElement)) leave(prop);
    }, 120);
  });
})();

// Settings → Roles: the permission matrix saves its cells as they change (a moment after the
// last change, several at once), one save after the other so the last change made is the one
// kept; each save says so with an Undo of that save, and what the role can do is drawn again. A
// refusal puts the stored values back and says why. The form is marked busy while saves wait.
(function () {
  var form = document.querySelector("form[data-matrix]");
  if (!form) return;
  var saved = {};
  var pending = {};
  var timer = null;
  var queue = Promise.resolve();
  var waiting = 0;
  Array.prototype.forEach.call(form.querySelectorAll("select.scope"), function (s) { saved[s.name] = s.value; });
  function paint(select) {
    select.classList.remove("scope-none", "scope-own", "scope-all");
    select.classList.add("scope-" + select.value);
  }
  function show(values) {
    Object.keys(values).forEach(function (name) {
      var select = form.elements[name];
      if (select && !(name in pending)) { select.value = values[name]; paint(select); }
    });
  }
  function summary() {
    fetch(window.location.pathname, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("role-summary");
        var now = document.getElementById("role-summary");
        if (fresh && now) now.innerHTML = fresh.innerHTML;
      })
      .catch(function () {});
  }
  // Sends `values` after every save before it; `done(before)` runs once stored, with the values
  // the cells had before this save.
  function enqueue(values, done) {
    waiting++;
    form.setAttribute("aria-busy", "true");
    queue = queue.then(function () {
      var before = {};
      Object.keys(values).forEach(function (name) { before[name] = saved[name]; });
      var body = new URLSearchParams();
      body.set("_csrf", form.querySelector("input[name=_csrf]").value);
      Object.keys(values).forEach(function (name) { body.set(name, values[name]); });
      return fetch(form.action, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-Requested-With": "fetch", "Accept": "application/problem+json" }
      }).then(function (r) {
        if (r.status === 204) {
          Object.keys(values).forEach(function (name) { saved[name] = values[name]; });
          done(before);
          return;
        }
        return r.json().catch(function () { return {}; }).then(function (problem) {
          show(before);
          var first = problem.errors && problem.errors[0];
          rapportToast(first ? first.message : problem.detail || "Not saved. Try again.");
        });
      }, function () {
        show(before);
        rapportToast("Not saved: the server could not be reached. Try again.");
      });
    }).then(function () {
      waiting--;
      if (waiting === 0) form.removeAttribute("aria-busy");
    });
  }
  function saveNow() {
    timer = null;
    var values = pending;
    pending = {};
    if (Object.keys(values).length === 0) return;
    enqueue(values, function (before) {
      summary();
      rapportToast("Permissions saved.", {
        label: "Undo",
        run: function () {
          show(before);
          enqueue(before, function () { summary(); rapportToast("Undone."); });
        }
      });
    });
  }
  form.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select.scope")) return;
    paint(select);
    pending[select.name] = select.value;
    clearTimeout(timer);
    timer = setTimeout(saveNow, 400);
  });
  // A change made just before leaving is not lost.
  window.addEventListener("pagehide", function () {
    if (Object.keys(pending).length === 0) return;
    var body = new URLSearchParams();
    body.set("_csrf", form.querySelector("input[name=_csrf]").value);
    Object.keys(pending).forEach(function (name) { body.set(name, pending[name]); });
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin", keepalive: true, headers: { "X-Requested-With": "fetch" } });
  });
  // With script, the matrix is never posted whole.
  form.addEventListener("submit", function (event) { event.preventDefault(); });
})();

// Settings → Roles: the field rules save as they change (a moment after the last change): the
// rows changed since the last save, and only those, so rules no row touched stay as stored. Each
// save can be undone, which sends those rows as they were. A read-only rule's stages are offered
// only while the field is read-only. A refusal puts the rows back.
(function () {
  var form = document.querySelector("form[data-field-rules]");
  if (!form) return;
  var timer = null;
  function snapshot() { return new URLSearchParams(new FormData(form)); }
  function selects() { return Array.prototype.slice.call(form.querySelectorAll("select.access")); }
  function sync(select) {
    select.className = select.className.replace(/\baccess-\S+/g, "").trim() + " access-" + select.value;
    var row = select.closest("tr");
    var stages = row && row.querySelector(".stage-picks");
    if (stages) stages.disabled = select.value !== "read_only";
    if (row) row.classList.toggle("is-read-only", select.value === "read_only");
  }
  // The rows whose access or stages differ between two states of the form.
  function changedRows(a, b) {
    return selects().map(function (s) { return s.name; }).filter(function (n) {
      return a.get(n) !== b.get(n) || a.getAll(n + ".stages").join() !== b.getAll(n + ".stages").join();
    });
  }
  function rowsOf(values, names) {
    var out = new URLSearchParams();
    names.forEach(function (n) {
      out.set(n, values.get(n) || "editable");
      values.getAll(n + ".stages").forEach(function (v) { out.append(n + ".stages", v); });
    });
    return out;
  }
  function restore(values, names) {
    selects().forEach(function (s) {
      if (names.indexOf(s.name) !== -1 && values.has(s.name)) { s.value = values.get(s.name); sync(s); }
    });
    Array.prototype.forEach.call(form.querySelectorAll(".stage-picks input"), function (box) {
      var row = box.name.replace(/\.stages$/, "");
      if (names.indexOf(row) !== -1) box.checked = values.getAll(box.name).indexOf(box.value) !== -1;
    });
  }
  selects().forEach(sync);
  var saved = snapshot();
  function send(values, names, done) {
    form.setAttribute("aria-busy", "true");
    var body = rowsOf(values, names);
    body.set("_csrf", form.querySelector("input[name=_csrf]").value);
    return fetch(form.action, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "Accept": "application/problem+json" }
    }).then(function (r) {
      form.removeAttribute("aria-busy");
      if (r.status === 204) { done(); return; }
      return r.json().catch(function () { return {}; }).then(function (problem) {
        restore(saved, names);
        var first = problem.errors && problem.errors[0];
        rapportToast(first ? first.message : problem.detail || "Not saved. Try again.");
      });
    }, function () {
      form.removeAttribute("aria-busy");
      restore(saved, names);
      rapportToast("Not saved: the server could not be reached. Try again.");
    });
  }
  function refreshSummary() {
    fetch(window.location.pathname, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("role-summary");
        var now = document.getElementById("role-summary");
        if (fresh && now) now.innerHTML = fresh.innerHTML;
        // Each kind's count of rules, in its heading.
        Array.prototype.forEach.call(doc.querySelectorAll("#field-rules details[data-kind] > summary"), function (s) {
          var here = form.querySelector("details[data-kind='" + s.parentElement.getAttribute("data-kind") + "'] > summary");
          if (here) here.innerHTML = s.innerHTML;
        });
      })
      .catch(function () {});
  }
  function saveNow() {
    timer = null;
    var before = saved;
    var now = snapshot();
    var names = changedRows(before, now);
    if (names.length === 0) return;
    send(now, names, function () {
      saved = now;
      refreshSummary();
      rapportToast("Field rules saved.", {
        label: "Undo",
        run: function () {
          restore(before, names);
          var undone = snapshot();
          send(undone, names, function () { saved = undone; refreshSummary(); rapportToast("Undone."); });
        }
      });
    });
  }
  form.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("select.access")) sync(target);
    clearTimeout(timer);
    timer = setTimeout(saveNow, 400);
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); });
})();

// Settings → Teams: choosing a lead makes them a member (the server does so too); taking the
// lead out of the team leaves it without one.
document.addEventListener("change", function (event) {
  var input = event.target;
  if (!input.matches) return;
  var row = input.closest(".team-member");
  if (input.matches(".team-member input[name=lead]") && input.value) {
    var box = row.querySelector("input[name=member]");
    if (box) box.checked = true;
  } else if (input.matches(".team-member input[name=member]") && !input.checked) {
    var lead = row.querySelector("input[name=lead]");
    var none = document.querySelector(".team-member input[name=lead][value='']");
    if (lead && lead.checked && none) none.checked = true;
  }
});

// Files. A box marked `data-files-upload` takes files dropped on it or chosen with its button
// and sends each at once, side by side, with its own progress bar; a refusal (too large, a type
// not accepted) stays next to the file with the server's reason. When all are in, the box is
// read again (a file's page, which takes one new version, is reloaded).
(function () {
  function human(bytes) {
    var units = ["B", "KB", "MB", "GB"];
    var i = 0;
    while (bytes >= 1000 && i < units.length - 1) { bytes /= 1000; i++; }
    return (i === 0 ? bytes : bytes.toFixed(bytes < 100 ? 1 : 0)) + " " + units[i];
  }
  function hasFiles(event) {
    var types = event.dataTransfer && event.dataTransfer.types;
    return !!types && Array.prototype.indexOf.call(types, "Files") !== -1;
  }
  function boxOf(target) { return target && target.closest ? target.closest("[data-files-upload]") : null; }

  function start(box, files) {
    if (!files.length) return;
    var single = box.hasAttribute("data-files-single");
    if (single) files = files.slice(0, 1);
    var list = box.querySelector("[data-files-progress]");
    var limit = Number(box.getAttribute("data-files-limit"));
    var left = files.length;
    var failed = 0;
    box.setAttribute("aria-busy", "true");
    files.forEach(function (file) {
      var item = document.createElement("li");
      item.className = "upload";
      item.innerHTML = '<span class="upload-name"></span><progress max="100" value="0"></progress><span class="upload-state small muted"></span>';
      item.querySelector(".upload-name").textContent = file.name;
      list.appendChild(item);
      var bar = item.querySelector("progress");
      var state = item.querySelector(".upload-state");
      state.textContent = "Waiting…";
      function done(ok, message) {
        left -= 1;
        if (ok) {
          item.classList.add("upload-done");
          bar.value = 100;
          state.textContent = "Uploaded";
        } else {
          failed += 1;
          item.classList.add("upload-failed");
          item.setAttribute("role", "alert");
          state.textContent = message;
        }
        if (left === 0) finish();
      }
      if (file.size > limit) { done(false, "Larger than " + human(limit) + ", the most one file may be"); return; }
      if (file.size === 0) { done(false, "The file is empty"); return; }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", box.getAttribute("data-files-upload"));
      xhr.setRequestHeader("X-CSRF-Token", box.getAttribute("data-csrf") || "");
      xhr.upload.addEventListener("progress", function (event) {
        if (!event.lengthComputable) return;
        bar.value = Math.round((event.loaded * 100) / event.total);
        state.textContent = human(event.loaded) + " of " + human(event.total);
      });
      xhr.addEventListener("load", function () {
        if (xhr.status === 201) { done(true); return; }
        var message = "The upload was refused";
        try { message = JSON.parse(xhr.responseText).detail || message; } catch (e) {}
        done(false, message.charAt(0).toUpperCase() + message.slice(1));
      });
      xhr.addEventListener("error", function () { done(false, "The connection broke off; try again"); });
      xhr.addEventListener("abort", function () { done(false, "The upload was stopped"); });
      xhr.addEventListener("timeout", function () { done(false, "The upload took too long; try again"); });
      var body = new FormData();
      body.append("file", file, file.name);
      xhr.send(body);
    });
    function finish() {
      box.removeAttribute("aria-busy");
      if (single) {
        if (failed === 0) window.location.reload();
        return;
      }
      fetch(window.location.href, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(box.id);
          if (!fresh) return;
          var refused = Array.prototype.slice.call(list.querySelectorAll(".upload-failed"));
          box.innerHTML = fresh.innerHTML;
          var again = box.querySelector("[data-files-progress]");
          if (again) refused.forEach(function (item) { again.appendChild(item); });
        })
        .catch(function () {});
    }
  }

  document.addEventListener("click", function (event) {
    var trigger = event.target.closest("[data-files-choose], [data-files-drop]");
    var box = boxOf(trigger);
    if (!trigger || !box) return;
    var input = box.querySelector("[data-files-input]");
    if (input) input.click();
  });
  document.addEventListener("change", function (event) {
    var input = event.target.closest ? event.target.closest("[data-files-input]") : null;
    var box = boxOf(input);
    if (!box) return;
    start(box, Array.prototype.slice.call(input.files));
    input.value = "";
  });
  ["dragenter", "dragover"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      if (!hasFiles(event) || !document.querySelector("[data-files-upload]")) return;
      // A file let go beside the box must not replace the page with itself.
      event.preventDefault();
      var box = boxOf(event.target);
      event.dataTransfer.dropEffect = box ? "copy" : "none";
      if (box) box.classList.add("drop-target");
    });
  });
  document.addEventListener("dragleave", function (event) {
    var box = boxOf(event.target);
    if (box && !box.contains(event.relatedTarget)) box.classList.remove("drop-target");
  });
  document.addEventListener("drop", function (event) {
    if (!hasFiles(event) || !document.querySelector("[data-files-upload]")) return;
    event.preventDefault();
    var box = boxOf(event.target);
    if (!box) return;
    box.classList.remove("drop-target");
    start(box, Array.prototype.slice.call(event.dataTransfer.files));
  });
})();
