//! The ceiling: an actix-web server that reads the body and answers 202, nothing else. Same actix
//! version and the same default worker count as calltrail, driven by the same generator.

use actix_web::{web, App, HttpResponse, HttpServer};

async fn accept(body: web::Bytes) -> HttpResponse {
    std::hint::black_box(body.len());
    HttpResponse::Accepted().finish()
}

pub async fn serve(host: &str, port: u16, workers: usize) -> std::io::Result<()> {
    let mut server = HttpServer::new(|| {
        App::new()
            .app_data(web::PayloadConfig::new(1 << 20))
            .route("/api/callbacks", web::post().to(accept))
    });
    if workers > 0 {
        server = server.workers(workers);
    }
    server.bind((host, port))?.run().await
}
