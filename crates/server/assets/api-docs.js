// Renders the OpenAPI document of this server as a readable reference. No dependencies.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function refName(ref) { return ref.split("/").pop(); }

function schemaText(schema, spec, depth) {
  if (!schema) return "";
  depth = depth || 0;
  if (depth > 4) return "…";
  if (schema.$ref) {
    const name = refName(schema.$ref);
    const target = spec.components && spec.components.schemas && spec.components.schemas[name];
    return depth === 0 && target ? schemaText(target, spec, depth + 1) : name;
  }
  if (schema.oneOf || schema.anyOf) {
    return (schema.oneOf || schema.anyOf).map((s) => schemaText(s, spec, depth + 1)).join(" | ");
  }
  const type = Array.isArray(schema.type) ? schema.type.join(" | ") : schema.type;
  if (type === "array" || (Array.isArray(schema.type) && schema.type.includes("array"))) {
    return "[" + schemaText(schema.items, spec, depth + 1) + "]";
  }
  if (schema.properties) {
    const required = new Set(schema.required || []);
    const pad = "  ".repeat(depth + 1);
    const lines = Object.entries(schema.properties).map(([name, prop]) => {
      const doc = prop.description ? "  // " + prop.description.split("\n")[0] : "";
      return pad + name + (required.has(name) ? "" : "?") + ": " + schemaText(prop, spec, depth + 1) + doc;
    });
    return "{\n" + lines.join("\n") + "\n" + "  ".repeat(depth) + "}";
  }
  return (type || "any") + (schema.format ? " (" + schema.format + ")" : "");
}

function renderOperation(path, method, op, spec) {
  const id = method + "-" + path.replace(/[^a-z0-9]+/gi, "-");
  const params = (op.parameters || []).map((p) =>
    el("li", {}, el("code", {}, p.name), " ", el("span", { class: "muted" }, p.in + (p.required ? ", required" : "")),
      p.description ? " — " + p.description : ""));
  const body = op.requestBody && op.requestBody.content;
  const bodyBlock = body
    ? Object.entries(body).map(([type, media]) => el("div", {}, el("h4", {}, "Request body ", el("span", { class: "muted" }, type)),
        el("pre", {}, schemaText(media.schema, spec))))
    : [];
  const responses = Object.entries(op.responses || {}).map(([status, r]) => {
    const content = r.content && Object.values(r.content)[0];
    return el("li", {}, el("span", { class: "status s" + status[0] }, status), " ", r.description || "",
      content && content.schema ? el("pre", {}, schemaText(content.schema, spec)) : null);
  });
  return el("section", { class: "operation", id: id, "data-search": (path + " " + (op.tags || []).join(" ") + " " + (op.summary || "")).toLowerCase() },
    el("h3", {}, el("span", { class: "method " + method }, method.toUpperCase()), " ", el("code", {}, path)),
    op.summary ? el("p", {}, op.summary) : null,
    op.description && op.description !== op.summary ? el("p", { class: "muted" }, op.description) : null,
    params.length ? [el("h4", {}, "Parameters"), el("ul", {}, params)] : null,
    bodyBlock,
    el("h4", {}, "Responses"), el("ul", { class: "responses" }, responses));
}

async function main() {
  const main = document.getElementById("operations");
  let spec;
  try {
    const res = await fetch("/api/v1/openapi.json");
    spec = await res.json();
  } catch (e) {
    main.replaceChildren(el("p", { class: "error" }, "Could not load /api/v1/openapi.json: " + e));
    return;
  }
  document.getElementById("version").textContent = "v" + spec.info.version + " · OpenAPI " + spec.openapi;
  const byTag = new Map();
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
      const tag = (op.tags && op.tags[0]) || "other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(renderOperation(path, method, op, spec));
    }
  }
  const toc = document.getElementById("toc");
  main.replaceChildren();
  for (const [tag, ops] of byTag) {
    toc.append(el("a", { href: "#tag-" + tag }, tag));
    main.append(el("h2", { id: "tag-" + tag }, tag), ...ops);
  }
  document.getElementById("filter").addEventListener("input", (event) => {
    const q = event.target.value.trim().toLowerCase();
    for (const section of main.querySelectorAll(".operation")) {
      section.hidden = q !== "" && !section.dataset.search.includes(q);
    }
  });
}

main();
