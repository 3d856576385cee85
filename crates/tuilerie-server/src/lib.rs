//! tuilerie-server: the HTTP service over `tuilerie-geo`.
//!
//! [`app`] builds the router from an [`AppState`], so tests call it with
//! `tower::ServiceExt::oneshot` without a socket; `main.rs` binds it.
#![forbid(unsafe_code)]

pub mod admit;
pub mod auth;
pub mod cache;
pub mod config;
pub mod cors;
pub mod edits;
pub mod error;
pub mod export;
pub mod glyphs;
pub mod heavy;
pub mod inspect;
pub mod limits;
pub mod loading;
pub mod maps;
pub mod metrics;
pub mod reload;
pub mod routes;
pub mod serve;
pub mod snapshots;
pub mod state;
pub mod status;
pub mod store;

pub use state::{AppState, ServerOptions};

use admit::{Admit, AdmitFuture};
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Request};
use axum::middleware;
use axum::response::Response;
use axum::routing::future::RouteFuture;
use axum::routing::{get, MethodRouter};
use axum::Router;
use cors::{Cors, CorsFuture, CorsLayer, CorsPolicy};
use std::convert::Infallible;
use std::sync::OnceLock;
use std::task::{Context, Poll};

/// The service's routes with CORS for `cors_origins`
/// (`["*"]` allows any origin).
pub fn app_with_cors(state: AppState, cors_origins: &[String]) -> App {
    app_with_policy(state, CorsPolicy::new(cors_origins))
}

/// The service's routes with a CORS policy (read and write origins).
pub fn app_with_policy(state: AppState, policy: CorsPolicy) -> App {
    let stack = tower::ServiceBuilder::new()
        .layer(metrics::TrackLayer::new(route_template))
        .layer(CorsLayer::new(policy))
        .layer(admit::AdmitLayer::new(state.clone()))
        .service(routes_service(state));
    App(stack)
}

/// The router of every route and the fast path of `/nearest`.
fn routes_service(state: AppState) -> Routes {
    let mut router = Router::new();
    for (path, handler) in routes() {
        // Tiles are served by the fallback: see routes::tiles::fallback.
        if path == routes::tiles::ROUTE {
            continue;
        }
        let handler = if FORWARDED_URLS.contains(&path) {
            handler.layer(middleware::map_response(vary_forwarded))
        } else {
            handler
        };
        router = router.route(path, handler);
    }
    let router = router.fallback(routes::tiles::fallback).with_state(state.clone());
    let limit = DefaultBodyLimit::max(state.options.limits.max_body_bytes);
    Routes { router, limit, state }
}

/// The whole service: the router inside request tracking, CORS and
/// admission (outermost first), with the body limit of its extractors.
///
/// The layers wrap the router once, not each route as `Router::layer`
/// does: there every route's stack is boxed layer by layer, and each box
/// cloned on every request (15 allocations a request for four layers).
#[derive(Clone)]
pub struct App(metrics::Track<Cors<Admit<Routes>>>);

impl<B> tower::Service<Request<B>> for App
where
    B: axum::body::HttpBody<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = metrics::TrackFuture<CorsFuture<AdmitFuture<RoutesFuture>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        tower::Service::<Request<Body>>::poll_ready(&mut self.0, cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        self.0.call(req.map(Body::new))
    }
}

/// The router, with the body limit its extractors apply, and `/nearest`
/// answered ahead of it.
#[derive(Clone)]
pub struct Routes {
    router: Router,
    limit: DefaultBodyLimit,
    state: AppState,
}

impl tower::Service<Request<Body>> for Routes {
    type Response = Response;
    type Error = Infallible;
    type Future = RoutesFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        if req.method() == Method::GET && req.uri().path() == "/nearest" {
            // The route's own answer, without the router's lookup, the
            // boxed route and handler future and the extractors (a HEAD
            // still goes through the router, which drops the body).
            let query = req.uri().query().unwrap_or("");
            let mut response = routes::nearest::answer(&self.state, query);
            // As axum's route future does (hyper would write the same).
            if let Some(n) = axum::body::HttpBody::size_hint(response.body()).exact() {
                response.headers_mut().entry(axum::http::header::CONTENT_LENGTH).or_insert_with(|| n.into());
            }
            return RoutesFuture::Ready(Some(response));
        }
        // Only a body extractor reads the limit, and no GET or HEAD route
        // extracts a body: those skip the extension (an allocation).
        if !matches!(*req.method(), Method::GET | Method::HEAD) {
            self.limit.apply(&mut req);
        }
        RoutesFuture::Route(self.router.call(req))
    }
}

/// The answer of [`Routes`]: given at once, or the router's.
pub enum RoutesFuture {
    Ready(Option<Response>),
    Route(RouteFuture<Infallible>),
}

impl std::future::Future for RoutesFuture {
    type Output = Result<Response, Infallible>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            RoutesFuture::Ready(r) => Poll::Ready(Ok(r.take().unwrap_or_default())),
            RoutesFuture::Route(f) => std::pin::Pin::new(f).poll(cx),
        }
    }
}

/// The template of the route `path` matches, as axum's `MatchedPath` gives
/// it (the same templates in the same matcher, `matchit`); `None` for the
/// fallback's paths (tiles and unknown paths).
pub fn route_template(path: &str) -> Option<&'static str> {
    /// The templates without parameters, sorted (a path equal to one of
    /// them is that route: matchit, as axum, prefers a static segment to a
    /// parameter), and the matcher of them all.
    struct Templates {
        fixed: Vec<&'static str>,
        all: matchit::Router<&'static str>,
    }
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    let templates = TEMPLATES.get_or_init(|| {
        let mut all = matchit::Router::new();
        let mut fixed = Vec::new();
        for (template, _) in routes() {
            if template != routes::tiles::ROUTE {
                // axum's router refuses the same conflicts at start.
                let _ = all.insert(template, template);
                if !template.contains('{') {
                    fixed.push(template);
                }
            }
        }
        fixed.sort_unstable();
        Templates { fixed, all }
    });
    // A binary search of the fixed paths first: matchit's walk and
    // unescaping cost 900 instructions a request.
    if let Ok(i) = templates.fixed.binary_search(&path) {
        return Some(templates.fixed[i]);
    }
    templates.all.at(path).ok().map(|m| *m.value)
}

/// Routes whose answers hold absolute URLs built from `X-Forwarded-Host` and
/// `X-Forwarded-Proto` (when no public URL is configured): a shared cache
/// must keep one copy per value of those headers.
const FORWARDED_URLS: &[&str] = &[
    "/collections/{id}/items/{fid}/observations",
    "/observations",
    "/",
    "/style.json",
    "/catalog",
    "/tiles/{layers}",
    "/collections",
    "/collections/{id}",
    "/collections/{id}/schema",
    "/collections/{id}/queryables",
    "/collections/{id}/feature-schema",
    "/collections/{id}/items",
    "/collections/{id}/items/{fid}",
    "/maps",
    "/maps/{id}",
    "/maps/{id}/style.json",
];

async fn vary_forwarded(mut r: axum::response::Response) -> axum::response::Response {
    r.headers_mut()
        .append(axum::http::header::VARY, axum::http::HeaderValue::from_static("X-Forwarded-Host, X-Forwarded-Proto"));
    r
}

/// Every route with its handler; documented one for one in
/// [`routes::openapi::ENDPOINTS`].
pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    use routes::*;
    vec![
        ("/", get(web::root)),
        ("/assets/{file}", get(web::asset)),
        ("/favicon.ico", get(web::favicon)),
        ("/style.json", get(style::get)),
        ("/health", get(health::health)),
        ("/metrics", get(routes::metrics::get)),
        ("/catalog", get(catalog::catalog)),
        ("/openapi.json", get(openapi::get)),
        ("/tiles/{layers}", get(tilejson::get)),
        (tiles::ROUTE, get(tiles::tile)),
        ("/waste-categories", get(waste::list)),
        ("/fonts", get(fonts::list)),
        ("/fonts/{fontstack}/{range}", get(fonts::range)),
        ("/nearest", get(nearest::get)),
        ("/conformance", get(ogc::conformance)),
        ("/collections", get(ogc::collections)),
        ("/collections/{id}", get(ogc::one_collection)),
        ("/collections/{id}/schema", get(schema::schema)),
        ("/collections/{id}/queryables", get(schema::queryables)),
        ("/collections/{id}/feature-schema", get(schema::feature_schema)),
        ("/collections/{id}/items", get(ogc::items).post(edit::create).options(edit::options_items)),
        (
            "/collections/{id}/items/{fid}",
            get(ogc::item).put(edit::replace).patch(edit::update).delete(edit::delete).options(edit::options_item),
        ),
        ("/collections/{id}/items/{fid}/history", get(edit::history)),
        ("/collections/{id}/changes.osc", get(osc::get)),
        ("/collections/{id}/items/{fid}/observations", get(status::history).post(status::post_one)),
        ("/collections/{id}/items/{fid}/busy-hours", get(status::busy_hours)),
        ("/observations", get(status::feed).post(status::post_batch)),
        ("/events", get(events::get)),
        ("/changes", get(edit::changes)),
        ("/maps", get(routes::maps::list).post(routes::maps::create)),
        ("/maps/{id}", get(routes::maps::get).delete(routes::maps::delete)),
        ("/maps/{id}/legend", get(routes::maps::get_legend)),
        ("/maps/{id}/style.json", get(routes::maps::style)),
        ("/maps/{id}/tiles/{z}/{x}/{y}", get(routes::maps::tile)),
        ("/tables", get(tables::list).post(tables::create)),
        ("/tables/{id}", get(tables::get).delete(tables::delete)),
    ]
}

/// The service's routes with CORS open to any origin.
pub fn app(state: AppState) -> App {
    app_with_cors(state, &["*".to_string()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    #[tokio::test]
    async fn nearest_answered_ahead_of_the_router_equals_the_routes_answer() {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data");
        let options = tuilerie_geo::LoadOptions {
            id: tuilerie_geo::LayerId::new("points").ok(),
            ..tuilerie_geo::LoadOptions::default()
        };
        let catalog =
            tuilerie_geo::Catalog::load(vec![(root.join("points-collecte-synthetiques.geojson"), options)], 1);
        let routes = routes_service(AppState::ready(catalog, ServerOptions::default()));
        let queries = [
            "/nearest?lon=-0.57&lat=44.84",
            "/nearest?lon=-0.57&lat=44.84&k=3&accepts=glass&layers=points",
            "/nearest?lat=44.84&lon=-0.6&accepts=verre%2Cpiles&k=7",
            "/nearest?lon=-0.57&lat=44.84&open=2026-12-07T10:00:00Z&max_distance=5000&type=container",
            "/nearest?lon=abc&lat=44.84",
            "/nearest?lon=-0.57",
            "/nearest?lon=-0.57&lat=44.84&k=0",
            "/nearest?lon=-0.57&lat=44.84&layers=nope",
            "/nearest?lon=-0.57&lat=44.84&accepts=plutonium",
            "/nearest",
        ];
        let parts = |r: Response| async move {
            let status = r.status();
            let mut headers: Vec<(String, Vec<u8>)> =
                r.headers().iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect();
            headers.sort();
            let body = http_body_util::BodyExt::collect(r.into_body()).await.unwrap().to_bytes();
            (status, headers, body)
        };
        for q in queries {
            let get = || Request::get(q).body(Body::empty()).unwrap();
            let Ok(fast) = routes.clone().oneshot(get()).await;
            let Ok(routed) = routes.router.clone().oneshot(get()).await;
            assert_eq!(parts(fast).await, parts(routed).await, "{q}");
        }
    }

    #[tokio::test]
    async fn route_templates_are_the_ones_axum_matches() {
        // A router answering each route's MatchedPath, from the same templates.
        let mut router = Router::new();
        for (template, _) in super::routes() {
            if template != routes::tiles::ROUTE {
                router = router.route(
                    template,
                    axum::routing::any(|m: axum::extract::MatchedPath| async move { m.as_str().to_string() }),
                );
            }
        }
        let router = router.fallback(|| async { String::new() });
        // Each template with its parameters filled in, and paths near them.
        let mut paths: Vec<String> = super::routes()
            .iter()
            .map(|(t, _)| {
                t.replace("{*path}", "a/b")
                    .replace("{layers}", "points")
                    .replace("{id}", "x")
                    .replace('{', "v")
                    .replace('}', "")
            })
            .collect();
        paths.extend(
            ["/nearest/", "/nearestx", "/collections", "/collections/", "/nope", "/", "//", "/tiles/points/1/2/3.mvt"]
                .map(String::from),
        );
        for path in paths {
            let answer =
                router.clone().oneshot(Request::get(path.as_str()).body(Body::empty()).unwrap()).await.unwrap();
            let body = http_body_util::BodyExt::collect(answer.into_body()).await.unwrap().to_bytes();
            let axum_says = (!body.is_empty()).then(|| String::from_utf8(body.to_vec()).unwrap());
            assert_eq!(route_template(&path).map(str::to_string), axum_says, "{path}");
        }
    }

    #[test]
    fn every_route_is_documented_and_every_documented_path_is_routed() {
        let routed: std::collections::BTreeSet<&str> = super::routes().iter().map(|(p, _)| *p).collect();
        let documented: std::collections::BTreeSet<&str> =
            super::routes::openapi::ENDPOINTS.iter().map(|e| e.route).collect();
        assert_eq!(routed, documented);
    }
}
