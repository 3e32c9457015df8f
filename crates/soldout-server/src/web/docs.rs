//! `/docs`: the API reference, drawn from this server's own OpenAPI document, with a
//! form per operation that sends a request from the browser (a bearer token field at
//! the top). Everything is in the page: no script, style or font from another host.

use crate::routes::system::OpenApiJson;
use axum::response::Html;
use axum::Extension;
use maud::{html, Markup, PreEscaped};
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

pub async fn page(Extension(doc): Extension<OpenApiJson>) -> Html<String> {
    let doc: Value = serde_json::from_str(&doc.0).unwrap_or_default();
    let empty = serde_json::Map::new();
    let paths = doc["paths"].as_object().unwrap_or(&empty);
    let body = html! {
        p {
            "Every operation of this server, from its own "
            a href="/openapi.json" { "OpenAPI document" }
            ". Errors are " code { "application/problem+json" }
            " documents; every answer carries " code { "x-request-id" } "."
        }
        p {
            label for="docs-token" { "Bearer token (admin, clerk, customer or device) " }
            input #docs-token type="password" autocomplete="off" size="40";
        }
        @for (path, item) in paths {
            @for method in METHODS {
                @if let Some(operation) = item.get(method) {
                    (operation_section(path, method, operation))
                }
            }
        }
        script { (PreEscaped(SCRIPT)) }
    };
    super::page("API reference", false, body)
}

fn operation_section(path: &str, method: &str, operation: &Value) -> Markup {
    let id = operation["operationId"].as_str().unwrap_or(method);
    let text = operation["description"]
        .as_str()
        .or(operation["summary"].as_str())
        .unwrap_or_default();
    let parameters: Vec<&Value> = operation["parameters"]
        .as_array()
        .map(|p| p.iter().collect())
        .unwrap_or_default();
    let body = &operation["requestBody"]["content"]["application/json"];
    let responses = operation["responses"].as_object();
    html! {
        details.operation id=(id) {
            summary { code { (method.to_uppercase()) " " (path) } " " (id) }
            @for paragraph in text.split("\n\n") {
                p { (paragraph) }
            }
            form.try data-method=(method.to_uppercase()) data-path=(path) {
                @if !parameters.is_empty() {
                    table {
                        tr { th { "Parameter" } th { "In" } th { "Type" } th { "Value" } }
                        @for p in &parameters {
                            @let name = p["name"].as_str().unwrap_or_default();
                            tr {
                                td { code { (name) } @if p["required"] == true { " *" } }
                                td { (p["in"].as_str().unwrap_or_default()) }
                                td { (type_of(&p["schema"])) }
                                td {
                                    input name=(name) data-in=(p["in"].as_str().unwrap_or_default())
                                        aria-label=(name);
                                }
                            }
                        }
                    }
                }
                @if !body.is_null() {
                    p { "Body: " (type_of(&body["schema"])) }
                    textarea name="body" rows="4" cols="60" aria-label="JSON body" { "{}" }
                }
                p { button type="submit" { "Send" } }
                pre.answer aria-live="polite" {}
            }
            @if let Some(responses) = responses {
                ul {
                    @for (status, response) in responses {
                        li { code { (status) } " " (response["description"].as_str().unwrap_or_default()) }
                    }
                }
            }
        }
    }
}

/// A schema in a word: its referenced name, its type, or `array of` either.
fn type_of(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        return reference.rsplit('/').next().unwrap_or(reference).to_owned();
    }
    match schema["type"].as_str() {
        Some("array") => format!("array of {}", type_of(&schema["items"])),
        Some(kind) => kind.to_owned(),
        None => schema["type"]
            .as_array()
            .map(|kinds| {
                kinds
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" or ")
            })
            .unwrap_or_else(|| "object".to_owned()),
    }
}

const SCRIPT: &str = r#"
document.querySelectorAll('form.try').forEach(function (form) {
  form.addEventListener('submit', async function (event) {
    event.preventDefault();
    var path = form.dataset.path, query = new URLSearchParams(), headers = {};
    var token = document.getElementById('docs-token').value.trim();
    if (token) headers['Authorization'] = 'Bearer ' + token;
    form.querySelectorAll('input[data-in]').forEach(function (input) {
      if (!input.value) return;
      if (input.dataset.in === 'path') path = path.replace('{' + input.name + '}', encodeURIComponent(input.value));
      else if (input.dataset.in === 'query') query.append(input.name, input.value);
      else if (input.dataset.in === 'header') headers[input.name] = input.value;
    });
    var options = { method: form.dataset.method, headers: headers };
    var body = form.querySelector('textarea[name=body]');
    if (body) { options.body = body.value; headers['Content-Type'] = 'application/json'; }
    var answer = form.querySelector('.answer');
    answer.textContent = 'Sending…';
    try {
      var url = path + (query.toString() ? '?' + query : '');
      var response = await fetch(url, options);
      answer.textContent = response.status + ' ' + response.statusText + '\n' + await response.text();
    } catch (e) {
      answer.textContent = 'The request failed: ' + e;
    }
  });
});
"#;
