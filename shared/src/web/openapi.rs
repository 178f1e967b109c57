//! The OpenAPI 3.1 document of the JSON API, served at `GET /api/openapi.json`. Written by hand (serde_json) rather
//! than generated: shared/tests/api_openapi.rs reads the routes from the router itself and fails when a route is
//! missing here, or documented here but not routed, so the document cannot drift from the app.

use axum::Json;
use serde_json::{Value, json};

/// `GET /api/openapi.json` (no sign-in: it describes the API, it holds no data).
pub async fn openapi_json() -> Json<Value> {
    Json(document())
}

fn id_param(what: &str) -> Value {
    json!({"name": "id", "in": "path", "required": true, "description": what, "schema": {"type": "string", "format": "uuid"}})
}

fn cursor_param() -> Value {
    json!({"name": "cursor", "in": "query", "required": false, "description": "The \"next\" of the previous page",
        "schema": {"type": "string"}})
}

fn page_param() -> Value {
    json!({"name": "page", "in": "query", "required": false,
        "description": "From 1 (the default); a page past the end answers the last page", "schema": {"type": "integer", "minimum": 1}})
}

/// The paging fields of a review list's page, beside its `entries`.
fn paged(properties: Value) -> Value {
    let mut properties = properties;
    for (name, description) in [
        ("page", "This page's number"),
        ("pages", "Pages in the list (at least 1)"),
        ("page_size", "Entries per page (50)"),
        ("total", "Entries on every page"),
    ] {
        properties[name] = json!({"type": "integer", "description": description});
    }
    json!({"type": "object", "properties": properties})
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn json_response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

/// An operation with the errors every signed-in route can answer, plus `extra` (status → response).
fn op(tag: &str, summary: &str, params: Vec<Value>, ok: Value, extra: &[(&str, &str)], body: Option<Value>) -> Value {
    let mut responses = serde_json::Map::new();
    responses.insert("200".into(), ok);
    responses.insert("401".into(), error_response("No valid bearer token"));
    responses.insert("403".into(), error_response("Not allowed for this user or team"));
    for (status, description) in extra {
        responses.insert((*status).into(), error_response(description));
    }
    let mut operation = json!({
        "tags": [tag],
        "summary": summary,
        "security": [{"bearer": []}],
        "parameters": params,
        "responses": responses,
    });
    if let Some(schema) = body {
        operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": schema}}});
    }
    operation
}

fn object() -> Value {
    json!({"type": "object"})
}

fn decision(values: &[&str]) -> Value {
    json!({"type": "object", "required": ["decision"], "properties": {"decision": {"type": "string", "enum": values}}})
}

/// `operation` answering `status` on success instead of 200.
fn with_status(mut operation: Value, status: &str) -> Value {
    let responses = operation["responses"].as_object_mut().expect("responses");
    if let Some(ok) = responses.remove("200") {
        responses.insert(status.into(), ok);
    }
    operation
}

fn vaccination_input() -> Value {
    let text = json!({"type": "string"});
    json!({"type": "object", "properties": {
        "patient_id": {"type": "string", "format": "uuid"}, "programme": text, "vaccine": text,
        "date": {"type": "string", "format": "date"}, "time": text, "batch": text,
        "batch_expiry": {"type": "string", "format": "date"}, "site": text, "dose_sequence": text,
        "performer_email": text, "notify_parents": {"type": "boolean"}
    }})
}

pub fn document() -> Value {
    let not_found: (&str, &str) = ("404", "Not found, or another team's");
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Mavis record imports",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Record imports, import issues, school moves and important notices of a school-age \
                immunisation team. Every route is scoped to the signed-in user's team: another team's resource \
                answers 404."
        },
        "paths": {
            "/api/openapi.json": {"get": {
                "tags": ["meta"], "summary": "This document",
                "responses": {"200": json_response("The OpenAPI document", object())}
            }},
            "/api/imports": {
                "get": op("imports", "The team's imports, newest first, a page at a time",
                    vec![json!({"name": "cursor", "in": "query", "required": false, "schema": {"type": "string"}})],
                    json_response("A page of imports", json!({"type": "object", "properties": {
                        "total": {"type": "integer", "description": "All the team's imports, on every page"},
                        "imports": {"type": "array", "items": object()},
                        "next": {"type": ["string", "null"], "description": "The cursor of the next page"}
                    }})), &[("400", "Bad cursor")], None),
                "post": op("imports", "Record an import and get the upload instructions", vec![],
                    json_response("The import and where to upload the file", object()),
                    &[("400", "Malformed request"), ("422", "A field cannot be used")],
                    Some(json!({"type": "object", "required": ["kind"], "properties": {
                        "kind": {"type": "string", "enum": ["child-records", "class-list", "vaccination-records"]},
                        "filename": {"type": "string"},
                        "school_urn": {"type": "string"},
                        "year_groups": {"type": "array", "items": {"type": "integer"}},
                        "size_bytes": {"type": "integer", "minimum": 1,
                            "description": "The file's size: checked against the upload limit (422 over it) and signed into the upload URL, so that the store refuses a body of another size"}
                    }}))),
            },
            "/api/imports/{id}": {"get": op("imports", "One import: status, counts, errors", vec![id_param("Import id")],
                json_response("The import", json!({"type": "object", "properties": {
                    "status": {"type": "string"}, "status_tag": {"type": "string"},
                    "progress": {"type": ["object", "null"], "properties": {
                        "phase": {"type": "string", "enum": ["checking", "pds", "importing"]},
                        "done": {"type": "integer"}, "total": {"type": "integer"},
                        "text": {"type": "string", "description": "\"12 of 30 rows checked\", as the pages show it"}
                    }},
                    "errors_summary": {"type": ["string", "null"]},
                    "uploaded_by_name": {"type": ["string", "null"], "description": "\"USER, Test\""},
                    "pds_match": {"type": ["object", "null"], "properties": {
                        "rate": {"type": "number"}, "matched": {"type": "integer"},
                        "unmatched": {"type": "array", "items": object()}
                    }}
                }})), &[not_found], None)},
            "/api/imports/{id}/errors.csv": {"get": {
                "tags": ["imports"], "summary": "The import's errors as CSV (row, column, message) for fixing the file",
                "security": [{"bearer": []}],
                "parameters": [id_param("Import id")],
                "responses": {
                    "200": {"description": "import-{id}-errors.csv; cells a spreadsheet would run as a formula start with '",
                        "content": {"text/csv": {"schema": {"type": "string"}}}},
                    "401": error_response("No valid bearer token"),
                    "404": error_response("No such import in the team")
                }
            }},
            "/api/imports/{id}/patients": {"get": op("imports", "The patients an import created or updated, 100 a page",
                vec![id_param("Import id"), cursor_param()],
                json_response("A page of the import's patients", json!({"type": "object", "properties": {
                    "total": {"type": "integer"}, "patients": {"type": "array", "items": object()},
                    "next": {"type": ["string", "null"]}
                }})), &[not_found, ("400", "Bad cursor")], None)},
            "/api/imports/{id}/vaccination-records": {"get": op("imports",
                "The vaccination records a vaccination import created or updated, 100 a page",
                vec![id_param("Import id"), cursor_param()],
                json_response("A page of the import's vaccination records", json!({"type": "object",
                    "properties": {"total": {"type": "integer"}, "next": {"type": ["string", "null"]},
                    "vaccination_records": {"type": "array", "items": {"type": "object", "properties": {
                        "id": {"type": "string", "format": "uuid"}, "patient_id": {"type": "string", "format": "uuid"},
                        "name": {"type": "string"}, "nhs_number": {"type": ["string", "null"]},
                        "date_of_birth": {"type": ["string", "null"], "format": "date"},
                        "performed_at": {"type": "string", "format": "date-time"}
                    }}}}})), &[not_found, ("400", "Bad cursor")], None)},
            "/api/issues": {"get": op("issues", "The team's import issues (records with pending changes), 50 a page",
                vec![page_param()],
                json_response("Issues", {
                    let item = json!({"type": "object", "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "type": {"type": "string", "enum": ["patient", "vaccination_record"]},
                        "patient_id": {"type": "string", "format": "uuid"},
                        "name": {"type": "string", "description": "\"CLARKE, Jennifer\""},
                        "nhs_number": {"type": ["string", "null"]},
                        "issue": {"type": "string"},
                        "import_id": {"type": ["string", "null"], "format": "uuid",
                            "description": "The import whose row raised the issue"}
                    }});
                    paged(json!({"summary": {"type": "string"}, "count": {"type": "integer"},
                        "issues": {"type": "array", "items": item}}))
                }), &[("400", "The page is not a number")], None)},
            "/api/issues/{id}": {"get": op("issues",
                "Uploaded and existing record side by side, changed fields marked (no address for sensitive records)",
                vec![id_param("Patient or vaccination record id")],
                json_response("The comparison", json!({"type": "object", "properties": {
                    "heading": {"type": "string"}, "caption": {"type": "string"}, "issue": {"type": "string"},
                    "uploaded": object(), "existing": object(),
                    "changed": {"type": "array", "items": {"type": "string"}},
                    "decisions": {"type": "array", "items": {"type": "string"}},
                    "restriction": {"type": "string"},
                    "existing_archived": {"type": "boolean",
                        "description": "The existing vaccination record is archived (\"Archived record\")"}
                }})), &[not_found], None)},
            "/api/issues/{id}/resolve": {"post": op("issues", "Resolve an import issue",
                vec![id_param("Patient or vaccination record id")],
                json_response("Record updated", object()),
                &[not_found, ("400", "Malformed request"), ("409", "Someone else resolved it first"),
                  ("422", "Decision not allowed here (the reason is given)")],
                Some(decision(&["use-uploaded", "keep-existing", "keep-both"])))},
            "/api/school-moves": {"get": op("school moves", "The school moves the team reviews, 50 a page",
                vec![page_param()],
                json_response("School moves", paged(json!({"summary": {"type": "string"}, "count": {"type": "integer"},
                    "school_moves": {"type": "array", "items": object()}}))),
                &[("400", "The page is not a number")], None)},
            "/api/school-moves/export.csv": {"get": {
                "tags": ["school moves"], "summary": "Confirmed school moves as CSV, optionally between two dates",
                "security": [{"bearer": []}],
                "parameters": [
                    {"name": "from", "in": "query", "required": false, "schema": {"type": "string", "format": "date"}},
                    {"name": "to", "in": "query", "required": false, "schema": {"type": "string", "format": "date"}}
                ],
                "responses": {
                    "200": {"description": "school_moves_export[_from][_to_to].csv",
                        "content": {"text/csv": {"schema": {"type": "string"}}}},
                    "401": error_response("No valid bearer token"),
                    "403": error_response("Not a point-of-care team"),
                    "422": error_response("A date is not YYYY-MM-DD")
                }
            }},
            "/api/school-moves/{id}": {
                "get": op("school moves", "Review data of a school move", vec![id_param("Patient id")],
                    json_response("The move, the child as is and with the new school", object()), &[not_found], None),
                "post": op("school moves", "Confirm or ignore a school move", vec![id_param("Patient id")],
                    json_response("Decided", object()),
                    &[not_found, ("400", "Malformed request"), ("409", "Someone else decided it first")],
                    Some(decision(&["confirm", "ignore"]))),
            },
            "/api/notices": {"get": op("notices", "The team's active important notices (super admins only), 50 a page",
                vec![page_param()],
                json_response("Notices, newest first", paged(json!({"notices": {
                    "type": "array", "items": {"type": "object", "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "type": {"type": "string",
                            "enum": ["deceased", "invalidated", "restricted", "gillick_no_notify", "team_changed"]},
                        "patient_id": {"type": "string", "format": "uuid"},
                        "patient_name": {"type": ["string", "null"], "description": "The child's name; no address or contacts"},
                        "message": {"type": "string"},
                        "recorded_at": {"type": "string", "format": "date-time"}
                    }}}}))), &[("400", "The page is not a number")], None)},
            "/api/notices/count": {"get": op("notices", "How many active important notices the team has", vec![],
                json_response("The count and banner text", object()), &[], None)},
            "/api/notices/{id}/dismiss": {"post": op("notices", "Dismiss the team's copy of a notice",
                vec![id_param("Notice id")], json_response("The dismissed notice", object()),
                &[not_found, ("422", "Invalidated notices cannot be dismissed")], None)},
            "/api/patients/{id}": {"get": op("patients",
                "A child's record with its vaccinations and each one's Immunisations API sync status \
                 (no address or contact details for sensitive records)",
                vec![id_param("Patient id")], json_response("The child record", json!({"type": "object", "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "name": {"type": "string", "description": "\"CLARKE, Jennifer\""},
                    "nhs_number": {"type": ["string", "null"]},
                    "address": {"type": ["object", "null"], "description": "null for sensitive records"},
                    "restricted": {"type": "boolean"}, "invalidated": {"type": "boolean"},
                    "notices": {"type": "array", "items": {"type": "string"},
                        "description": "The record's status banners from the team's notices"},
                    "vaccinations": {"type": "array", "items": object()}
                }})), &[not_found], None)},
            "/api/vaccination-records": {"post": with_status(op("vaccinations",
                "Record a vaccination given by the team (validated as an offline-recording row); it then syncs",
                vec![], json_response("The record with its sync status", object()),
                &[("400", "Malformed request"), ("404", "No such child in this team"),
                  ("422", "A field is not valid (the field and the message are given)")],
                Some(vaccination_input())), "201")},
            "/api/vaccination-records/{id}": {
                "patch": op("vaccinations", "Edit a vaccination the team recorded; the change syncs as an update",
                    vec![id_param("Vaccination record id")], json_response("The record with its sync status", object()),
                    &[not_found, ("400", "Malformed request"), ("422", "A field is not valid, or the record changed")],
                    Some(vaccination_input())),
                "delete": with_status(op("vaccinations", "Discard a vaccination record; it is deleted from the API",
                    vec![id_param("Vaccination record id")], json!({"description": "Discarded"}),
                    &[not_found], None), "204"),
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {"Error": {"type": "object", "required": ["error"], "properties": {
                "error": {"type": "string"}, "field": {"type": "string"}
            }}}
        }
    })
}
