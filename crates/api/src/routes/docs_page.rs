//! `/docs`: the API description rendered as one HTML page on the server, from the same
//! document `/openapi.json` serves. No script and no outside resource: the page works offline
//! and under `Content-Security-Policy: default-src 'self'` as every other answer, and what it
//! shows can be checked in the HTML itself. Every value of the document goes through the
//! console's one escaping function.

use std::fmt::Write as _;

use serde_json::Value;

use super::console::esc;

/// How deep nested object schemas are drawn (a request's `subject.address` is depth 2).
const MAX_DEPTH: usize = 4;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The whole page for `doc` (an OpenAPI 3.1 document as JSON).
pub(super) fn render(doc: &Value) -> String {
    let components = &doc["components"];
    let mut html = String::with_capacity(512 * 1024);
    html.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    html.push_str("<title>benteng API</title>");
    html.push_str("<link rel=\"stylesheet\" href=\"/docs/docs.css\"></head><body>");
    let _ = write!(
        html,
        "<header><h1>{}</h1><p>{}</p><p>The machine-readable document: \
         <a href=\"/openapi.json\">/openapi.json</a> (OpenAPI {}).</p></header>",
        esc(text(&doc["info"]["title"])),
        esc(text(&doc["info"]["description"])),
        esc(text(&doc["openapi"])),
    );
    html.push_str("<nav><h2>Operations</h2><ul class=\"toc\">");
    let operations = operations(doc);
    for (path, method, operation) in &operations {
        let _ = write!(
            html,
            "<li><a href=\"#{id}\"><span class=\"method {m}\">{M}</span> <code>{p}</code></a></li>",
            id = esc(text(&operation["operationId"])),
            m = esc(method),
            M = esc(&method.to_uppercase()),
            p = esc(path),
        );
    }
    html.push_str("</ul></nav><main>");
    security_schemes(&mut html, components);
    html.push_str(
        "<section id=\"problems\"><h2>Problem documents</h2><p>Every refusal is \
         <code>application/problem+json</code> (RFC 9457) with this shape; SNAP routes answer in \
         SNAP's own format instead.</p>",
    );
    render_schema(&mut html, &components["schemas"]["Problem"], components, 0);
    html.push_str("</section>");
    for (path, method, operation) in &operations {
        render_operation(&mut html, path, method, operation, components);
    }
    html.push_str("</main></body></html>\n");
    html
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

/// Every operation in the document's order: by path, then method.
fn operations(doc: &Value) -> Vec<(&str, &str, &Value)> {
    let mut found = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for method in METHODS {
                if let Some(operation) = item.get(method) {
                    found.push((path.as_str(), method, operation));
                }
            }
        }
    }
    found
}

fn security_schemes(html: &mut String, components: &Value) {
    let Some(schemes) = components["securitySchemes"].as_object() else {
        return;
    };
    html.push_str("<section id=\"authentication\"><h2>Authentication</h2><dl class=\"schemes\">");
    for (name, scheme) in schemes {
        let _ = write!(
            html,
            "<dt id=\"scheme-{n}\"><code>{n}</code>: {how}</dt><dd>{d}</dd>",
            n = esc(name),
            how = esc(&scheme_carrier(scheme)),
            d = esc(text(&scheme["description"])),
        );
    }
    html.push_str("</dl></section>");
}

/// Where a scheme's credential travels, from the scheme itself.
fn scheme_carrier(scheme: &Value) -> String {
    match text(&scheme["type"]) {
        "http" => format!(
            "the Authorization header, scheme {}",
            text(&scheme["scheme"])
        ),
        "apiKey" => format!("the {} {}", text(&scheme["in"]), text(&scheme["name"])),
        other => other.to_owned(),
    }
}

fn render_operation(html: &mut String, path: &str, method: &str, op: &Value, components: &Value) {
    let _ = write!(
        html,
        "<section class=\"operation\" id=\"{id}\"><h2><span class=\"method {m}\">{M}</span> \
         <code class=\"path\">{p}</code></h2>",
        id = esc(text(&op["operationId"])),
        m = esc(method),
        M = esc(&method.to_uppercase()),
        p = esc(path),
    );
    for paragraph in [&op["summary"], &op["description"]] {
        if !text(paragraph).is_empty() {
            let _ = write!(html, "<p>{}</p>", esc(text(paragraph)));
        }
    }
    render_security(html, &op["security"]);
    render_parameters(html, &op["parameters"], components);
    if let Some(body) = op.get("requestBody") {
        html.push_str("<h3>Request body</h3><div class=\"request-body\">");
        if body["required"].as_bool() == Some(true) {
            html.push_str("<p class=\"required\">required</p>");
        }
        render_content(html, &body["content"], components);
        html.push_str("</div>");
    }
    render_responses(html, &op["responses"], components);
    html.push_str("</section>");
}

/// The requirements: any one of the alternatives; within one, every scheme named.
fn render_security(html: &mut String, security: &Value) {
    html.push_str("<h3>Authentication</h3>");
    let alternatives = security.as_array().map(Vec::as_slice).unwrap_or_default();
    if alternatives.is_empty() {
        html.push_str("<p class=\"security\">None: this operation is public.</p>");
        return;
    }
    html.push_str("<ul class=\"security\">");
    for (index, requirement) in alternatives.iter().enumerate() {
        html.push_str("<li>");
        if index > 0 {
            html.push_str("or ");
        }
        let schemes = requirement.as_object().cloned().unwrap_or_default();
        for (position, (scheme, scopes)) in schemes.iter().enumerate() {
            if position > 0 {
                html.push_str(" and ");
            }
            let _ = write!(
                html,
                "<a href=\"#scheme-{s}\"><code>{s}</code></a>",
                s = esc(scheme)
            );
            let scopes: Vec<&str> = scopes
                .as_array()
                .map(|list| list.iter().map(text).collect())
                .unwrap_or_default();
            if !scopes.is_empty() {
                let _ = write!(
                    html,
                    " with <code class=\"scope\">{}</code>",
                    esc(&scopes.join(", "))
                );
            }
        }
        html.push_str("</li>");
    }
    html.push_str("</ul>");
}

fn render_parameters(html: &mut String, parameters: &Value, components: &Value) {
    let Some(parameters) = parameters.as_array().filter(|list| !list.is_empty()) else {
        return;
    };
    html.push_str(
        "<h3>Parameters</h3><table class=\"parameters\"><thead><tr><th>Name</th><th>In</th>\
         <th>Type</th><th>Required</th><th>Description</th></tr></thead><tbody>",
    );
    for parameter in parameters {
        let schema = resolve(&parameter["schema"], components);
        let _ = write!(
            html,
            "<tr class=\"parameter\"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td></tr>",
            esc(text(&parameter["name"])),
            esc(text(&parameter["in"])),
            esc(&type_text(schema, components)),
            if parameter["required"].as_bool() == Some(true) {
                "required"
            } else {
                "optional"
            },
            esc(text(&parameter["description"])),
        );
    }
    html.push_str("</tbody></table>");
}

fn render_content(html: &mut String, content: &Value, components: &Value) {
    let Some(content) = content.as_object() else {
        return;
    };
    for (media_type, media) in content {
        let _ = write!(html, "<p class=\"media\">{}</p>", esc(media_type));
        let schema = &media["schema"];
        if let Some(name) = ref_name(schema) {
            let _ = write!(
                html,
                "<p class=\"schema-name\"><code>{}</code></p>",
                esc(name)
            );
        }
        render_schema(html, schema, components, 0);
        let example = media
            .get("example")
            .or_else(|| resolve(schema, components).get("example"));
        if let Some(example) = example {
            let pretty = serde_json::to_string_pretty(example).unwrap_or_default();
            let _ = write!(
                html,
                "<details class=\"example\" open><summary>Example</summary><pre>{}</pre></details>",
                esc(&pretty)
            );
        }
    }
}

fn render_responses(html: &mut String, responses: &Value, components: &Value) {
    let Some(responses) = responses.as_object() else {
        return;
    };
    html.push_str("<h3>Responses</h3><dl class=\"responses\">");
    for (status, response) in responses {
        let _ = write!(
            html,
            "<dt>{}</dt><dd><p>{}</p>",
            esc(status),
            esc(text(&response["description"]))
        );
        if let Some(headers) = response["headers"].as_object() {
            html.push_str("<ul class=\"headers\">");
            for (name, header) in headers {
                let _ = write!(
                    html,
                    "<li><code>{}</code>: {}</li>",
                    esc(name),
                    esc(text(&header["description"]))
                );
            }
            html.push_str("</ul>");
        }
        // Problem documents are one schema, drawn once at the top: naming it is enough here.
        if let Some(content) = response["content"].as_object() {
            for (media_type, media) in content {
                match ref_name(&media["schema"]) {
                    Some("Problem") => {
                        let _ = write!(
                            html,
                            "<p class=\"media\">{} <a href=\"#problems\"><code>Problem</code></a></p>",
                            esc(media_type)
                        );
                    }
                    _ => {
                        let mut one = serde_json::Map::new();
                        one.insert(media_type.clone(), media.clone());
                        html.push_str("<details><summary>Body</summary>");
                        render_content(html, &Value::Object(one), components);
                        html.push_str("</details>");
                    }
                }
            }
        }
        html.push_str("</dd>");
    }
    html.push_str("</dl>");
}

fn ref_name(schema: &Value) -> Option<&str> {
    schema["$ref"].as_str().and_then(|r| r.rsplit('/').next())
}

/// A schema with its `$ref` followed (one level; components do not chain refs).
fn resolve<'a>(schema: &'a Value, components: &'a Value) -> &'a Value {
    match ref_name(schema) {
        Some(name) => components["schemas"].get(name).unwrap_or(schema),
        None => schema,
    }
}

/// The non-null alternative of a nullable schema (`oneOf: [{type: null}, X]`, `type: [T, null]`).
fn non_null(schema: &Value) -> &Value {
    if let Some(options) = schema["oneOf"].as_array() {
        let rest: Vec<&Value> = options.iter().filter(|s| s["type"] != "null").collect();
        if let [only] = rest.as_slice() {
            return only;
        }
    }
    schema
}

/// Whether `schema` is of JSON type `kind` (alone, or in a list such as `["array", "null"]`).
fn is_type(schema: &Value, kind: &str) -> bool {
    match &schema["type"] {
        Value::String(one) => one == kind,
        Value::Array(many) => many.iter().any(|k| k == kind),
        _ => false,
    }
}

/// A schema's type as one line: `string (uuid)`, `array of StaffRole`, `one of: a, b`.
fn type_text(schema: &Value, components: &Value) -> String {
    let schema = non_null(schema);
    if let Some(name) = ref_name(schema) {
        let resolved = resolve(schema, components);
        if resolved.get("enum").is_some() {
            return format!("{name}: {}", type_text(resolved, components));
        }
        return name.to_owned();
    }
    let kind = match &schema["type"] {
        Value::String(kind) => kind.clone(),
        Value::Array(kinds) => kinds
            .iter()
            .map(text)
            .filter(|k| *k != "null")
            .collect::<Vec<_>>()
            .join(" | "),
        _ if schema.get("properties").is_some() => "object".to_owned(),
        _ => "any".to_owned(),
    };
    let mut line = if is_type(schema, "array") {
        format!("array of {}", type_text(&schema["items"], components))
    } else {
        kind
    };
    if let Some(format) = schema["format"].as_str() {
        let _ = write!(line, " ({format})");
    }
    if let Some(values) = schema["enum"].as_array() {
        let names: Vec<String> = values
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect();
        let _ = write!(line, ", one of: {}", names.join(", "));
    }
    line
}

/// What else a schema demands: lengths, ranges, patterns, item counts.
fn constraints(schema: &Value) -> String {
    let schema = non_null(schema);
    let mut parts = Vec::new();
    for (key, label) in [
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minimum", "minimum"),
        ("maximum", "maximum"),
        ("minItems", "min items"),
        ("maxItems", "max items"),
        ("pattern", "pattern"),
    ] {
        if let Some(value) = schema.get(key) {
            let shown = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            parts.push(format!("{label} {shown}"));
        }
    }
    parts.join("; ")
}

/// An object schema as a table of its properties, nested objects inside their row.
fn render_schema(html: &mut String, schema: &Value, components: &Value, depth: usize) {
    let resolved = non_null(resolve(non_null(schema), components));
    let object = if is_type(resolved, "array") {
        non_null(resolve(non_null(&resolved["items"]), components))
    } else {
        resolved
    };
    let Some(properties) = object["properties"].as_object() else {
        let _ = write!(
            html,
            "<p class=\"type\">{}</p>",
            esc(&type_text(schema, components))
        );
        return;
    };
    if depth > MAX_DEPTH {
        return;
    }
    let required: Vec<&str> = object["required"]
        .as_array()
        .map(|list| list.iter().map(text).collect())
        .unwrap_or_default();
    html.push_str(
        "<table class=\"properties\"><thead><tr><th>Field</th><th>Type</th><th>Required</th>\
         <th>Rules</th><th>Description</th></tr></thead><tbody>",
    );
    for (name, property) in properties {
        let inner = non_null(resolve(non_null(property), components));
        let _ = write!(
            html,
            "<tr class=\"property\"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}",
            esc(name),
            esc(&type_text(property, components)),
            if required.contains(&name.as_str()) {
                "required"
            } else {
                "optional"
            },
            esc(&constraints(inner)),
            esc(text(&property["description"])),
        );
        let nested = inner.get("properties").is_some()
            || non_null(resolve(non_null(&inner["items"]), components))
                .get("properties")
                .is_some();
        if nested {
            render_schema(html, property, components, depth + 1);
        }
        html.push_str("</td></tr>");
    }
    html.push_str("</tbody></table>");
}
