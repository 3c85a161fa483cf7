//! The OpenAPI document: served without a token, generated from the
//! handlers, and naming exactly the routes the router answers.

use crate::common;

use std::collections::BTreeSet;

use axum::http::Method;
use common::*;
use serde_json::Value;

/// Every route the router serves (method, path).
const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/query"),
    ("get", "/api/v1/findings"),
    ("get", "/api/v1/findings/{id}"),
    ("get", "/api/v1/apps/discovered"),
    ("get", "/api/v1/users/{user}"),
    ("get", "/api/v1/reports/explanations"),
    ("get", "/api/v1/tables"),
    ("get", "/api/v1/admin/tokens"),
    ("get", "/api/v1/openapi.json"),
];

fn document() -> Value {
    serde_json::to_value(floodlight_server::openapi()).expect("document")
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if ["get", "post", "put", "delete", "patch", "head", "options"].contains(&method.as_str()) {
                out.push((method.clone(), path.clone(), op.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_document_is_served_without_a_token() {
    let t = api().await;
    let a = call(&t.app, Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("application/json"));
    let served = a.json();
    assert_eq!(served, document());
    assert!(served["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{}", served["openapi"]);
    assert_eq!(served["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
}

#[tokio::test]
async fn the_document_lists_every_route_the_router_serves() {
    let doc = document();
    let documented: BTreeSet<(String, String)> = operations(&doc).into_iter().map(|(m, p, _)| (m, p)).collect();
    let expected: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(documented, expected);

    // And each documented operation is served: never the fallback's 404 or a 405.
    let t = api().await;
    for (method, path, _) in operations(&doc) {
        let uri = path.replace("{id}", "f-01").replace("{user}", "alice");
        let method: Method = method.to_uppercase().parse().expect("method");
        let body = (method == Method::POST).then(|| serde_json::json!({ "sql": "SELECT 1" }));
        let a = call(&t.app, method.clone(), &uri, Some(ADMIN_TOKEN), body).await;
        assert_eq!(a.status, 200, "{method} {uri}: {}", String::from_utf8_lossy(&a.body));
    }
}

#[test]
fn every_operation_documents_its_errors_with_the_error_body() {
    let doc = document();
    for (method, path, op) in operations(&doc) {
        let responses = op["responses"].as_object().expect("responses");
        let secured = op["security"].as_array().is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
        assert_eq!(secured, path != "/api/v1/openapi.json", "{method} {path} security: {}", op["security"]);
        if secured {
            let unauthorized = &responses["401"];
            assert!(unauthorized["headers"]["WWW-Authenticate"].is_object(), "{method} {path}");
        }
        for (status, response) in responses {
            if status.starts_with('2') {
                continue;
            }
            let schema = &response["content"]["application/json"]["schema"]["$ref"];
            assert_eq!(schema, "#/components/schemas/ErrorBody", "{method} {path} {status}");
        }
    }
    let admin = &doc["paths"]["/api/v1/admin/tokens"]["get"]["responses"];
    assert!(admin["403"].is_object());
    let query = &doc["paths"]["/api/v1/query"]["post"]["responses"];
    for status in ["200", "400", "401", "408", "413", "500", "503", "507"] {
        assert!(query[status].is_object(), "query {status}");
    }
    let content = query["200"]["content"].as_object().expect("content");
    let types: BTreeSet<&str> = content.keys().map(String::as_str).collect();
    assert_eq!(types, BTreeSet::from(["application/json", "text/csv", "application/vnd.apache.arrow.stream"]));
    assert!(query["200"]["headers"]["X-Floodlight-Truncated"].is_object());

    let request = &doc["components"]["schemas"]["QueryRequest"];
    assert_eq!(request["additionalProperties"], false, "{request}");
    assert_eq!(request["required"], serde_json::json!(["sql"]));
    let limit = doc["paths"]["/api/v1/findings"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .find(|p| p["name"] == "limit")
        .cloned()
        .expect("limit");
    assert_eq!((limit["schema"]["minimum"].as_u64(), limit["schema"]["maximum"].as_u64()), (Some(1), Some(500)));
}
