//! The schemas of the bodies the service answers and takes
//! (`components/schemas`). Each says what a client may rely on: the members
//! always present (`required`), their types and ranges, and where `null`
//! is an answer (OpenAPI 3.0 `nullable`). Members the server may add later
//! are allowed (no `additionalProperties: false` on answers); request
//! bodies the server reads strictly say so.

use serde_json::{json, Value};

fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn array(items: Value) -> Value {
    json!({"type": "array", "items": items})
}

fn string() -> Value {
    json!({"type": "string"})
}

fn strings() -> Value {
    array(string())
}

fn count() -> Value {
    json!({"type": "integer", "minimum": 0})
}

fn nullable(mut v: Value) -> Value {
    v["nullable"] = json!(true);
    v
}

/// `[minx, miny, maxx, maxy]` in degrees.
fn bbox() -> Value {
    json!({"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4})
}

/// An object with these members, all required.
fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "required": required, "properties": properties})
}

fn answers() -> Value {
    let link = object(
        &["href", "rel"],
        json!({"href": string(), "rel": string(), "type": string(), "title": string(), "hreflang": string()}),
    );
    let links = array(r("Link"));
    let geometry = nullable(object(
        &["type"],
        json!({
            "type": {"type": "string", "enum": ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"]},
            "coordinates": {"type": "array"},
            "geometries": {"type": "array"},
        }),
    ));
    let feature = object(
        &["type", "geometry", "properties"],
        json!({
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "geometry": r("Geometry"),
            "properties": nullable(json!({"type": "object"})),
            "links": links,
            "status": {"type": "object", "description": "live status of a facility: crowd, fill levels per category, state"},
        }),
    );
    let feature_collection = object(
        &["type", "features"],
        json!({
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": array(r("Feature")),
            "numberMatched": count(),
            "numberReturned": count(),
            "timeStamp": {"type": "string", "format": "date-time"},
            "links": links,
        }),
    );
    let nearest_feature = json!({"allOf": [r("Feature"), object(&["properties"], json!({
        "properties": object(&["distance_m", "bearing_deg", "layer", "accepts", "open_now", "next_change"], json!({
            "distance_m": {"type": "number", "minimum": 0},
            "bearing_deg": {"type": "number", "minimum": 0, "maximum": 360},
            "layer": string(),
            "accepts": strings(),
            "open_now": nullable(json!({"type": "boolean"})),
            "next_change": nullable(string()),
        })),
    }))]});
    let nearest = object(
        &["type", "features", "numberReturned", "query"],
        json!({
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": array(nearest_feature),
            "numberReturned": count(),
            "query": object(&["lon", "lat", "k", "layers"], json!({
                "lon": {"type": "number"}, "lat": {"type": "number"}, "k": {"type": "integer", "minimum": 1},
                "layers": strings(), "accepts": strings(),
                "open": nullable(string()), "max_distance": nullable(json!({"type": "number"})), "type": nullable(string()),
            })),
        }),
    );
    let collection = object(
        &["id", "links"],
        json!({
            "id": string(), "title": string(), "description": string(),
            "itemType": {"type": "string", "enum": ["feature"]},
            "extent": {"type": "object", "properties": {"spatial": object(&["bbox"], json!({"bbox": array(bbox()), "crs": string()}))}},
            "crs": strings(), "storageCrs": string(), "links": links,
        }),
    );
    let layer = object(
        &["id", "title", "feature_count", "fields", "minzoom", "maxzoom", "tilejson", "tiles", "editable"],
        json!({
            "id": string(), "title": string(), "format": string(), "crs": nullable(string()),
            "geometry_types": strings(), "bounds": nullable(bbox()), "feature_count": count(),
            "fields": array(object(&["name", "type"], json!({"name": string(), "type": string()}))),
            "skipped": {"type": "object"},
            "minzoom": count(), "maxzoom": count(), "clustered": {"type": "boolean"},
            "timezone": string(), "waste_features": count(),
            "tilejson": string(), "tiles": string(), "editable": {"type": "boolean"},
            "edits": nullable(json!({"type": "object"})),
        }),
    );
    let change = object(
        &["seq", "at", "token", "op", "kind", "id", "before", "after"],
        json!({
            "seq": {"type": "integer", "minimum": 1}, "at": {"type": "string", "format": "date-time"},
            "token": string(), "op": {"type": "string", "enum": ["create", "replace", "update", "delete"]},
            "kind": {"type": "string", "enum": ["feature", "map", "table"]},
            "layer": nullable(string()), "id": string(),
            "before": nullable(json!({"type": "object"})), "after": nullable(json!({"type": "object"})),
        }),
    );
    let observation = object(
        &["kind", "value", "observed_at", "source", "layer", "feature", "seq"],
        json!({
            "kind": {"type": "string", "enum": ["fill_level", "crowd", "state"]},
            "category": string(), "value": {}, "until": {"type": "string", "format": "date-time"},
            "observed_at": {"type": "string", "format": "date-time"}, "source": string(),
            "layer": string(), "feature": string(), "seq": {"type": "integer", "minimum": 1},
        }),
    );
    let observations = object(
        &["observations", "numberReturned", "links"],
        json!({"observations": array(r("Observation")), "numberReturned": count(), "links": links}),
    );
    let buckets = object(
        &["interval", "buckets"],
        json!({
            "interval": string(), "from": nullable(string()), "to": nullable(string()),
            "buckets": array(object(&["start", "end", "kind", "count"], json!({
                "start": {"type": "string", "format": "date-time"}, "end": {"type": "string", "format": "date-time"},
                "kind": string(), "category": nullable(string()), "count": count(),
                "min": nullable(json!({"type": "number"})), "mean": nullable(json!({"type": "number"})), "max": nullable(json!({"type": "number"})),
            }))),
        }),
    );
    let hours = |items: Value| json!({"type": "array", "items": items, "minItems": 24, "maxItems": 24});
    let busy_hours = object(
        &["timezone", "days", "observations"],
        json!({
            "timezone": string(), "observations": count(),
            "days": {"type": "array", "minItems": 7, "maxItems": 7, "items": object(&["day", "mean", "count"], json!({
                "day": string(), "mean": hours(nullable(json!({"type": "number"}))), "count": hours(count()),
            }))},
        }),
    );
    let table = object(
        &["id", "name", "columns", "rows", "delimiter", "encoding", "preview"],
        json!({
            "id": string(), "name": string(), "columns": strings(), "rows": count(),
            "delimiter": string(), "encoding": string(), "preview": array(strings()),
        }),
    );
    let number = nullable(json!({"type": "number"}));
    let legend = object(
        &["title", "method", "classes", "no_data", "total"],
        json!({
            "title": string(), "unit": nullable(string()), "method": string(),
            "classes": array(object(&["class", "lower", "upper", "color", "count", "label"], json!({
                "class": count(), "lower": number, "upper": number, "color": string(), "count": count(), "label": string(),
            }))),
            "no_data": object(&["color", "count", "label"], json!({"color": string(), "count": count(), "label": string()})),
            "total": count(),
        }),
    );
    let map = object(
        &["id", "title", "definition", "layer", "classes", "legend", "join", "no_data", "warnings", "links"],
        json!({
            "id": string(), "title": string(), "definition": {"type": "object"}, "layer": string(),
            "bounds": nullable(bbox()),
            "classes": object(&["method", "breaks", "counts", "no_data", "colors"], json!({
                "method": string(), "min": number, "breaks": array(json!({"type": "number"})),
                "counts": array(count()), "no_data": count(), "colors": strings(),
            })),
            "legend": r("Legend"),
            "join": nullable(object(&["table", "rows", "features", "matched"], json!({
                "table": string(), "rows": count(), "features": count(), "matched": count(),
                "unmatched_features": strings(), "unmatched_rows": {"type": "array"}, "duplicate_keys": {"type": "array"},
            }))),
            "no_data": array(object(&["feature", "key", "label", "reason"], json!({
                "feature": count(), "key": string(), "label": string(), "reason": string(),
            }))),
            "warnings": strings(),
            "links": {"type": "object", "additionalProperties": string()},
        }),
    );
    json!({
        "Error": object(&["error"], json!({
            "error": string(),
            "parameter": {"type": "string", "description": "the parameter, header or body member at fault"},
            "known": {"type": "array", "items": string(), "description": "404: what exists instead"},
            "used_by": {"type": "array", "items": string(), "description": "409: what uses the resource"},
            "etag": {"type": "string", "description": "412: the current ETag"},
        })),
        "Link": link,
        "Geometry": geometry,
        "Feature": feature,
        "FeatureCollection": feature_collection,
        "Nearest": nearest,
        "Landing": object(&["links"], json!({"title": string(), "description": string(), "links": links})),
        "Conformance": object(&["conformsTo"], json!({"conformsTo": strings()})),
        "Collection": collection,
        "Collections": object(&["collections", "links"], json!({"collections": array(r("Collection")), "links": links})),
        "JsonSchema": object(&["$schema", "type", "properties"], json!({
            "$schema": string(), "$id": string(), "title": string(),
            "type": {"type": "string", "enum": ["object"]}, "properties": {"type": "object"},
        })),
        "Health": object(&["status"], json!({
            "status": {"type": "string", "enum": ["ok", "loading"]},
            "layers": count(), "failed": count(), "version": count(), "writes": {"type": "boolean"},
        })),
        "Catalog": object(&["layers", "failed", "version"], json!({
            "layers": array(layer),
            "failed": array(json!({"type": "object"})),
            "version": count(),
        })),
        "OpenApi": object(&["openapi", "info", "paths"], json!({"openapi": string(), "info": {"type": "object"}, "paths": {"type": "object"}})),
        "TileJson": object(&["tilejson", "tiles", "vector_layers"], json!({
            "tilejson": {"type": "string", "enum": ["3.0.0"]},
            "name": string(), "scheme": {"type": "string", "enum": ["xyz"]},
            "tiles": {"type": "array", "items": string(), "minItems": 1},
            "minzoom": {"type": "integer", "minimum": 0, "maximum": 30},
            "maxzoom": {"type": "integer", "minimum": 0, "maximum": 30},
            "bounds": bbox(),
            "center": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 3},
            "vector_layers": array(object(&["id", "fields"], json!({
                "id": string(), "description": string(),
                "fields": {"type": "object", "additionalProperties": string()},
                "minzoom": count(), "maxzoom": count(),
            }))),
            "attribution": string(),
        })),
        "Style": object(&["version", "sources", "layers"], json!({
            "version": {"type": "integer", "enum": [8]}, "name": string(), "metadata": {"type": "object"},
            "sources": {"type": "object"},
            "layers": array(object(&["id", "type"], json!({"id": string(), "type": string()}))),
            "glyphs": string(),
        })),
        "WasteCategories": object(&["categories"], json!({
            "query": string(),
            "categories": array(object(&["id", "fr", "en", "color", "keys"], json!({
                "id": string(), "fr": string(), "en": string(), "color": string(), "keys": strings(),
                "synonyms": strings(), "matched": string(),
            }))),
            "suggestions": strings(),
        })),
        "Fonts": object(&["fonts", "glyphs"], json!({"fonts": strings(), "glyphs": string()})),
        "Changes": object(&["changes", "links"], json!({"changes": array(change), "links": links})),
        "Observation": observation,
        "Observations": observations,
        "ObservationsOrBuckets": {"oneOf": [r("Observations"), buckets]},
        "BusyHours": busy_hours,
        "ObservationPosted": object(&["observation", "duplicate", "status"], json!({
            "observation": r("Observation"), "duplicate": {"type": "boolean"}, "status": {"type": "object"},
        })),
        "BatchResult": object(&["stored", "duplicates", "refused", "results"], json!({
            "stored": count(), "duplicates": count(), "refused": count(),
            "results": array(object(&["index", "status"], json!({
                "index": count(), "status": {"type": "integer", "minimum": 200, "maximum": 599},
                "seq": {"type": "integer", "minimum": 1}, "error": string(), "parameter": string(),
            }))),
        })),
        "MapList": object(&["maps", "tables", "failed", "methods", "palettes"], json!({
            "maps": array(object(&["id", "title", "layer", "links"], json!({
                "id": string(), "title": string(), "layer": string(),
                "links": {"type": "object", "additionalProperties": string()},
            }))),
            "tables": array(r("Table")),
            "failed": array(json!({"type": "object"})),
            "methods": strings(),
            "palettes": array(object(&["name", "kind"], json!({"name": string(), "kind": string()}))),
        })),
        "Map": map,
        "Legend": legend,
        "MapFeatures": object(&["type", "features"], json!({
            "type": {"type": "string", "enum": ["FeatureCollection"]}, "name": string(),
            "legend": {"type": "array"}, "unit": nullable(string()),
            "features": array(r("Feature")),
        })),
        "Table": table,
        "Tables": object(&["tables"], json!({"tables": array(r("Table"))})),
    })
}

/// Request bodies.
fn bodies() -> Value {
    let geometry_in = object(
        &["type"],
        json!({
            "type": {"type": "string", "enum": ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"]},
            "coordinates": {"type": "array"},
        }),
    );
    let observation = object(
        &["kind", "value", "observed_at", "source"],
        json!({
            "kind": {"type": "string", "enum": ["fill_level", "crowd", "state"]},
            "value": {"description": "fill_level and crowd: a number from 0 to 1; state: open, closed or full"},
            "category": string(),
            "until": {"type": "string", "format": "date-time"},
            "observed_at": {"type": "string", "format": "date-time"},
            "source": {"type": "string", "minLength": 1, "maxLength": 200},
        }),
    );
    let id = json!({"type": "string", "pattern": super::ID_PATTERN});
    let mut definition = object(
        &["title", "layer", "value"],
        json!({
            "id": id,
            "title": string(),
            "layer": {"type": "string", "description": "the polygon layer"},
            "join": {"type": "object", "required": ["table", "key", "field"], "additionalProperties": false,
                "properties": {"table": string(), "key": string(), "field": string()}},
            "value": {"type": "object", "additionalProperties": false, "description": "exactly one of field, count, sum, mean, distance",
                "properties": {"field": string(), "count": string(), "sum": string(), "mean": string(), "distance": string(), "property": string(), "accepts": string()}},
            "ratio": {"type": "object", "required": ["per"], "additionalProperties": false,
                "properties": {"per": string(), "scale": {"type": "number"}}},
            "method": {"type": "string", "enum": tuilerie_geo::thematic::Method::ALL, "default": "quantile"},
            "classes": {"type": "integer", "minimum": tuilerie_geo::thematic::classify::MIN_CLASSES, "maximum": tuilerie_geo::thematic::classify::MAX_CLASSES, "default": 5},
            "breaks": array(json!({"type": "number"})),
            "palette": {"type": "string", "enum": tuilerie_geo::thematic::palette::names().into_iter().map(|(n, _)| n).collect::<Vec<_>>(), "default": "YlOrRd"},
            "reverse": {"type": "boolean", "default": false},
            "label_field": nullable(string()),
            "unit": nullable(string()),
            "source": nullable(string()),
        }),
    );
    definition["additionalProperties"] = json!(false);
    json!({
        "GeometryInput": geometry_in,
        "FeatureInput": object(&["type", "geometry"], json!({
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "geometry": r("GeometryInput"),
            "properties": nullable(json!({"type": "object"})),
        })),
        "MergePatch": {"type": "object", "properties": {
            "geometry": r("GeometryInput"),
            "properties": nullable(json!({"type": "object"})),
        }},
        "ObservationInput": observation,
        "ObservationBatch": {"type": "array", "minItems": 1, "maxItems": 10000,
            "description": "each member is checked on its own and answered in the results (layer and feature required)",
            "items": {"type": "object"}},
        "MapDefinition": definition,
    })
}

/// Every schema of the document.
pub fn all() -> Value {
    let mut all = answers();
    if let (Some(a), Value::Object(b)) = (all.as_object_mut(), bodies()) {
        a.extend(b);
    }
    all
}
