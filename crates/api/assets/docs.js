// Renders /openapi.json as a list of operations. Plain DOM, no libraries, no network beyond
// this server, so it runs offline and under `default-src 'self'`.
"use strict";

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function schemaName(ref) {
  return ref ? ref.split("/").pop() : "";
}

function renderSchema(schema, components, depth) {
  if (!schema) return element("span", "muted", "(none)");
  if (schema.$ref) {
    const name = schemaName(schema.$ref);
    const resolved = (components.schemas || {})[name];
    if (depth > 3 || !resolved) return element("code", "", name);
    const box = element("div", "schema");
    box.appendChild(element("code", "", name));
    box.appendChild(renderSchema(resolved, components, depth + 1));
    return box;
  }
  if (schema.type === "object" || schema.properties) {
    const list = element("ul", "properties");
    const required = new Set(schema.required || []);
    for (const [name, property] of Object.entries(schema.properties || {})) {
      const item = element("li");
      item.appendChild(element("code", "", name));
      item.appendChild(element("span", "type", " " + (property.type || schemaName(property.$ref) || "")));
      if (required.has(name)) item.appendChild(element("span", "required", " required"));
      if (property.description) item.appendChild(element("div", "muted", property.description));
      list.appendChild(item);
    }
    return list;
  }
  return element("code", "", schema.type || JSON.stringify(schema));
}

function renderOperation(path, method, operation, components) {
  const section = element("section", "operation");
  const title = element("h2");
  title.appendChild(element("span", "method " + method, method.toUpperCase()));
  title.appendChild(element("code", "path", " " + path));
  section.appendChild(title);
  if (operation.summary || operation.description) {
    section.appendChild(element("p", "", operation.summary || operation.description));
  }
  if (operation.security && operation.security.length) {
    section.appendChild(element("p", "auth", "Requires: Authorization: Bearer sk_…"));
  }
  const responses = element("dl", "responses");
  for (const [status, response] of Object.entries(operation.responses || {})) {
    responses.appendChild(element("dt", "", status));
    const body = element("dd");
    body.appendChild(element("div", "muted", response.description || ""));
    const content = response.content || {};
    for (const [type, media] of Object.entries(content)) {
      body.appendChild(element("div", "media", type));
      body.appendChild(renderSchema(media.schema, components, 0));
    }
    responses.appendChild(body);
  }
  section.appendChild(responses);
  return section;
}

async function main() {
  const summary = document.getElementById("summary");
  const operations = document.getElementById("operations");
  try {
    const response = await fetch("/openapi.json");
    const spec = await response.json();
    summary.textContent = (spec.info && spec.info.description) || "";
    const components = spec.components || {};
    for (const [path, item] of Object.entries(spec.paths || {})) {
      for (const [method, operation] of Object.entries(item)) {
        operations.appendChild(renderOperation(path, method, operation, components));
      }
    }
  } catch (error) {
    summary.textContent = "Could not load /openapi.json: " + error;
  }
}

main();
