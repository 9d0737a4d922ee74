//! The emulator's HTTP surface: the seed's six operations and the GA Call Automation API (both
//! signed), the control endpoints, and the callback keys. It only translates HTTP to simulation commands and back.

pub mod control;
pub mod error;
pub mod ga;
pub mod hmac;
mod input;
pub mod seed;
pub mod signature;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{web, App, HttpRequest, HttpServer};
use base64::Engine;

use crate::emulator::api::error::ApiError;
use crate::emulator::config::EmulatorSettings;
use crate::emulator::delivery::event_grid::EventGrid;
use crate::emulator::runtime::Emulator;

pub struct ApiState {
    pub emulator: Arc<Emulator>,
    /// The base64-decoded access key: the HMAC key.
    pub access_key: Vec<u8>,
    /// `http://host:port`, for the links it serves.
    pub base_url: String,
    /// What the GA routes remember beside the simulation.
    pub ga: ga::registry::Registry,
    /// Sends Event Grid events (incoming calls) to the application.
    pub event_grid: EventGrid,
}

/// The emulator, bound to its address and ready to run.
pub struct EmulatorServer {
    port: u16,
    server: Server,
    emulator: Arc<Emulator>,
}

impl EmulatorServer {
    /// Binds `emulator.host:emulator.port` (port 0: a free one) and starts the simulation. Must be
    /// called within the Tokio runtime that will run it.
    pub fn build(settings: EmulatorSettings) -> anyhow::Result<EmulatorServer> {
        let access_key = base64::engine::general_purpose::STANDARD
            .decode(&settings.access_key)
            .map_err(|_| anyhow::anyhow!("emulator.access_key: must be base64"))?;
        let listener = TcpListener::bind((settings.host.as_str(), settings.port)).map_err(|e| {
            anyhow::anyhow!("emulator: binding {}:{}: {e}", settings.host, settings.port)
        })?;
        let port = listener.local_addr()?.port();
        let base_url = format!("http://{}:{port}", settings.host);
        let settings_timeout = settings.delivery.timeout_ms;
        let emulator = Emulator::start(settings, tokio::runtime::Handle::current())?;
        let state = web::Data::new(ApiState {
            emulator: emulator.clone(),
            access_key,
            base_url,
            ga: ga::registry::Registry::default(),
            event_grid: EventGrid::new(Duration::from_millis(settings_timeout)),
        });
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(error::in_seed_shape))
                .app_data(state.clone())
                .configure(seed::routes)
                .configure(ga::routes)
                .configure(control::routes)
                .default_service(web::to(not_found))
        })
        .workers(2)
        .listen(listener)?
        .run();
        Ok(EmulatorServer {
            port,
            server,
            emulator,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn emulator(&self) -> &Arc<Emulator> {
        &self.emulator
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

async fn not_found(req: HttpRequest) -> actix_web::HttpResponse {
    use actix_web::ResponseError;
    ApiError::not_found(format!("no such route: {} {}", req.method(), req.path())).error_response()
}
