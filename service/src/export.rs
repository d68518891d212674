//! The wasi:http glue: read the request, call `handle`, write the response.

use crate::request::{BodyError, MAX_BODY_BYTES, handle};
use std::io::{Read as _, Write as _};
use wasip2::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

wasip2::http::proxy::export!(Service);

struct Service;

impl wasip2::exports::http::incoming_handler::Guest for Service {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let method = match request.method() {
            Method::Get => "GET".to_string(),
            Method::Post => "POST".to_string(),
            Method::Put => "PUT".to_string(),
            Method::Delete => "DELETE".to_string(),
            Method::Head => "HEAD".to_string(),
            Method::Options => "OPTIONS".to_string(),
            Method::Patch => "PATCH".to_string(),
            Method::Connect => "CONNECT".to_string(),
            Method::Trace => "TRACE".to_string(),
            Method::Other(other) => other,
        };
        let path = request.path_with_query().unwrap_or_else(|| "/".to_string());
        let body = if method == "POST" {
            read_body(&request)
        } else {
            Ok(Vec::new())
        };
        let content_type = request.headers().get("content-type").first().cloned();
        let content_type = content_type.and_then(|t| String::from_utf8(t).ok());
        let response = handle(&method, &path, content_type.as_deref(), body);
        let headers = Fields::new();
        let mut pairs = vec![
            ("content-type", response.content_type.to_string()),
            ("content-length", response.body.len().to_string()),
        ];
        pairs.extend(response.headers.iter().map(|(k, v)| (*k, v.clone())));
        for (name, value) in pairs {
            // Only fixed, valid header names and values reach here.
            let _ = headers.append(name, value.as_bytes());
        }
        let outgoing = OutgoingResponse::new(headers);
        let _ = outgoing.set_status_code(response.status);
        let Ok(body) = outgoing.body() else { return };
        ResponseOutparam::set(response_out, Ok(outgoing));
        if let Ok(mut stream) = body.write() {
            // The output stream accepts at most 4096 bytes per blocking write.
            for chunk in response.body.chunks(4096) {
                if stream.write_all(chunk).is_err() {
                    return;
                }
            }
            let _ = stream.flush();
        }
        let _ = OutgoingBody::finish(body, None);
    }
}

/// The request body, refused early when its declared length is over the limit.
fn read_body(request: &IncomingRequest) -> Result<Vec<u8>, BodyError> {
    let declared = request
        .headers()
        .get("content-length")
        .first()
        .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(BodyError::TooLarge);
    }
    let incoming = request
        .consume()
        .map_err(|()| BodyError::Broken("the body was already taken".into()))?;
    let mut bytes = Vec::new();
    {
        let stream = incoming
            .stream()
            .map_err(|()| BodyError::Broken("no body stream".into()))?;
        let mut limited = stream.take(MAX_BODY_BYTES as u64 + 1);
        limited
            .read_to_end(&mut bytes)
            .map_err(|e| BodyError::Broken(e.to_string()))?;
    }
    if bytes.len() > MAX_BODY_BYTES {
        return Err(BodyError::TooLarge);
    }
    Ok(bytes)
}
