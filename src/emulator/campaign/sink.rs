//! `calltrail emulator sink`: a receiver that reads each callback's body and answers 202, nothing
//! else, to measure what the campaign itself can send.

use actix_web::{web, App, HttpResponse, HttpServer};

async fn accept(body: web::Bytes) -> HttpResponse {
    std::hint::black_box(body.len());
    HttpResponse::Accepted().finish()
}

/// Serves until stopped; any path takes a POST. `workers` 0: actix's default (one per core).
pub async fn serve(host: &str, port: u16, workers: usize) -> std::io::Result<()> {
    let mut server = HttpServer::new(|| {
        App::new()
            .app_data(web::PayloadConfig::new(1 << 20))
            .default_service(web::post().to(accept))
    });
    if workers > 0 {
        server = server.workers(workers);
    }
    server.bind((host, port))?.run().await
}
