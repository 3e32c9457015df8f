//! Axum's `Json`, `Path`, `Query` and raw body, with their rejections turned into
//! problems, and one rule for every JSON body: no control characters in its strings
//! (NUL and the like have no place in a name, an id or a note).

use super::Problem;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

/// The raw body (an uploaded file), within the body limit.
pub struct Body(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        read_body(req, state, "; import larger files with the command line")
            .await
            .map(Body)
    }
}

async fn read_body<S: Send + Sync>(
    req: Request,
    state: &S,
    hint: &str,
) -> Result<axum::body::Bytes, Problem> {
    axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|rejection| {
            Problem::unreadable_body(&rejection, rejection.status(), hint, rejection.body_text())
        })
}

/// The media type of a request, lowercased, without its parameters.
fn media_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
}

fn unsupported_media_type(detail: &str) -> Problem {
    Problem::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
        "Unsupported media type",
        detail,
    )
}

/// A CSV file as the body: `Content-Type: text/csv` (or `application/csv`), within
/// the body limit. Any other content type is a 415.
pub struct Csv(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for Csv {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        if !matches!(
            media_type(req.headers()).as_deref(),
            Some("text/csv" | "application/csv")
        ) {
            return Err(unsupported_media_type(
                "send the file as CSV with the header Content-Type: text/csv",
            ));
        }
        Body::from_request(req, state).await.map(|Body(b)| Csv(b))
    }
}

/// A JSON body (`application/json` or `application/*+json`) read into `T`: bytes
/// that are not JSON are a 400; JSON that does not fit `T` (a wrong type, a missing
/// or unknown field) or holds a control character is a 422.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let json = media_type(req.headers()).is_some_and(|t| {
            t == "application/json" || (t.starts_with("application/") && t.ends_with("+json"))
        });
        if !json {
            return Err(unsupported_media_type(
                "send the body as JSON with the header Content-Type: application/json",
            ));
        }
        let bytes = read_body(req, state, "").await?;
        let value = match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => value,
            Err(rejection) => match with_whole_numbers(&bytes) {
                Some(Ok(value)) => value,
                Some(Err(e)) => return Err(Problem::invalid(e.to_string())),
                None => return Err(rejection.into()),
            },
        };
        if let Some(found) = control_character_in(&bytes) {
            return Err(Problem::invalid(format!(
                "the body holds the control character U+{found:04X} in a string; names, ids and text may not hold control characters"
            )));
        }
        Ok(Json(value))
    }
}

/// JSON has one kind of number, so `2.0` is the integer 2 (as JSON Schema counts
/// it): a body that failed to fit `T` is read again with every whole float made an
/// integer. Only the failing path pays for the second reading.
fn with_whole_numbers<T: DeserializeOwned>(json: &[u8]) -> Option<serde_json::Result<T>> {
    fn whole(value: &mut serde_json::Value) -> bool {
        match value {
            serde_json::Value::Number(n) if !n.is_i64() && !n.is_u64() => {
                let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15) else {
                    return false;
                };
                *value = serde_json::Value::from(f as i64);
                true
            }
            serde_json::Value::Array(items) => {
                items.iter_mut().fold(false, |any, v| whole(v) | any)
            }
            serde_json::Value::Object(fields) => {
                fields.values_mut().fold(false, |any, v| whole(v) | any)
            }
            _ => false,
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(json).ok()?;
    if !whole(&mut value) {
        return None;
    }
    Some(serde_json::from_value(value))
}

/// The first control character a JSON text's strings hold, raw or escaped, other than
/// tab, line feed and carriage return: C0, DEL and C1.
fn control_character_in(json: &[u8]) -> Option<u32> {
    let refused =
        |c: u32| (c < 0x20 && !matches!(c, 0x09 | 0x0A | 0x0D)) || (0x7F..=0x9F).contains(&c);
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            // A raw byte below 0x80 is the character itself; above, UTF-8 is checked
            // as C1 below.
            b if b < 0x80 && refused(u32::from(b)) => return Some(u32::from(b)),
            // C1 controls in UTF-8: U+0080 to U+009F are C2 80 to C2 9F.
            0xC2 if json.get(i + 1).is_some_and(|b| (0x80..=0x9F).contains(b)) => {
                return Some(u32::from(json[i + 1]));
            }
            b'\\' => match json.get(i + 1) {
                Some(b'b') => return Some(0x08),
                Some(b'f') => return Some(0x0C),
                Some(b'u') => {
                    let code = json
                        .get(i + 2..i + 6)
                        .and_then(|hex| std::str::from_utf8(hex).ok())
                        .and_then(|hex| u32::from_str_radix(hex, 16).ok());
                    if let Some(code) = code.filter(|&c| refused(c)) {
                        return Some(code);
                    }
                    i += 6;
                    continue;
                }
                _ => {
                    i += 2;
                    continue;
                }
            },
            _ => {}
        }
        i += 1;
    }
    None
}

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Problem))]
pub struct Path<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Problem))]
pub struct Query<T>(pub T);

#[cfg(test)]
mod tests {
    use super::{control_character_in, with_whole_numbers};

    #[test]
    fn whole_floats_are_integers_and_fractions_are_not() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Line {
            quantity: u32,
        }
        let read = |json: &[u8]| with_whole_numbers::<Vec<Line>>(json).map(|r| r.ok());
        assert_eq!(
            read(br#"[{"quantity": 2.0}, {"quantity": 3}]"#),
            Some(Some(vec![Line { quantity: 2 }, Line { quantity: 3 }]))
        );
        assert_eq!(read(br#"[{"quantity": 2.5}]"#), None, "not whole");
        assert_eq!(read(br#"[{"quantity": 1e300}]"#), None, "too large");
        assert_eq!(
            read(br#"[{"quantity": -1.0}]"#),
            Some(None),
            "whole, but not a u32"
        );
    }

    #[test]
    fn control_characters_are_found_raw_or_escaped() {
        for (json, found) in [
            (r#"{"name": "Mi Home"}"#, None),
            (r#"{"note": "two\nlines\tand\r\n"}"#, None),
            (r#"{"name": "Mi\u0000Home"}"#, Some(0)),
            (r#"{"name": "Mi\u001bHome"}"#, Some(0x1B)),
            (r#"{"name": "Mi\u007FHome"}"#, Some(0x7F)),
            (r#"{"name": "Mi\u0085Home"}"#, Some(0x85)),
            (r#"{"name": "Mi\bHome"}"#, Some(0x08)),
            (r#"{"name": "a backslash, then u0000: \\u0000"}"#, None),
            (r#"{"name": "Mi\u00e9Home ₹"}"#, None),
            ("{\"name\": \"Mi\u{85}Home\"}", Some(0x85)),
            ("{\"name\": \"Mi\u{7f}Home\"}", Some(0x7F)),
        ] {
            assert_eq!(control_character_in(json.as_bytes()), found, "{json}");
        }
    }
}
